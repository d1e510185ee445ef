/** `berth serve`: the dashboard in any browser (web mode), on 127.0.0.1 with a token printed once. */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import { defaultEngineHost, formatEndpoint, parseEngineHost } from '../engine/endpoint.js';
import { SettingsStore } from '../settings/store.js';
import { VmEngineControl } from '../vm/control.js';
import { berthPaths } from '../vm/paths.js';
import type { HostBackend } from '../web/host-api.js';
import { newToken } from '../web/auth.js';
import { startWebServer } from '../web/server.js';
import { CliUsageError, type CliCommand } from './command.js';

const HELP = `Usage: berth serve [OPTIONS]

Serves the Berth dashboard and a bridge to the engine on 127.0.0.1. Prints a URL with a one-time access
token; without it every request is refused (the engine is root-equivalent).

Options:
  -p, --port N       Port on 127.0.0.1 (default: a free port)
  -H, --host HOST    Engine socket (default: $DOCKER_HOST, else $BERTH_HOME/run/docker.sock (~/.berth), else
                     /run/berth/docker.sock when BERTH_HOME is not set and ~/.berth has no engine socket)
      --ui DIR       Built dashboard folder (default: renderer/dist of this install)
`;

/** renderer/dist next to this package (electron/dist/src/cli → repo root). */
export function defaultUiDir(): string {
  return path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../../renderer/dist');
}

/**
 * Settings and the engine's lifecycle, when the engine served is Berth's own (its socket under $BERTH_HOME):
 * the dashboard then offers what the app does (Settings, restart). An engine named by -H or DOCKER_HOST is
 * someone else's.
 */
export async function ownEngine(explicit: string | undefined): Promise<HostBackend | undefined> {
  const paths = berthPaths();
  if (explicit !== undefined || process.env.BERTH_HOST || process.env.DOCKER_HOST) return undefined;
  if (defaultEngineHost() !== `unix://${paths.socket}`) return undefined;
  return berthHostBackend();
}

/** The settings file and the engine lifecycle of $BERTH_HOME, for the dashboard's `/host/*`. */
export async function berthHostBackend(): Promise<HostBackend> {
  const paths = berthPaths();
  const { openManager, progress } = await import('./vm-common.js');
  const { KubeOperations } = await import('../kube/operations.js');
  // Read from disk each time: `berth start --insecure-registry` may have changed the file meanwhile.
  const store = new SettingsStore(paths.settings);
  const settings: HostBackend['settings'] = {
    get: () => store.load(),
    update: async (patch) => (await store.load(), store.update(patch)),
    reset: () => store.reset(),
  };
  return {
    settings,
    control: new VmEngineControl(await openManager(), progress, openManager),
    kube: new KubeOperations(paths),
  };
}

/** Resolves at the first SIGINT or SIGTERM (Ctrl-C, or the service manager stopping us). */
export function untilSignal(): Promise<void> {
  return new Promise<void>((resolve) => {
    const stop = () => resolve();
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
}

export const command: CliCommand = {
  summary: 'Serve the dashboard to a browser on 127.0.0.1 (web mode)',
  async run(argv) {
    let values;
    try {
      ({ values } = parseArgs({
        args: argv,
        options: {
          port: { type: 'string', short: 'p' },
          host: { type: 'string', short: 'H' },
          ui: { type: 'string' },
          help: { type: 'boolean', short: 'h' },
        },
        strict: true,
      }));
    } catch (e) {
      throw new CliUsageError((e as Error).message);
    }
    if (values.help) {
      process.stdout.write(HELP);
      return 0;
    }
    const port = values.port === undefined ? 0 : Number(values.port);
    if (!Number.isInteger(port) || port < 0 || port > 65535)
      throw new CliUsageError(`invalid port: ${values.port}`);
    const engine = parseEngineHost(values.host ?? defaultEngineHost());
    const host = await ownEngine(values.host);
    const uiDir = values.ui ?? defaultUiDir();
    if (!existsSync(path.join(uiDir, 'index.html')))
      throw new Error(`no built dashboard in ${uiDir} (run: npm run build)`);
    const token = newToken();
    const web = await startWebServer({ engine, uiDir, token, port, ...(host ? { host } : {}) });
    process.stdout.write(
      `Berth dashboard for ${formatEndpoint(engine)}${host ? ' (settings and engine control: Berth manages it)' : ''}\nOpen: ${web.url}?token=${token}\n`,
    );
    await untilSignal();
    await web.close();
    return 0;
  },
};
