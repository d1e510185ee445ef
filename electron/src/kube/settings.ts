/**
 * The cluster's remembered choices live in settings.json (`kube`), where the app and `berth serve` read them.
 * Berth before this kept them in <BERTH_HOME>/kube.json: its content is folded into settings once, then the
 * file is removed (an unreadable one is kept aside, as settings.json itself is).
 */
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import type { KubeSettings } from '@berth/common';
import { SettingsStore } from '../settings/store.js';
import type { BerthPaths } from '../vm/paths.js';

/** The pre-settings file (`{enabled, port?, podCIDR?}`). */
export function legacyKubeFile(p: BerthPaths): string {
  return path.join(p.home, 'kube.json');
}

async function migrateLegacy(p: BerthPaths, store: SettingsStore): Promise<void> {
  const file = legacyKubeFile(p);
  let text: string;
  try {
    text = await fsp.readFile(file, 'utf8');
  } catch {
    return; // none: nothing to fold in
  }
  let old: Record<string, unknown> | undefined;
  try {
    const v = JSON.parse(text) as unknown;
    if (typeof v === 'object' && v !== null && !Array.isArray(v)) old = v as Record<string, unknown>;
  } catch {
    /* below */
  }
  if (!old) {
    await fsp.rename(file, `${file}.corrupt-${Date.now()}`);
    return;
  }
  const kube: Partial<KubeSettings> = { enabled: old.enabled === true };
  if (Number.isInteger(old.port) && (old.port as number) > 0 && (old.port as number) <= 65535)
    kube.port = old.port as number;
  if (typeof old.podCIDR === 'string') kube.podCIDR = old.podCIDR;
  try {
    await store.update({ kube });
  } catch {
    await store.update({ kube: { enabled: kube.enabled } }); // a bad port or CIDR falls back to defaults
  }
  await fsp.rm(file, { force: true });
}

/** The settings store (loaded, the legacy file folded in). */
export async function kubeSettingsStore(p: BerthPaths): Promise<SettingsStore> {
  const store = new SettingsStore(p.settings);
  await store.load();
  await migrateLegacy(p, store);
  return store;
}

export async function loadKubeSettings(p: BerthPaths): Promise<KubeSettings> {
  return (await kubeSettingsStore(p)).get().kube;
}

export async function saveKubeSettings(p: BerthPaths, patch: Partial<KubeSettings>): Promise<KubeSettings> {
  return (await (await kubeSettingsStore(p)).update({ kube: patch })).kube;
}
