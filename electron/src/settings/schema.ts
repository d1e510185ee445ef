/**
 * Settings are `typeof DEFAULTS` plus a migration table: each entry lifts a file written by version N-1 to
 * version N, so any older file loads, and a file from a newer Berth is refused rather than mangled.
 */
import { validInsecureRegistry, validRegistryMirror, type AppSettings } from '@berth/common';

export const CURRENT_VERSION = 3;

export const DEFAULTS: AppSettings = {
  version: CURRENT_VERSION,
  theme: 'system',
  vm: { cpus: 2, memoryMiB: 4096, diskGiB: 64 },
  registryMirrors: [],
  insecureRegistries: [],
  startEngineOnLaunch: true,
  onQuit: 'ask',
  // A key the defaults fill in for older files (conform): no version step needed. The old
  // <BERTH_HOME>/kube.json is folded in by kube/settings.ts.
  kube: { enabled: false, port: 0, podCIDR: '' },
};

export type Settings = typeof DEFAULTS;
type Raw = Record<string, unknown>;

/** MIGRATIONS[n] turns a version-n object into version n+1. */
export const MIGRATIONS: Record<number, (s: Raw) => Raw> = {
  // v1 kept VM memory in GiB under `memory` and one `mirror` string.
  1: (s) => {
    const { memory, mirror, ...rest } = s as Raw & { memory?: number; mirror?: string };
    const vm = { ...((rest.vm as Raw | undefined) ?? {}) };
    if (typeof memory === 'number') vm.memoryMiB = memory * 1024;
    return { ...rest, vm, registryMirrors: typeof mirror === 'string' && mirror ? [mirror] : [], version: 2 };
  },
  // v2 had a boolean `darkMode`; v3 has a three-way theme that can follow the OS.
  2: (s) => {
    const { darkMode, ...rest } = s as Raw & { darkMode?: boolean };
    return { ...rest, theme: darkMode === undefined ? 'system' : darkMode ? 'dark' : 'light', version: 3 };
  },
};

export class SettingsVersionError extends Error {
  override name = 'SettingsVersionError';
}

function isObject(v: unknown): v is Raw {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Keeps only keys the defaults know, with the defaults' types; everything else falls back. */
function conform<T>(dflt: T, v: unknown): T {
  if (Array.isArray(dflt)) return (Array.isArray(v) && v.every((x) => typeof x === 'string') ? v : dflt) as T;
  if (isObject(dflt)) {
    const src = isObject(v) ? v : {};
    const out: Raw = {};
    for (const k of Object.keys(dflt)) out[k] = conform((dflt as Raw)[k], src[k]);
    return out as T;
  }
  return (typeof v === typeof dflt ? v : dflt) as T;
}

function validTheme(t: unknown): t is Settings['theme'] {
  return t === 'system' || t === 'light' || t === 'dark';
}

function validOnQuit(q: unknown): q is Settings['onQuit'] {
  return q === 'ask' || q === 'stop-engine' || q === 'keep-engine';
}

/** An IPv4 CIDR (a.b.c.d/n, each part in range). */
export function validCIDR(s: string): boolean {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/.exec(s);
  return !!m && m.slice(1, 5).every((x) => Number(x) <= 255) && Number(m[5]) <= 32;
}

export function migrate(input: unknown): Settings {
  if (!isObject(input)) return structuredClone(DEFAULTS);
  let s: Raw = input;
  let v = typeof s.version === 'number' ? s.version : 1;
  if (v > CURRENT_VERSION)
    throw new SettingsVersionError(
      `settings were written by a newer Berth (version ${v}, this one reads up to ${CURRENT_VERSION})`,
    );
  while (v < CURRENT_VERSION) {
    const step = MIGRATIONS[v];
    if (!step) throw new SettingsVersionError(`no migration from settings version ${v}`);
    s = step(s);
    v += 1;
  }
  const out = conform(DEFAULTS, s);
  if (!validTheme(out.theme)) out.theme = DEFAULTS.theme;
  if (!validOnQuit(out.onQuit)) out.onQuit = DEFAULTS.onQuit;
  out.version = CURRENT_VERSION;
  return out;
}

/** Applies a renderer's patch: only known keys, right types, sane VM sizes. */
export function applyPatch(current: Settings, patch: unknown): Settings {
  if (!isObject(patch)) throw new TypeError('settings patch must be an object');
  for (const k of ['registryMirrors', 'insecureRegistries'] as const)
    if (k in patch && !(Array.isArray(patch[k]) && patch[k].every((x) => typeof x === 'string')))
      throw new TypeError(`${k} must be a list of strings`);
  const merged: Raw = {
    ...current,
    ...patch,
    vm: { ...current.vm, ...(isObject(patch.vm) ? patch.vm : {}) },
    kube: { ...current.kube, ...(isObject(patch.kube) ? patch.kube : {}) },
    version: CURRENT_VERSION,
  };
  const next = conform(DEFAULTS, merged);
  if (!validTheme(next.theme)) throw new TypeError(`invalid theme: ${String(patch.theme)}`);
  if (!validOnQuit(next.onQuit))
    throw new TypeError(`invalid onQuit: ${String(patch.onQuit)} (use ask, stop-engine or keep-engine)`);
  for (const r of next.insecureRegistries)
    if (!validInsecureRegistry(r))
      throw new TypeError(
        `invalid insecure registry "${r}": use host:port (e.g. 10.0.2.2:5000), a host name, or a CIDR`,
      );
  for (const m of next.registryMirrors)
    if (!validRegistryMirror(m))
      throw new TypeError(`invalid registry mirror "${m}": use an http:// or https:// URL`);
  const { port, podCIDR } = next.kube;
  if (!Number.isInteger(port) || port < 0 || port > 65535)
    throw new RangeError(`the cluster's API port must be 1-65535 (0: 6443 or a free one), got ${port}`);
  if (podCIDR !== '' && !validCIDR(podCIDR))
    throw new TypeError(`the pod network wants an IPv4 CIDR such as 10.42.0.0/16, got "${podCIDR}"`);
  const { cpus, memoryMiB, diskGiB } = next.vm;
  if (!Number.isInteger(cpus) || cpus < 1 || cpus > 256)
    throw new RangeError(`VM CPUs must be a whole number from 1 to 256, got ${cpus}`);
  if (!Number.isInteger(memoryMiB) || memoryMiB < 512)
    throw new RangeError(`VM memory must be at least 512 MiB, got ${memoryMiB}`);
  if (!Number.isInteger(diskGiB) || diskGiB < 8)
    throw new RangeError(`VM disk must be at least 8 GiB, got ${diskGiB}`);
  return next;
}
