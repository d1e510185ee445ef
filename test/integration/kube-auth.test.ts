/**
 * Authentication and authorization of berth-kube through the real kubectl 1.32: `kubectl create token`, a
 * service-account token in a kubeconfig, RBAC (403 then 200 after a RoleBinding), `auth can-i` and `auth whoami`,
 * impersonation with --as/--as-group.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { requirement } from '../helpers/env.js';
import { KUBECTL_132, startKube, type TestKube } from '../helpers/kube.js';

const skip = requirement(existsSync(KUBECTL_132), 'kubectl 1.32 is not installed');
let k: TestKube;

before(async () => {
  if (!skip) k = await startKube();
});
after(async () => {
  if (!skip) await k.destroy();
});

const ok = async (args: string[], o: { input?: string; kubeconfig?: string } = {}) => {
  const r = await k.kubectl(args, o);
  assert.equal(r.code, 0, `kubectl ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
};
const fails = async (args: string[], o: { input?: string; kubeconfig?: string } = {}) => {
  const r = await k.kubectl(args, o);
  assert.notEqual(r.code, 0, `kubectl ${args.join(' ')} should fail: ${r.stdout}`);
  return r.stderr;
};

/** A kubeconfig for the same server whose user is a bearer token. */
async function tokenKubeconfig(name: string, token: string): Promise<string> {
  const ca = /certificate-authority-data: (\S+)/.exec(
    await import('node:fs/promises').then((f) => f.readFile(k.kubeconfig, 'utf8')),
  )![1];
  return k.file(
    `${name}.kubeconfig`,
    `apiVersion: v1
kind: Config
clusters:
- name: berth
  cluster: {server: ${k.server}, certificate-authority-data: ${ca}}
users:
- name: ${name}
  user: {token: ${token}}
contexts:
- name: ${name}
  context: {cluster: berth, user: ${name}, namespace: default}
current-context: ${name}
`,
  );
}

