#!/usr/bin/env node
// Bundles berth-kube into kube/dist/bundle (one file plus berth-pause beside it, as the guest image has it) for the
// host: resolving ~300 module files was a quarter of its start to /readyz. bin/berth-kube and the native driver
// run the bundle while it is newer than the last compile (kube/entry.ts), else the compiled modules.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { stageKube } from '../vm-image/dist/src/kube-tree.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
await stageKube(root, path.join(root, 'kube/dist/bundle'), 'node20');
