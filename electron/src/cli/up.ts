/**
 * `berth up` (what `npm start` runs): the product. The desktop app where Electron can show a window; on a
 * host without a display, the engine natively plus the dashboard in web mode, with the URL and the docker
 * command printed. Ctrl-C ends it, and stops the engine unless the settings say to keep it.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { SettingsStore } from '../settings/store.js';
import { berthPaths } from '../vm/paths.js';
import { newToken } from '../web/auth.js';
import { startWebServer } from '../web/server.js';
import { CliUsageError, type CliCommand } from './command.js';
import { berthHostBackend, defaultUiDir, untilSignal } from './serve.js';

const HELP = `Usage: berth up [--web] [--port N] [BERTH START OPTIONS]

Runs Berth: the desktop app where it can open a window; on a host without a display (or with --web), the
engine on this host (berth start --driver native) and the dashboard in a browser (web mode). Other options
pass through to \`berth start\` (e.g. --insecure-registry 10.0.2.2:5000), or to the app.

Options:
      --web         Engine plus web mode even where the desktop app could run
  -p, --port N      Dashboard port on 127.0.0.1 (web mode; default: a free port)
`;

export type Mode = { kind: 'desktop'; electron: string } | { kind: 'web'; why: string };

/** Where Electron can show a window: macOS and Windows always, Linux with an X or Wayland display. */
export function chooseMode(
  env: NodeJS.ProcessEnv,
  platform: NodeJS.Platform,
  electronBinary: () => string | undefined,
  forceWeb = false,
): Mode {
  if (forceWeb) return { kind: 'web', why: '--web' };
  if (platform === 'linux' && !env.DISPLAY && !env.WAYLAND_DISPLAY)
    return { kind: 'web', why: 'no display (DISPLAY and WAYLAND_DISPLAY are unset)' };
  const electron = electronBinary();
  if (!electron) return { kind: 'web', why: 'the Electron binary is not installed' };
  return { kind: 'desktop', electron };
}

/** The Electron binary npm installed, if it did (setup skips the download on servers). */
function electronBinary(): string | undefined {
  try {
    const p = createRequire(import.meta.url)('electron') as unknown;
    return typeof p === 'string' && existsSync(p) ? p : undefined;
  } catch {
    return undefined;
  }
}

/** Splits up's own options from the ones that pass through. */
export function splitArgs(argv: string[]): { web: boolean; port: number; help: boolean; rest: string[] } {
  const rest: string[] = [];
  let web = false;
  let help = false;
  let port = 0;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--web') web = true;
    else if (a === '--help' || a === '-h') help = true;
    else if (a === '--port' || a === '-p' || a.startsWith('--port=')) {
      const v = a.startsWith('--port=') ? a.slice(7) : argv[++i];
      port = Number(v);
      if (v === undefined || !Number.isInteger(port) || port < 0 || port > 65535)
        throw new CliUsageError(`invalid port: ${v ?? '(missing)'}`);
    } else rest.push(a);
  }
  return { web, port, help, rest };
}

function runDesktop(electron: string, args: string[]): Promise<number> {
  const appDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
  process.stderr.write(`Starting the Berth desktop app (arguments pass through to it).\n`);
  const child = spawn(electron, [appDir, ...args], { stdio: 'inherit' });
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('exit', (code, signal) => resolve(code ?? (signal ? 1 : 0)));
  });
}

async function runWeb(why: string, port: number, startArgs: string[]): Promise<number> {
  if (process.platform !== 'linux')
    throw new Error(`the engine runs natively only on Linux; here the desktop app runs it (${why})`);
  if (process.getuid?.() !== 0)
    throw new Error(
      'without a display Berth runs the engine on this host, which needs root: run `sudo npm start` ' +
        '(or start it where the desktop app can open a window)',
    );
  const uiDir = defaultUiDir();
  if (!existsSync(path.join(uiDir, 'index.html')))
    throw new Error(`no built dashboard in ${uiDir} (run: npm run build)`);
  process.stderr.write(
    `No desktop app here (${why}): the engine runs on this host, the dashboard in a browser.\n`,
  );
  const { command: start } = await import('./start.js');
  const driverGiven = startArgs.some((a) => a === '--driver' || a.startsWith('--driver='));
  const code = await start.run([...(driverGiven ? [] : ['--driver', 'native']), ...startArgs]);
  if (code !== 0) return code;

  const paths = berthPaths();
  const token = newToken();
  const web = await startWebServer({
    engine: { kind: 'unix', socketPath: paths.socket },
    uiDir,
    token,
    port,
    host: await berthHostBackend(),
  });
  const keep = (await new SettingsStore(paths.settings).load()).onQuit === 'keep-engine';
  process.stdout.write(
    [
      '',
      `Dashboard: ${web.url}?token=${token}`,
      `Docker:    docker --context berth ps   (or: export DOCKER_HOST=unix://${paths.socket})`,
      '',
      'Arguments after `npm start --` pass to `berth start`, e.g. npm start -- --insecure-registry 10.0.2.2:5000',
      `Ctrl-C ends the dashboard${keep ? '; the engine keeps running (settings: onQuit keep-engine)' : ' and stops the engine'}.`,
      '',
    ].join('\n'),
  );
  await untilSignal();
  await web.close();
  // Read again: Settings in the dashboard may have changed what quitting does.
  if ((await new SettingsStore(paths.settings).load()).onQuit === 'keep-engine') {
    process.stderr.write('The engine keeps running: `berth stop` stops it.\n');
    return 0;
  }
  const { command: stop } = await import('./stop.js');
  return stop.run(['-t', '10']);
}

export const command: CliCommand = {
  summary: 'Run Berth: the desktop app, or (no display) the engine plus the dashboard in a browser',
  async run(argv) {
    const { web, port, help, rest } = splitArgs(argv);
    if (help) {
      process.stdout.write(HELP);
      return 0;
    }
    const mode = chooseMode(process.env, process.platform, electronBinary, web);
    return mode.kind === 'desktop' ? runDesktop(mode.electron, rest) : runWeb(mode.why, port, rest);
  },
};
