/**
 * Electron main: a thin shell. Single instance, remembered window bounds, a tray with engine status and
 * start/stop, versioned settings, the typed IPC map, a sandboxed renderer under a strict CSP. The logic
 * lives in plain Node modules next to this file (tested without Electron).
 */
import {
  app,
  BrowserWindow,
  clipboard,
  dialog,
  ipcMain,
  Menu,
  nativeImage,
  screen,
  session,
  shell,
  Tray,
} from 'electron';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { EngineStatus, KubeAction } from '@berth/common';
import { topicLogger } from './log/topics.js';
import { openManager } from './cli/vm-common.js';
import { ExternalEngine, type EngineControl } from './engine/control.js';
import { defaultEngineHost, parseEngineHost, type EngineEndpoint } from './engine/endpoint.js';
import { registerHandlers } from './ipc/handle.js';
import { StreamRegistry } from './ipc/engine-handlers.js';
import { ClusterStreams } from './ipc/cluster-handlers.js';
import { ClusterAccess } from './cluster/access.js';
import { KubeOperations, kubeStartChecked } from './kube/operations.js';
import { userKubeconfig } from './kube/actions.js';
import { AppKube } from './kube/tray-state.js';
import { SettingsStore } from './settings/store.js';
import { VmEngineControl } from './vm/control.js';
import { berthPaths } from './vm/paths.js';
import { trayIcon } from './tray/icon.js';
import { trayMenu, trayTooltip } from './tray/menu.js';
import { QUIT_BUTTONS, quitAction, quitAnswer } from './tray/quit.js';
import { CONTENT_SECURITY_POLICY } from './web/static.js';
import { fitToDisplays, loadWindowState, MIN_SIZE, saveWindowState } from './window/state.js';

const here = path.dirname(fileURLToPath(import.meta.url));
// Packaged (build/electron-builder.json): the dashboard and icons are resources; in a checkout, build outputs.
const RENDERER_INDEX = app.isPackaged
  ? path.join(process.resourcesPath, 'renderer', 'index.html')
  : path.resolve(here, '../../../renderer/dist/index.html');
const ICONS = app.isPackaged
  ? path.join(process.resourcesPath, 'icons')
  : path.resolve(here, '../../../resources');
const PRELOAD = path.resolve(here, '../preload/preload.cjs');

let win: BrowserWindow | undefined;
let tray: Tray | undefined;
/** Berth's cluster as the tray shows it (absent for an engine Berth does not manage). */
let kube: AppKube | undefined;
let lastStatus: EngineStatus | undefined;

/** The `main` topic (~/.berth/logs/main.log): app lifecycle, engine actions from the tray, and every failure. */
const log = topicLogger(berthPaths().logs, 'main', { pid: process.pid });

/** A failure nobody awaits: logged with what was being done. */
const failed = (what: string) => (err: unknown) =>
  log.error(`${what} failed`, { err: err instanceof Error ? err.message : String(err) });

process.on('uncaughtException', (err) => log.error('uncaught exception', { err: err.stack ?? err.message }));
process.on('unhandledRejection', (err) =>
  log.error('unhandled rejection', { err: err instanceof Error ? (err.stack ?? err.message) : String(err) }),
);

/** Only our own bundled pages may use IPC. */
function trusted(url: string): boolean {
  return (
    url.startsWith('file://') &&
    decodeURIComponent(new URL(url).pathname).startsWith(path.dirname(RENDERER_INDEX))
  );
}