describe('kubectl auth against berth-kube', { skip }, () => {
  it('creates tokens with kubectl create token, and a token kubeconfig authenticates as the account', async () => {
    // A typed command: kubectl sends the ServiceAccount (and the TokenRequest) as protobuf.
    assert.equal(await ok(['create', 'serviceaccount', 'robot']), 'serviceaccount/robot created\n');
    const token = (
      await ok([
        'create',
        'token',
        'robot',
        '--duration',
        '20m',
        '--audience',
        'https://kubernetes.default.svc.cluster.local',
      ])
    ).trim();
    const claims = JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString()) as {
      sub: string;
      exp: number;
      iat: number;
    };
    assert.equal(claims.sub, 'system:serviceaccount:default:robot');
    assert.equal(claims.exp - claims.iat, 1200);
    const cfg = await tokenKubeconfig('robot', token);
    assert.equal(
      await fails(['get', 'pods'], { kubeconfig: cfg }),
      'Error from server (Forbidden): pods is forbidden: User "system:serviceaccount:default:robot" cannot list resource "pods" in API group "" in the namespace "default"\n',
    );
    assert.match(
      await fails(['--token', `${token.slice(0, -6)}AAAAAA`, 'get', 'pods'], { kubeconfig: cfg }),
      /error: You must be logged in to the server \(Unauthorized\)/,
    );
    assert.match(
      await fails(['create', 'token', 'robot', '--duration', '5m']),
      /^error: failed to create token: TokenRequest\.authentication\.k8s\.io "" is invalid: spec\.expirationSeconds: Invalid value: 300: may not specify a duration less than 10 minutes\n$/,
    );
    assert.match(
      await fails(['create', 'token', 'nobody']),
      /^error: failed to create token: serviceaccounts "nobody" not found\n$/,
    );
  });

  it('takes the protobuf bodies of typed commands as their JSON (zero pointers kept, omitted zeros dropped)', async () => {
    await ok(['create', 'deployment', 'pb-web', '--image=nginx:1.27', '--replicas=0', '--port=8080']);
    const d = JSON.parse(await ok(['get', 'deploy', 'pb-web', '-o', 'json'])) as {
      spec: { replicas: number; template: { spec: { containers: Array<Record<string, unknown>> } } };
      metadata: Record<string, unknown>;
    };
    assert.equal(d.spec.replicas, 0);
    const c = d.spec.template.spec.containers[0];
    assert.deepEqual(c.ports, [{ containerPort: 8080, protocol: 'TCP' }]);
    assert.equal(d.metadata.generateName, undefined);
    await ok(['create', 'secret', 'generic', 'pb-secret', '--from-literal=k=v\u00e9', '--from-literal=e=']);
    assert.equal(
      await ok(['get', 'secret', 'pb-secret', '-o', 'jsonpath={.data.k}/{.data.e}/{.type}']),
      `${Buffer.from('v\u00e9').toString('base64')}//Opaque`,
    );
    await ok(['create', 'configmap', 'pb-cm', '--from-literal=a=1']);
    assert.equal(await ok(['get', 'cm', 'pb-cm', '-o', 'jsonpath={.data.a}']), '1');
  });

  it('authorizes by RBAC: 403, then 200 after a RoleBinding; can-i, can-i --list and whoami as the account', async () => {
    await ok(['create', 'serviceaccount', 'reader']);
    const cfg = await tokenKubeconfig('reader', (await ok(['create', 'token', 'reader'])).trim());
    assert.match(
      await fails(['get', 'pods'], { kubeconfig: cfg }),
      /User "system:serviceaccount:default:reader" cannot list resource "pods"/,
    );
    const who = await ok(['auth', 'whoami'], { kubeconfig: cfg });
    assert.match(who, /\nUsername\s+system:serviceaccount:default:reader\n/);
    assert.match(
      who,
      /\nGroups\s+\[system:serviceaccounts system:serviceaccounts:default system:authenticated\]\n/,
    );
    assert.match(who, /\nExtra: authentication\.kubernetes\.io\/credential-id\s+\[JTI=[0-9a-f-]{36}\]\n/);
    const r = await k.kubectl(['auth', 'can-i', 'list', 'pods'], { kubeconfig: cfg });
    assert.deepEqual([r.code, r.stdout], [1, 'no\n']);
    assert.equal(
      await ok([
        'create',
        'rolebinding',
        'reader-view',
        '--clusterrole=view',
        '--serviceaccount=default:reader',
      ]),
      'rolebinding.rbac.authorization.k8s.io/reader-view created\n',
    );
    const listed = await k.kubectl(['get', 'pods'], { kubeconfig: cfg });
    assert.deepEqual([listed.code, listed.stderr], [0, 'No resources found in default namespace.\n']);
    assert.equal(await ok(['auth', 'can-i', 'list', 'deployments.apps'], { kubeconfig: cfg }), 'yes\n');
    for (const args of [
      ['create', 'pods'],
      ['get', 'secrets'],
      ['list', 'pods', '-n', 'kube-system'],
    ]) {
      const no = await k.kubectl(['auth', 'can-i', ...args], { kubeconfig: cfg });
      assert.deepEqual([no.code, no.stdout], [1, 'no\n'], args.join(' '));
    }
    const rules = await ok(['auth', 'can-i', '--list'], { kubeconfig: cfg });
    assert.match(rules, /^Resources\s+Non-Resource URLs\s+Resource Names\s+Verbs\n/);
    assert.match(rules, /\nselfsubjectreviews\.authentication\.k8s\.io\s+\[\]\s+\[\]\s+\[create\]\n/);
    assert.match(rules, /\npods\s+\[\]\s+\[\]\s+\[get list watch\]\n/);
    assert.match(rules, /\n\s+\[\/version\]\s+\[\]\s+\[get\]\n/);
    assert.doesNotMatch(rules, /\nsecrets\s/);
  });

  it('impersonates with --as and --as-group when allowed, and names the verb when not', async () => {
    assert.equal(
      await ok(['auth', 'can-i', 'list', 'pods', '--as=system:serviceaccount:default:reader']),
      'yes\n',
    );
    const alice = await k.kubectl(['auth', 'can-i', 'list', 'pods', '--as=alice']);
    assert.deepEqual([alice.code, alice.stdout], [1, 'no\n']);
    assert.equal(
      await ok(['auth', 'can-i', 'delete', 'nodes', '--as=alice', '--as-group=system:masters']),
      'yes\n',
    );
    const who = await ok(['auth', 'whoami', '--as=alice', '--as-group=devs', '--as-group=ops']);
    assert.match(who, /\nUsername\s+alice\n/);
    assert.match(who, /\nGroups\s+\[devs ops system:authenticated\]\n/);
    const cfg = await tokenKubeconfig('reader2', (await ok(['create', 'token', 'reader'])).trim());
    assert.equal(
      await fails(['get', 'pods', '--as=bob'], { kubeconfig: cfg }),
      'Error from server (Forbidden): users "bob" is forbidden: User "system:serviceaccount:default:reader" cannot impersonate resource "users" in API group "" at the cluster scope\n',
    );
  });

  it('refuses to grant or bind permissions the writer does not hold, as kube-apiserver words it', async () => {
    await ok(['create', 'serviceaccount', 'rbacer']);
    await ok([
      'create',
      'rolebinding',
      'rbacer-admin',
      '--clusterrole=admin',
      '--serviceaccount=default:rbacer',
    ]);
    const cfg = await tokenKubeconfig('rbacer', (await ok(['create', 'token', 'rbacer'])).trim());
    assert.equal(
      await ok(['create', 'role', 'secret-reader', '--verb=get', '--resource=secrets'], { kubeconfig: cfg }),
      'role.rbac.authorization.k8s.io/secret-reader created\n',
    );
    const groups =
      '(groups=["system:serviceaccounts" "system:serviceaccounts:default" "system:authenticated"])';
    assert.equal(
      await fails(['create', 'role', 'node-reader', '--verb=get,list', '--resource=nodes'], {
        kubeconfig: cfg,
      }),
      `Error from server (Forbidden): roles.rbac.authorization.k8s.io "node-reader" is forbidden: user "system:serviceaccount:default:rbacer" ${groups} is attempting to grant RBAC permissions not currently held:\n{APIGroups:[""], Resources:["nodes"], Verbs:["get" "list"]}\n`,
    );
    assert.equal(
      await fails(['create', 'rolebinding', 'mine', '--clusterrole=cluster-admin', '--user=me'], {
        kubeconfig: cfg,
      }),
      `error: failed to create rolebinding: rolebindings.rbac.authorization.k8s.io "mine" is forbidden: user "system:serviceaccount:default:rbacer" ${groups} is attempting to grant RBAC permissions not currently held:\n{APIGroups:["*"], Resources:["*"], Verbs:["*"]}\n{NonResourceURLs:["*"], Verbs:["*"]}\n`,
    );
    // Binding a role whose rules it holds is fine.
    await ok(['create', 'rolebinding', 'share', '--role=secret-reader', '--user=me'], { kubeconfig: cfg });
    assert.equal(await ok(['auth', 'can-i', 'get', 'secrets', '--as=me']), 'yes\n');
    const view = JSON.parse(await ok(['get', 'clusterrole', 'view', '-o', 'json'])) as {
      aggregationRule: unknown;
    };
    assert.ok(view.aggregationRule);
  });

  it('serves python3-kubernetes: create, strategic patch, list by label, watch from a resourceVersion, with a token', async () => {
    await ok(['create', 'serviceaccount', 'py']);
    await ok(['create', 'rolebinding', 'py-edit', '--clusterrole=edit', '--serviceaccount=default:py']);
    const cfg = await tokenKubeconfig('py', (await ok(['create', 'token', 'py'])).trim());
    const script = `
import sys
from kubernetes import client, config, watch
config.load_kube_config(config_file=sys.argv[1])
v1 = client.CoreV1Api()
cm = client.V1ConfigMap(metadata=client.V1ObjectMeta(name="py-cm", labels={"py": "w"}), data={"a": "1"})
rv = v1.create_namespaced_config_map("default", cm).metadata.resource_version
v1.patch_namespaced_config_map("py-cm", "default", {"data": {"b": "2"}})
print("list", [sorted(i.data.items()) for i in v1.list_namespaced_config_map("default", label_selector="py=w").items])
v1.delete_namespaced_config_map("py-cm", "default")
w = watch.Watch()
seen = []
for e in w.stream(v1.list_namespaced_config_map, "default", label_selector="py=w", resource_version=rv, timeout_seconds=10):
    seen.append((e["type"], sorted(e["object"].data.items())))
    if len(seen) == 2:
        w.stop()
print("watch", seen)
try:
    v1.list_namespaced_secret("kube-system")
except client.exceptions.ApiException as e:
    print("denied", e.status, e.reason)
`;
    const { run } = await import('../helpers/exec.js');
    const r = await run('/usr/bin/python3', ['-c', script, cfg]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(
      r.stdout,
      "list [[('a', '1'), ('b', '2')]]\nwatch [('MODIFIED', [('a', '1'), ('b', '2')]), ('DELETED', [('a', '1'), ('b', '2')])]\ndenied 403 Forbidden\n",
    );
  });

  it('lists an APIService per served group-version, Local and Available', async () => {
    const names = (await ok(['get', 'apiservices', '-o', 'name'])).split('\n');
    for (const n of ['v1.', 'v1.apps', 'v1.rbac.authorization.k8s.io', 'v2.autoscaling', 'v1.policy'])
      assert.ok(names.includes(`apiservice.apiregistration.k8s.io/${n}`), n);
    assert.equal(
      await ok([
        'get',
        'apiservice',
        'v1.apps',
        '-o',
        'jsonpath={.spec.group}/{.spec.groupPriorityMinimum}/{.status.conditions[0].reason}',
      ]),
      'apps/17800/Local',
    );
  });
});
