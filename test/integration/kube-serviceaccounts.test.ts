/**
 * The ServiceAccounts controller and the root CA publisher through the real kubectl 1.32 against a real
 * berth-kube: a `default` ServiceAccount and the `kube-root-ca.crt` ConfigMap (the kubeconfig's CA) in every
 * namespace, new ones included; deleted ones come back, an edited CA is put back.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { requirement } from '../helpers/env.js';
import { KUBECTL_132, startKube, type TestKube } from '../helpers/kube.js';
import { until } from '../helpers/kube-cluster.js';

const skip = requirement(existsSync(KUBECTL_132), 'kubectl 1.32 is not installed');

describe('default service accounts and kube-root-ca.crt', { skip }, () => {
  let k: TestKube;
  let ca: string;
  const ok = async (args: string[]) => {
    const r = await k.kubectl(args);
    assert.equal(r.code, 0, `kubectl ${args.join(' ')}: ${r.stderr}`);
    return r.stdout;
  };
  const uidOf = (args: string[]) => ok([...args, '-o', 'jsonpath={.metadata.uid}']).catch(() => '');
  const caIn = (ns: string) =>
    ok(['get', 'cm', 'kube-root-ca.crt', '-n', ns, '-o', 'jsonpath={.data.ca\\.crt}']).catch(() => '');

  before(async () => {
    k = await startKube();
    const data = /certificate-authority-data: (\S+)/.exec(readFileSync(k.kubeconfig, 'utf8'))![1];
    ca = Buffer.from(data, 'base64').toString('utf8');
  });
  after(async () => {
    await k?.destroy();
  });

  it('puts both in the namespaces that exist at start', async () => {
    for (const ns of ['default', 'kube-system', 'kube-public', 'kube-node-lease']) {
      await until(`default SA in ${ns}`, () => uidOf(['get', 'sa', 'default', '-n', ns]), 10_000);
      assert.equal(await until(`CA in ${ns}`, () => caIn(ns), 10_000), ca);
    }
    assert.match(await ok(['get', 'sa']), /^NAME\s+SECRETS\s+AGE\ndefault\s+0\s+\d+s\n$/);
    const cm = JSON.parse(await ok(['get', 'cm', 'kube-root-ca.crt', '-o', 'json'])) as {
      metadata: { annotations: Record<string, string> };
      data: Record<string, string>;
    };
    assert.deepEqual(Object.keys(cm.data), ['ca.crt']);
    assert.match(
      cm.metadata.annotations['kubernetes.io/description'],
      /^Contains a CA bundle that can be used/,
    );
  });

  it('adds them to a new namespace', async () => {
    await ok(['create', 'namespace', 'team-a']);
    await until('default SA in team-a', () => uidOf(['get', 'sa', 'default', '-n', 'team-a']), 10_000);
    assert.equal(await until('CA in team-a', () => caIn('team-a'), 10_000), ca);
  });

  it('re-creates a deleted default ServiceAccount and ConfigMap, and puts back an edited CA', async () => {
    const sa = await uidOf(['get', 'sa', 'default', '-n', 'team-a']);
    await ok(['delete', 'sa', 'default', '-n', 'team-a']);
    const again = await until(
      'default SA back',
      async () => {
        const u = await uidOf(['get', 'sa', 'default', '-n', 'team-a']);
        return u && u !== sa ? u : undefined;
      },
      10_000,
    );
    assert.notEqual(again, sa);

    await ok(['delete', 'cm', 'kube-root-ca.crt', '-n', 'team-a']);
    assert.equal(await until('CA back', () => caIn('team-a'), 10_000), ca);

    await ok(['patch', 'cm', 'kube-root-ca.crt', '-n', 'team-a', '-p', '{"data":{"ca.crt":"forged"}}']);
    assert.equal(
      await until('CA restored', async () => ((await caIn('team-a')) === ca ? ca : undefined), 10_000),
      ca,
    );
  });
});