async function createWindow(stateFile: string): Promise<BrowserWindow> {
  const saved = await loadWindowState(stateFile);
  const areas = screen.getAllDisplays().map((d) => d.workArea);
  const bounds = fitToDisplays(saved?.bounds, areas);
  const w = new BrowserWindow({
    ...bounds,
    minWidth: MIN_SIZE.width,
    minHeight: MIN_SIZE.height,
    show: false,
    title: 'Berth',
    webPreferences: {
      preload: PRELOAD,
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
      webSecurity: true,
      spellcheck: false,
    },
  });
  if (saved?.maximized) w.maximize();
  const persist = () => {
    if (!w.isDestroyed())
      saveWindowState(stateFile, { bounds: w.getNormalBounds(), maximized: w.isMaximized() }).catch(
        failed('saving the window state'),
      );
  };
  w.on('resized', persist);
  w.on('moved', persist);
  w.on('close', persist);
  w.once('ready-to-show', () => w.show());
  // No navigation away from the app and no new windows; links open in the user's browser.
  w.webContents.on('will-navigate', (e, url) => {
    if (!trusted(url)) e.preventDefault();
  });
  w.webContents.setWindowOpenHandler(({ url }) => {
    if (/^https?:\/\//.test(url)) shell.openExternal(url).catch(failed(`opening ${url}`));
    return { action: 'deny' };
  });
  await w.loadFile(RENDERER_INDEX);
  return w;
}

function updateTray(control: EngineControl, s: EngineStatus): void {
  lastStatus = s;
  if (!tray) return;
  tray.setToolTip(trayTooltip(s));
  const actions: Record<string, () => void> = {
    open: () => (win ? (win.show(), win.focus()) : undefined),
    // The status listener shows the failure in the tray and the window; the log keeps why.
    start: () => void control.start().catch(failed('engine start (tray)')),
    stop: () => void control.stop().catch(failed('engine stop (tray)')),
    restart: () => void control.restart().catch(failed('engine restart (tray)')),
    'kube-enable': () => void kube?.enable(),
    'kube-disable': () => void kube?.disable(),
    'kube-copy-kubeconfig': () => clipboard.writeText(kube?.kubeconfig ?? userKubeconfig()),
    quit: () => app.quit(),
  };
  tray.setContextMenu(
    Menu.buildFromTemplate(
      trayMenu(s, kube?.tray()).map((i) =>
        i.type === 'separator'
          ? { type: 'separator' as const }
          : { id: i.id, label: i.label, enabled: i.enabled, click: actions[i.id] },
      ),
    ),
  );
}

/**
 * The engine the app drives: the VM layer's (a VM on macOS/Windows, a native berthd on Linux), exactly as
 * `berth start|stop` do; or, when BERTH_HOST/DOCKER_HOST names one, an engine Berth does not manage.
 */
async function engineControl(): Promise<{ control: EngineControl; ep: EngineEndpoint }> {
  if (process.env.BERTH_HOST || process.env.DOCKER_HOST) {
    const ep = parseEngineHost(defaultEngineHost());
    return { control: new ExternalEngine(ep), ep };
  }
  const vm = await openManager();
  return {
    control: new VmEngineControl(vm, undefined, openManager),
    ep: { kind: 'unix', socketPath: vm.paths.socket },
  };
}

/** Waits for a KubeOperations action to end; a failed one rejects with its message. */
async function finished(ops: KubeOperations, a: KubeAction): Promise<void> {
  for (;;) {
    const now = ops.action();
    if (!now || now.id !== a.id || now.state === 'done') return;
    if (now.state === 'failed') throw new Error(now.error ?? `${a.kind} failed`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

let quitDecided = false;

/**
 * Quitting with the engine running: stop it, keep it, or ask, as settings `onQuit` says (the engine is not the
 * window: a user who quits expects to know whether containers go on running).
 */
async function decideQuit(control: EngineControl, settings: SettingsStore): Promise<void> {
  const state = (await control.status()).state;
  let action = quitAction(settings.get().onQuit, control instanceof VmEngineControl, state);
  if (action === 'ask') {
    const r = await dialog.showMessageBox({
      type: 'question',
      message: 'Stop the engine too?',
      detail:
        'Containers run while the engine runs. Berth can stop it now, or keep it running without the app.',
      buttons: [...QUIT_BUTTONS],
      defaultId: 0,
      cancelId: 2,
      checkboxLabel: 'Remember my choice (Settings can change it)',
    });
    const answer = quitAnswer(r.response, r.checkboxChecked);
    if (!answer.action) return;
    if (answer.remember) await settings.update({ onQuit: answer.remember });
    action = answer.action;
  }
  log.info('quit', { engine: state, action });
  if (action === 'stop') await control.stop();
  quitDecided = true;
  app.quit();
}

async function start(): Promise<void> {
  if (!app.requestSingleInstanceLock()) {
    app.quit();
    return;
  }
  app.on('second-instance', () => {
    if (win) {
      if (win.isMinimized()) win.restore();
      win.focus();
    }
  });
  await app.whenReady();
  log.info('app ready', { version: app.getVersion(), packaged: app.isPackaged });
  const userData = app.getPath('userData');
  // One settings file for the app and the CLI (~/.berth/settings.json): the VM layer reads its sizes there.
  const settings = new SettingsStore(berthPaths().settings);
  await settings.load();
  const { control, ep } = await engineControl();
  log.info('engine control', { kind: control instanceof ExternalEngine ? 'external' : 'managed' });
  const streams = new StreamRegistry(ep);
  const clusterStreams = new ClusterStreams(new ClusterAccess());
  const kubeOps = new KubeOperations(berthPaths());

  session.defaultSession.webRequest.onHeadersReceived((details, cb) => {
    cb({
      responseHeaders: { ...details.responseHeaders, 'Content-Security-Policy': [CONTENT_SECURITY_POLICY] },
    });
  });
  session.defaultSession.setPermissionRequestHandler((_wc, _perm, cb) => cb(false));

  registerHandlers(
    ipcMain,
    {
      ...streams.handlers(),
      ...clusterStreams.handlers(),
      'engine:status': () => control.status(),
      'engine:start': () => control.start(),
      'engine:stop': () => control.stop(),
      'engine:restart': () => control.restart(),
      'engine:logs': () => control.logs(),
      'settings:get': () => settings.get(),
      'settings:update': (_ctx, patch) => settings.update(patch),
      'kube:status': () => kubeOps.status(),
      'kube:action': () => kubeOps.action(),
      'kube:start': (_ctx, kind, options) => kubeStartChecked(kubeOps, kind, options),
      'app:factory-reset': async () => {
        await settings.reset();
      },
    },
    trusted,
  );

  win = await createWindow(path.join(userData, 'window-state.json'));
  const wcId = win.webContents.id;
  win.webContents.on('did-start-navigation', () => {
    streams.closeOwnedBy(wcId);
    clusterStreams.closeOwnedBy(wcId);
  });
  win.on('closed', () => {
    streams.closeOwnedBy(wcId);
    clusterStreams.closeOwnedBy(wcId);
    win = undefined;
  });

  const icon = trayIcon(process.platform);
  const image = nativeImage.createFromPath(path.join(ICONS, icon.file));
  image.setTemplateImage(icon.template);
  tray = new Tray(image);
  app.on('before-quit', (e) => {
    if (quitDecided) return;
    e.preventDefault();
    void decideQuit(control, settings).catch((err: unknown) => {
      failed('quit')(err);
      quitDecided = true;
      app.quit();
    });
  });
  if (!(control instanceof ExternalEngine))
    kube = new AppKube(berthPaths(), () => lastStatus && updateTray(control, lastStatus), failed, {
      // Through the same bookkeeping as Settings → Kubernetes, so the page shows the tray's action too.
      enable: () => finished(kubeOps, kubeOps.start('enable')),
      disable: () => finished(kubeOps, kubeOps.start('disable')),
    });
  control.onStatus((s) => {
    if (s.state === 'error') log.warn('engine error', { message: s.message });
    else log.info('engine state', { state: s.state });
    // The engine came up (from the app, the tray or the CLI): the cluster comes back when it is enabled.
    if (s.state === 'running' && lastStatus?.state !== 'running')
      void kube?.engineRunning().catch(failed('cluster status'));
    updateTray(control, s);
    win?.webContents.send('engine:status-changed', s);
  });
  const first = await control.status();
  updateTray(control, first);
  if (first.state === 'running') void kube?.engineRunning().catch(failed('cluster status'));
  if (settings.get().startEngineOnLaunch && first.state === 'stopped')
    control.start().catch(failed('engine start on launch'));
  // Each poll pings the engine inside the VM and so wakes the guest (under TCG, with the SSH transport, a ping
  // every 5 s took the VM's idle CPU from 0.4% to 1.4%): an open window polls every 5 s, the tray once a minute.
  let polls = 0;
  setInterval(() => {
    if (win?.isVisible() || ++polls % 12 === 0) control.status().catch(failed('engine status'));
  }, 5000).unref();
  // The cluster's line in the tray: once a minute (in the VM each look is an SSH round trip).
  setInterval(() => void kube?.refresh().catch(failed('cluster status')), 60_000).unref();
}

app.on('window-all-closed', () => {
  // The tray keeps the app (and the engine) alive; quitting is explicit.
});

app.on('will-quit', () => log.info('app quits'));

// A start that fails leaves no window to show why: say it in a dialog and the log, then quit.
start().catch((err: unknown) => {
  const message = err instanceof Error ? err.message : String(err);
  log.error('app start failed', { err: err instanceof Error ? (err.stack ?? message) : message });
  dialog.showErrorBox('Berth could not start', `${message}\n\nDetails are in ${berthPaths().logs}/main.log.`);
  app.exit(1);
});
