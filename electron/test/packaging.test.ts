import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { inflateSync } from 'node:zlib';

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

/** RGBA pixels of a PNG written by build/make-icons.py (8-bit RGBA, filter 0 on every row). */
function rgba(file: string): { size: number; px: Buffer } {
  const b = readFileSync(file);
  const size = b.readUInt32BE(16);
  assert.equal(b[25], 6, `${file}: RGBA`);
  const idat: Buffer[] = [];
  for (let o = 8; o < b.length;) {
    const len = b.readUInt32BE(o);
    if (b.toString('latin1', o + 4, o + 8) === 'IDAT') idat.push(b.subarray(o + 8, o + 8 + len));
    o += 12 + len;
  }
  const raw = inflateSync(Buffer.concat(idat));
  const rows: Buffer[] = [];
  for (let y = 0; y < size; y++) {
    const row = raw.subarray(y * (size * 4 + 1), (y + 1) * (size * 4 + 1));
    assert.equal(row[0], 0, 'filter 0');
    rows.push(row.subarray(1));
  }
  return { size, px: Buffer.concat(rows) };
}

test('the macOS tray icon is a template image (black on transparency); other platforms get the coloured one', async () => {
  const { trayIcon } = await import('../src/tray/icon.js');
  const mac = trayIcon('darwin');
  assert.deepEqual(mac, { file: 'trayTemplate.png', template: true });
  for (const f of [mac.file, mac.file.replace('.png', '@2x.png')]) {
    const { px } = rgba(path.join(repo, 'resources', f));
    let opaque = 0;
    for (let i = 0; i < px.length; i += 4) {
      if (px[i + 3] === 0) continue;
      opaque++;
      assert.deepEqual([px[i], px[i + 1], px[i + 2]], [0, 0, 0], `${f}: only black is drawn`);
    }
    assert.ok(opaque > 20, `${f} draws the anchor`);
  }
  const other = trayIcon('linux');
  assert.equal(other.template, false);
  const { px } = rgba(path.join(repo, 'resources', other.file));
  let coloured = 0;
  for (let i = 0; i < px.length; i += 4) if (px[i + 3] === 255 && px[i + 2] > 200) coloured++;
  assert.ok(coloured > 50, 'visible on dark and light panels');
  const cfg = JSON.parse(readFileSync(path.join(repo, 'build/electron-builder.json'), 'utf8')) as {
    extraResources: { to: string; filter?: string[] }[];
  };
  assert.ok(
    cfg.extraResources.some((r) => r.to === 'icons' && r.filter?.includes('tray*.png')),
    'every tray image ships',
  );
});

test('the app carries QEMU per platform in resources/qemu, where the driver looks; macOS has the hypervisor entitlement', async () => {
  const cfg = JSON.parse(readFileSync(path.join(repo, 'build/electron-builder.json'), 'utf8')) as Record<
    'mac' | 'win' | 'linux',
    { extraResources?: { from: string; to: string }[]; entitlements?: string; entitlementsInherit?: string }
  >;
  for (const [key, os] of [
    ['mac', 'darwin'],
    ['win', 'win32'],
    ['linux', 'linux'],
  ] as const)
    assert.ok(
      cfg[key].extraResources?.some((r) => r.from === `build/qemu/${os}-\${arch}` && r.to === 'qemu'),
      `${key}: build/qemu/${os}-\${arch} → resources/qemu`,
    );
  assert.ok(existsSync(path.join(repo, 'build/qemu/README.md')), 'how to fill build/qemu');
  const ent = cfg.mac.entitlements!;
  assert.equal(cfg.mac.entitlementsInherit, ent, 'QEMU, a child binary, inherits the entitlements');
  const plist = readFileSync(path.join(repo, ent), 'utf8');
  assert.match(plist, /<key>com\.apple\.security\.hypervisor<\/key>\s*<true\/>/);
  const { qemuSearchDirs } = await import('../src/vm/qemu/tools.js');
  const dirs = qemuSearchDirs('darwin', { PATH: '' }, '/Applications/Berth.app/Contents/Resources');
  assert.equal(dirs[0], '/Applications/Berth.app/Contents/Resources/qemu/bin');
});

test('quitting: stop, keep or ask as settings say; an engine Berth does not manage, or a stopped one, is left alone', async () => {
  const { quitAction, quitAnswer, QUIT_BUTTONS } = await import('../src/tray/quit.js');
  assert.equal(quitAction('ask', true, 'running'), 'ask');
  assert.equal(quitAction('stop-engine', true, 'running'), 'stop');
  assert.equal(quitAction('stop-engine', true, 'starting'), 'stop');
  assert.equal(quitAction('keep-engine', true, 'running'), 'keep');
  assert.equal(quitAction('ask', true, 'stopped'), 'keep');
  assert.equal(quitAction('stop-engine', false, 'running'), 'keep');
  assert.equal(QUIT_BUTTONS.length, 3);
  assert.deepEqual(quitAnswer(0, false), { action: 'stop' });
  assert.deepEqual(quitAnswer(0, true), { action: 'stop', remember: 'stop-engine' });
  assert.deepEqual(quitAnswer(1, true), { action: 'keep', remember: 'keep-engine' });
  assert.deepEqual(quitAnswer(2, true), {}, 'Cancel keeps the app open and remembers nothing');
});
