/** `berth kube enable`'s kubeconfig merge: others kept, backup, mode 0600, current-context rules, bad files left alone. */
import assert from 'node:assert/strict';
import { mkdtempSync, promises as fsp, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { parse } from 'yaml';
import { hasContext, mergeContext } from '../src/cluster/kubeconfig-merge.js';
import { KubeconfigError, loadKubeconfig } from '../src/cluster/kubeconfig.js';

const entry = (server: string) => ({
  name: 'berth',
  cluster: { server, 'certificate-authority-data': 'Q0E=' },
  user: { 'client-certificate-data': 'Q0VSVA==', 'client-key-data': 'S0VZ' },
});

const OTHERS = `# team clusters
apiVersion: v1
kind: Config
clusters:
- name: prod
  cluster: {server: 'https://prod:6443'}
contexts:
- name: prod
  context: {cluster: prod, user: me, namespace: shop}
current-context: prod
users:
- name: me
  user: {token: secret}
preferences: {colors: true}
`;

describe('kubeconfig merge', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'khost-merge-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  test('a missing file (and its folder) is created with only berth, which becomes current; no backup', async () => {
    const f = path.join(dir, 'new', '.kube', 'config');
    const r = await mergeContext(f, entry('https://127.0.0.1:6443'), false);
    assert.equal(r.backup, undefined);
    assert.equal(r.current, 'berth');
    assert.equal(r.switched, true);
    assert.equal(statSync(f).mode & 0o777, 0o600);
    const k = await loadKubeconfig([f]);
    assert.equal(k.summary.current, 'berth');
    const c = await k.resolve('berth');
    assert.equal(c.context.server, 'https://127.0.0.1:6443');
    assert.equal(c.user.clientKey?.toString(), 'KEY');
  });

  test('other entries are kept, current-context stays, the old file is the backup; --use switches', async () => {
    const f = path.join(dir, 'others');
    await fsp.writeFile(f, OTHERS, { mode: 0o644 });
    const r = await mergeContext(f, entry('https://127.0.0.1:6443'), false);
    assert.equal(r.current, 'prod');
    assert.equal(r.switched, false);
    assert.equal(await fsp.readFile(`${f}.berth-backup`, 'utf8'), OTHERS);
    assert.equal(statSync(f).mode & 0o777, 0o600);
    const doc = parse(await fsp.readFile(f, 'utf8')) as Record<string, unknown>;
    assert.deepEqual(doc.preferences, { colors: true });
    const k = await loadKubeconfig([f]);
    assert.deepEqual(
      k.summary.contexts.map((c) => c.name),
      ['berth', 'prod'],
    );
    assert.equal((await k.resolve('prod')).user.token, 'secret');
    assert.equal(k.summary.contexts.find((c) => c.name === 'prod')?.namespace, 'shop');
    // Again, with a new port and --use: berth's entries are replaced, not duplicated.
    const again = await mergeContext(f, entry('https://127.0.0.1:18555'), true);
    assert.equal(again.switched, true);
    const k2 = await loadKubeconfig([f]);
    assert.equal(k2.summary.current, 'berth');
    assert.equal(k2.summary.contexts.length, 2);
    const d2 = parse(await fsp.readFile(f, 'utf8')) as { clusters: unknown[]; users: unknown[] };
    assert.equal(d2.clusters.length, 2);
    assert.equal(d2.users.length, 2);
    assert.equal((await k2.resolve('berth')).context.server, 'https://127.0.0.1:18555');
    assert.equal(await hasContext(f, 'berth'), true);
    assert.equal(await hasContext(f, 'nope'), false);
  });

  test('a file that is not a kubeconfig is refused and left as it was', async () => {
    for (const [name, text] of [
      ['bad-yaml', 'clusters: [unclosed\n'],
      ['a-list', '- 1\n- 2\n'],
    ]) {
      const f = path.join(dir, name);
      await fsp.writeFile(f, text);
      await assert.rejects(mergeContext(f, entry('https://127.0.0.1:6443'), false), (e: Error) => {
        assert.ok(e instanceof KubeconfigError);
        assert.match(e.message, /leaves it alone/);
        return true;
      });
      assert.equal(await fsp.readFile(f, 'utf8'), text);
    }
  });

  test('a kubeconfig Berth cannot read or write says what to do', async () => {
    // A file where the folder should be: refused even for root.
    const blocker = path.join(dir, 'blocker');
    await fsp.writeFile(blocker, 'x');
    await assert.rejects(
      mergeContext(path.join(blocker, 'config'), entry('https://x'), false),
      /cannot read the kubeconfig .*ENOTDIR.*point KUBECONFIG at another file/,
    );
    // /proc takes no new files, not even from root: the write itself fails.
    await assert.rejects(
      mergeContext('/proc/berth-no-such-kubeconfig', entry('https://x'), false),
      /cannot write the kubeconfig \/proc\/berth-no-such-kubeconfig .*point KUBECONFIG at a file you can write/,
    );
  });
});
