#!/usr/bin/env node
// Runs every benchmark script in bench/ (except this one), one after the other.
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const dir = path.dirname(fileURLToPath(import.meta.url));
let failed = 0;
for (const f of readdirSync(dir).sort()) {
  if (!f.endsWith('.mjs') || f === 'run.mjs') continue;
  console.log(`\n=== ${f}`);
  const r = spawnSync(process.execPath, [path.join(dir, f), ...process.argv.slice(2)], { stdio: 'inherit' });
  if (r.status !== 0) failed++;
}
process.exit(failed ? 1 : 0);
