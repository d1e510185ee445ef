/**
 * The VM's configuration on the host: sizes come from settings.json (the app's schema, `vm.*`, with its
 * migrations); the driver choice, shared folders and static port forwards from vm-config.json.
 */
import { promises as fsp } from 'node:fs';
import os from 'node:os';
import { SettingsStore, writeFileAtomic } from '../settings/store.js';
import type { VmResources } from './driver.js';
import { DEFAULT_DRIVER, isDriverKind, type DriverKind } from './factory.js';
import type { BerthPaths } from './paths.js';

export interface VmConfig {
  driver: DriverKind;
  /** Host folders shared into the VM at the same path (default: the home folder). */
  shareFolders: string[];
  /** Always-on forwards host 127.0.0.1:hostPort → VM 127.0.0.1:guestPort. */
  forwards: { hostPort: number; guestPort: number }[];
}

export function defaultVmConfig(platform: NodeJS.Platform = process.platform, home = os.homedir()): VmConfig {
  return { driver: DEFAULT_DRIVER, shareFolders: platform === 'win32' ? [] : [home], forwards: [] };
}

export function configFile(paths: BerthPaths): string {
  return `${paths.home}/vm-config.json`;
}

export async function loadVmConfig(paths: BerthPaths): Promise<VmConfig> {
  const d = defaultVmConfig();
  let raw: Partial<VmConfig> = {};
  try {
    raw = JSON.parse(await fsp.readFile(configFile(paths), 'utf8')) as Partial<VmConfig>;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT')
      throw new Error(`${configFile(paths)}: ${(e as Error).message}`);
  }
  const driver = isDriverKind(raw.driver) ? raw.driver : d.driver;
  const shareFolders =
    Array.isArray(raw.shareFolders) && raw.shareFolders.every((x) => typeof x === 'string')
      ? raw.shareFolders
      : d.shareFolders;
  const forwards = Array.isArray(raw.forwards)
    ? raw.forwards.filter((f) => Number.isInteger(f?.hostPort) && Number.isInteger(f?.guestPort))
    : d.forwards;
  return { driver, shareFolders, forwards };
}

export async function saveVmConfig(paths: BerthPaths, cfg: VmConfig): Promise<void> {
  await writeFileAtomic(configFile(paths), JSON.stringify(cfg, null, 1) + '\n');
}

export async function loadResources(paths: BerthPaths): Promise<{
  store: SettingsStore;
  resources: VmResources;
  registries: { insecure: string[]; mirrors: string[] };
}> {
  const store = new SettingsStore(paths.settings);
  const s = await store.load();
  return {
    store,
    resources: s.vm,
    registries: { insecure: s.insecureRegistries, mirrors: s.registryMirrors },
  };
}
