/**
 * The only bridge between the sandboxed renderer and main: `window.berth`, typed by BerthBridge. It passes
 * `{result}|{error}` answers through unchanged (the renderer rebuilds errors) and accepts only the channels
 * of the typed map. Sandboxed preloads cannot load our modules, hence the channel lists are spelled here,
 * checked against the map by the compiler.
 */
import { contextBridge, ipcRenderer, type IpcRendererEvent } from 'electron';
import type { BerthBridge, EventChannel, IpcEventChannels, InvokeChannel } from '@berth/common' with {
  'resolution-mode': 'import',
};

const INVOKE: Record<InvokeChannel, true> = {
  'engine:request': true,
  'engine:stream-open': true,
  'engine:stream-write': true,
  'engine:stream-close': true,
  'engine:status': true,
  'engine:start': true,
  'engine:stop': true,
  'engine:restart': true,
  'engine:logs': true,
  'settings:get': true,
  'settings:update': true,
  'app:factory-reset': true,
  'cluster:contexts': true,
  'cluster:request': true,
  'cluster:stream-open': true,
  'cluster:stream-write': true,
  'cluster:stream-close': true,
  'cluster:port-forward-start': true,
  'cluster:port-forwards': true,
  'cluster:port-forward-stop': true,
  'kube:status': true,
  'kube:action': true,
  'kube:start': true,
};
const EVENTS: Record<EventChannel, true> = {
  'engine:stream-event': true,
  'engine:status-changed': true,
  'cluster:stream-event': true,
};

const bridge: BerthBridge = {
  kind: 'electron',
  platform: process.platform,
  invoke(channel, ...args) {
    if (!Object.hasOwn(INVOKE, channel))
      return Promise.reject(new Error(`unknown IPC channel ${String(channel)}`));
    return ipcRenderer.invoke(channel, ...args);
  },
  on(channel, listener) {
    if (!Object.hasOwn(EVENTS, channel)) throw new Error(`unknown IPC event ${String(channel)}`);
    const wrapped = (_e: IpcRendererEvent, payload: IpcEventChannels[typeof channel]) => listener(payload);
    ipcRenderer.on(channel, wrapped);
    return () => ipcRenderer.removeListener(channel, wrapped);
  },
};

contextBridge.exposeInMainWorld('berth', bridge);
