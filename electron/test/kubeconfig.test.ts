/** The kubeconfig as kubectl reads it: $KUBECONFIG order and merging, relative paths, credentials, exec plugins. */
import assert from 'node:assert/strict';
import { mkdtempSync, promises as fsp, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { credentialsFor } from '../src/cluster/credentials.js';
import { kubeconfigFiles, loadKubeconfig } from '../src/cluster/kubeconfig.js';

describe('kubeconfig', () => {
  let dir: string;
  const w = async (name: string, text: string) => {
    const f = path.join(dir, name);
    await fsp.mkdir(path.dirname(f), { recursive: true });
    await fsp.writeFile(f, text, { mode: 0o700 });
    return f;
  };
  before(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'kdash-kubeconfig-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  test('$KUBECONFIG is a path list (empty entries and duplicates dropped), else ~/.kube/config', () => {
    const d = path.delimiter;
    assert.deepEqual(kubeconfigFiles({ KUBECONFIG: `/a${d}${d}/b${d}/a` }, '/home/x'), ['/a', '/b']);
    assert.deepEqual(kubeconfigFiles({ KUBECONFIG: '' }, '/home/x'), ['/home/x/.kube/config']);
    assert.deepEqual(kubeconfigFiles({}, '/home/x'), ['/home/x/.kube/config']);
  });

  test('the first file to name a context, cluster or user wins; berth is listed first; missing files are skipped', async () => {
    const a = await w(
      'a/config',
      `apiVersion: v1
kind: Config
current-context: zeta
clusters:
- name: c1
  cluster: {server: "https://one:6443", certificate-authority: ca.pem}
contexts:
- name: zeta
  context: {cluster: c1, user: u1, namespace: apps}
users:
- name: u1
  user: {token: first}
`,
    );
    const b = await w(
      'b/config',
      `current-context: berth
clusters:
- name: c1
  cluster: {server: "https://shadowed:1"}
- name: c2
  cluster: {server: "http://two:8080"}
contexts:
- name: zeta
  context: {cluster: c2, user: u1}
- name: berth
  context: {cluster: c2, user: u2}
- name: alpha
  context: {cluster: c2, user: nobody}
users:
- name: u1
  user: {token: second}
- name: u2
  user: {tokenFile: ../token.txt}
`,
    );
    await w('a/ca.pem', 'CA-BYTES');
    await w('token.txt', 'from-file\n');
    const k = await loadKubeconfig([a, path.join(dir, 'missing'), b]);
    assert.deepEqual(
      k.summary.contexts.map((c) => [c.name, c.server, c.namespace, c.auth]),
      [
        ['berth', 'http://two:8080', 'default', 'token'],
        ['alpha', 'http://two:8080', 'default', 'none'],
        ['zeta', 'https://one:6443', 'apps', 'token'],
      ],
    );
    assert.equal(k.summary.current, 'zeta');
    assert.deepEqual(k.summary.files, [a, b]);
    const zeta = await k.resolve('zeta');
    assert.equal(
      zeta.cluster.certificateAuthority?.toString(),
      'CA-BYTES',
      'relative to the file that named it',
    );
    assert.equal((await credentialsFor(zeta)).authorization, 'Bearer first');
    assert.equal((await credentialsFor(await k.resolve('berth'))).authorization, 'Bearer from-file');
    assert.equal((await credentialsFor(await k.resolve('alpha'))).authorization, undefined);
    await assert.rejects(k.resolve('nope'), /no context "nope" in the kubeconfig/);
  });

  test('a broken file is reported and the others still count', async () => {
    const bad = await w('bad', 'clusters: [unclosed');
    const list = await w('list', '- just\n- a list\n');
    const good = await w('good', 'contexts:\n- name: g\n  context: {cluster: x}\n');
    const k = await loadKubeconfig([bad, list, good]);
    assert.deepEqual(
      k.summary.contexts.map((c) => c.name),
      ['g'],
    );
    assert.equal(k.summary.problems.length, 2);
    assert.match(k.summary.problems[0], /not valid YAML/);
    assert.match(k.summary.problems[1], /not a kubeconfig/);
    await assert.rejects(k.resolve('g'), /names cluster "x", which the kubeconfig does not define/);
  });

  test('exec credential plugins: the ExecCredential spec in the env, token or client certificate back, failures explained', async () => {
    const plugin = await w(
      'bin/cred.sh',
      `#!/bin/sh
case "$1" in
  token) printf '{"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential","status":{"token":"tok-%s","expirationTimestamp":"2999-01-01T00:00:00Z"}}' "$MY_ENV" ;;
  info) printf '{"kind":"ExecCredential","status":{"token":"%s"}}' "$(echo "$KUBERNETES_EXEC_INFO" | tr -d '"{}: ,' )" ;;
  cert) printf '{"kind":"ExecCredential","status":{"clientCertificateData":"CERT","clientKeyData":"KEY"}}' ;;
  fail) echo "login required" >&2; exit 3 ;;
  junk) echo "not json" ;;
  empty) printf '{"kind":"ExecCredential","status":{}}' ;;
esac
`,
    );
    const users = ['token', 'info', 'cert', 'fail', 'junk', 'empty']
      .map(
        (m) =>
          `- name: ${m}\n  user:\n    exec:\n      apiVersion: client.authentication.k8s.io/v1\n      command: ./bin/cred.sh\n      args: [${m}]\n      env: [{name: MY_ENV, value: x1}]\n      interactiveMode: Never\n`,
      )
      .join('');
    const contexts = ['token', 'info', 'cert', 'fail', 'junk', 'empty']
      .map((m) => `- name: ${m}\n  context: {cluster: c, user: ${m}}\n`)
      .join('');
    const f = await w(
      'exec-config',
      `clusters:\n- name: c\n  cluster: {server: "https://c:1"}\ncontexts:\n${contexts}users:\n${users}`,
    );
    assert.ok(plugin);
    const k = await loadKubeconfig([f]);
    assert.equal(k.summary.contexts.find((c) => c.name === 'token')?.auth, 'exec');
    const tok = await credentialsFor(await k.resolve('token'));
    assert.equal(tok.authorization, 'Bearer tok-x1');
    assert.equal(tok.expires, Date.parse('2999-01-01T00:00:00Z') - 30_000);
    assert.equal(
      (await credentialsFor(await k.resolve('info'))).authorization,
      'Bearer apiVersionclient.authentication.k8s.io/v1kindExecCredentialspecinteractivefalse',
    );
    const cert = await credentialsFor(await k.resolve('cert'));
    assert.equal(cert.cert?.toString(), 'CERT');
    assert.equal(cert.key?.toString(), 'KEY');
    await assert.rejects(credentialsFor(await k.resolve('fail')), /failed \(exit 3\): login required/);
    await assert.rejects(credentialsFor(await k.resolve('junk')), /did not print an ExecCredential as JSON/);
    await assert.rejects(
      credentialsFor(await k.resolve('empty')),
      /neither a token nor a client certificate/,
    );
  });
});
