#!/usr/bin/env node
// Re-pins vm-image/manifest.json: for each arch, looks up the current Debian version + sha256 of every listed
// package with apt-cache (run `apt-get update` first; arm64 needs `dpkg --add-architecture arm64`) and the
// npm tarball of Node (downloaded once with `npm pack` to hash it). Usage: node vm-image/pin.mjs [--write]
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const file = path.join(here, 'manifest.json');
const manifest = JSON.parse(readFileSync(file, 'utf8'));

function aptShow(name, arch) {
  const text = execFileSync('apt-cache', ['show', '--no-all-versions', `${name}:${arch}`], {
    encoding: 'utf8',
  });
  const field = (k) => new RegExp(`^${k}: (.*)$`, 'm').exec(text)?.[1];
  const version = field('Version');
  const sha256 = field('SHA256');
  if (!version || !sha256) throw new Error(`apt-cache has no ${name}:${arch}`);
  return { name, version, sha256 };
}

function npmPin(pkg, version) {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'berth-pin-'));
  try {
    const out = execFileSync('npm', ['pack', `${pkg}@${version}`, '--json', '--pack-destination', dir], {
      encoding: 'utf8',
    });
    const [info] = JSON.parse(out);
    const data = readFileSync(path.join(dir, info.filename));
    return { name: pkg, version: info.version, sha256: createHash('sha256').update(data).digest('hex') };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

for (const [arch, a] of Object.entries(manifest.arches)) {
  a.kernel = aptShow(a.kernel.name, arch);
  a.debs = a.debs.map((d) => aptShow(d.name, arch));
  a.node = npmPin(a.node.name, a.node.version);
}
const text = JSON.stringify(manifest, null, 2) + '\n';
if (process.argv.includes('--write')) writeFileSync(file, text);
else process.stdout.write(text);
