/** Where the native helper lives: built by agent/native/Makefile into agent/dist/native/berth-shim. */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export function shimBinary(): string {
  const fromEnv = process.env.BERTH_SHIM;
  if (fromEnv) return fromEnv;
  const here = path.dirname(fileURLToPath(import.meta.url));
  // The single-file berthd of the guest image ships the shim beside itself (agent/bundle.mjs); compiled by
  // tsc, this module is agent/dist/src/runtime/native.js.
  const candidates = [path.join(here, 'berth-shim'), path.resolve(here, '../../native/berth-shim')];
  const p = candidates.find((c) => existsSync(c));
  if (!p) throw new Error(`berth-shim not built (${candidates[1]}): run npm run build`);
  return p;
}
