import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
interface Target {
  target: string;
  arch: string[];
}
const config = JSON.parse(readFileSync(path.join(repo, 'build/electron-builder.json'), 'utf8')) as {
  directories: { app: string };
  extraResources: { from: string; to: string }[];
  mac: { target: Target[] };
  win: { target: Target[] };
  linux: { target: Target[] };
};

test('the packaging config points at what the build produces', () => {
  const app = path.join(repo, config.directories.app);
  const pkg = JSON.parse(readFileSync(path.join(app, 'package.json'), 'utf8')) as { main: string };
  assert.ok(existsSync(path.join(app, pkg.main)), `main ${pkg.main} is built`);
  assert.ok(existsSync(path.join(app, 'dist/preload/preload.cjs')), 'the sandboxed preload is CommonJS');
  const renderer = config.extraResources.find((r) => r.to === 'renderer');
  assert.ok(
    renderer && existsSync(path.join(repo, renderer.from, 'index.html')),
    'the dashboard ships as a resource',
  );
  assert.ok(
    config.extraResources.some((r) => r.from === 'vm-image/out' && r.to === 'vm-image'),
    'the VM image ships as a resource',
  );
  for (const icon of ['icon.png', 'tray.png'])
    assert.ok(existsSync(path.join(repo, 'resources', icon)), icon);
});

test('installers for every platform: dmg+zip (x64, arm64), nsis, AppImage+deb', () => {
  const has = (targets: Target[], name: string, arch: string) =>
    targets.some((t) => t.target === name && t.arch.includes(arch));
  for (const arch of ['x64', 'arm64']) {
    assert.ok(has(config.mac.target, 'dmg', arch) && has(config.mac.target, 'zip', arch), `mac ${arch}`);
    assert.ok(
      has(config.linux.target, 'AppImage', arch) && has(config.linux.target, 'deb', arch),
      `linux ${arch}`,
    );
  }
  assert.ok(has(config.win.target, 'nsis', 'x64'));
});

test('the preload is sandbox-safe: it loads nothing but electron', () => {
  const src = readFileSync(path.join(repo, 'electron/dist/preload/preload.cjs'), 'utf8');
  const requires = [...src.matchAll(/require\("([^"]+)"\)/g)].map((m) => m[1]);
  assert.deepEqual(requires, ['electron']);
});
