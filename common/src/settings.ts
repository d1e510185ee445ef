/**
 * When each setting takes effect, said once for every place that shows or changes settings (the dashboard's
 * Settings, `berth start`), so nobody changes a setting and waits for something that only happens later.
 */
import type { AppSettings } from './ipc.js';

export type SettingKey =
  | 'theme'
  | 'vm.cpus'
  | 'vm.memoryMiB'
  | 'vm.diskGiB'
  | 'registryMirrors'
  | 'insecureRegistries'
  | 'startEngineOnLaunch'
  | 'onQuit';

export type Applies = 'now' | 'engine-restart' | 'disk-created' | 'app-launch' | 'quit';

export const APPLIES: Record<SettingKey, Applies> = {
  theme: 'now',
  'vm.cpus': 'engine-restart',
  'vm.memoryMiB': 'engine-restart',
  'vm.diskGiB': 'disk-created',
  registryMirrors: 'engine-restart',
  insecureRegistries: 'engine-restart',
  startEngineOnLaunch: 'app-launch',
  onQuit: 'quit',
};

export const APPLIES_TEXT: Record<Applies, string> = {
  now: 'Applies at once.',
  'engine-restart': 'Applies when the engine restarts.',
  'disk-created':
    "Applies when the VM's data disk is created: at the first start, or after `berth reset` (which deletes its data).",
  'app-launch': 'Applies the next time the Berth app opens.',
  quit: 'Applies when you quit the Berth app.',
};

function valueOf(s: AppSettings, k: SettingKey): unknown {
  return k.startsWith('vm.') ? s.vm[k.slice(3) as keyof AppSettings['vm']] : s[k as keyof AppSettings];
}

/** The settings that differ between two versions and take effect only when the engine restarts. */
export function pendingRestart(before: AppSettings, after: AppSettings): SettingKey[] {
  return (Object.keys(APPLIES) as SettingKey[]).filter(
    (k) =>
      APPLIES[k] === 'engine-restart' &&
      JSON.stringify(valueOf(before, k)) !== JSON.stringify(valueOf(after, k)),
  );
}

/** A registry address `--insecure-registry` takes: host, host:port, [ipv6]:port, or a CIDR. */
export function validInsecureRegistry(v: string): boolean {
  return /^(?:[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?|\[[0-9A-Fa-f:.]+\])(?::\d{1,5})?$|^[0-9.]+\/\d{1,2}$|^[0-9A-Fa-f:]+\/\d{1,3}$/.test(
    v,
  );
}

/** A registry mirror: an http(s) URL with a host and nothing after the path. */
export function validRegistryMirror(v: string): boolean {
  try {
    const u = new URL(v);
    return (u.protocol === 'http:' || u.protocol === 'https:') && u.host !== '' && !u.search && !u.hash;
  } catch {
    return false;
  }
}
