/** Where the native helper lives: built by agent/native/Makefile into agent/dist/native/berth-shim. */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export function shimBinary(): string {
  const fromEnv = process.env.BERTH_SHIM;
  if (fromEnv) return fromEnv;
  // this module compiles to agent/dist/src/runtime/native.js
  const p = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../native/berth-shim');
  if (!existsSync(p)) throw new Error(`berth-shim not built (${p}): run npm run build`);
  return p;
}
