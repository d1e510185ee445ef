#!/usr/bin/env node
// Builds the Berth guest image (kernel, initrd, root filesystem) into vm-image/out/<arch>/ from the pinned
// inputs in vm-image/manifest.json. Cached: parts whose inputs did not change are kept. Needs `npx tsc -b` first.
// Usage: node vm-image/build.mjs [--arch amd64|arm64] [--force]
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const { buildImage } = await import(path.join(repo, 'vm-image/dist/src/build.js'));
const argv = process.argv.slice(2);
const arch = argv.includes('--arch')
  ? argv[argv.indexOf('--arch') + 1]
  : process.arch === 'arm64'
    ? 'arm64'
    : 'amd64';
const t0 = Date.now();
try {
  const info = await buildImage({
    repo,
    arch,
    force: argv.includes('--force'),
    log: (m) => console.error(`vm-image: ${m}`),
  });
  const mib = (n) => (n / 1048576).toFixed(1) + ' MiB';
  console.error(
    `vm-image: ${arch} ready in ${((Date.now() - t0) / 1000).toFixed(1)} s (${info.rebuilt.join(', ') || 'cached'}): kernel ${mib(info.sizes.kernel)}, initrd ${mib(info.sizes.initrd)}, rootfs ${mib(info.sizes.rootfs)}`,
  );
} catch (err) {
  console.error(`vm-image: ${err.message}`);
  process.exit(1);
}
