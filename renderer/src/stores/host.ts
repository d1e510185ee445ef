/**
 * What runs the engine (the app, or `berth serve` for Berth's own engine): its lifecycle state and the
 * settings that configure it. `available` stays false when the engine is one Berth does not manage.
 */
import { defineStore } from 'pinia';
import { ref } from 'vue';
import type { AppSettings, EngineStatus } from '@berth/common';
import { hostControl, type HostControl, type SettingsPatch } from '../api/host.js';

export const useHostStore = defineStore('host', () => {
  const available = ref<boolean | null>(null);
  const status = ref<EngineStatus | null>(null);
  const busy = ref<'starting' | 'stopping' | 'restarting' | null>(null);
  let control: HostControl | undefined;

  async function connect(): Promise<HostControl | undefined> {
    control ??= await hostControl();
    available.value = control !== undefined;
    return control;
  }

  async function refresh(): Promise<void> {
    const c = await connect();
    if (c) status.value = await c.status().catch(() => status.value);
  }

  async function lifecycle(op: 'start' | 'stop' | 'restart'): Promise<EngineStatus | undefined> {
    const c = await connect();
    if (!c) return undefined;
    busy.value = op === 'start' ? 'starting' : op === 'stop' ? 'stopping' : 'restarting';
    try {
      status.value = await c[op]();
      return status.value;
    } finally {
      busy.value = null;
    }
  }

  async function settings(): Promise<AppSettings | undefined> {
    return (await connect())?.settings();
  }

  async function updateSettings(patch: SettingsPatch): Promise<AppSettings> {
    const c = await connect();
    if (!c) throw new Error('settings are not available: Berth does not manage this engine');
    return c.updateSettings(patch);
  }

  async function logs(): Promise<string | undefined> {
    return (await connect())?.logs();
  }

  async function resetSettings(): Promise<void> {
    await (await connect())?.resetSettings();
  }

  return {
    available,
    status,
    busy,
    connect,
    refresh,
    start: () => lifecycle('start'),
    stop: () => lifecycle('stop'),
    restart: () => lifecycle('restart'),
    settings,
    updateSettings,
    resetSettings,
    logs,
  };
});
