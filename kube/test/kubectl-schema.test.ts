/**
 * The schema work through the real kubectl 1.32 against a real berth-kube API server: explain (built-in kinds,
 * --recursive, a CRD's kind), server-side field validation under each --validate mode (unknown fields, duplicate
 * fields, wrong types), and a CRD's lifecycle (established, printer columns, a CR applied and defaulted, an
 * invalid CR refused with its causes, status and scale subresources, strategic merge patch refused, the CRD
 * deleted with its CRs).
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startTestServer, type TestServer } from './helpers/apiserver.js';

const KUBECTL = '/usr/bin/kubectl';
const present = existsSync(KUBECTL);
if (!present && process.env.CI === 'true') throw new Error(`required under CI: ${KUBECTL}`);
if (!present) console.log(`# skipped: ${KUBECTL} is not installed`);

let s: TestServer;
before(async () => {
  if (present) s = await startTestServer();
});
after(async () => {
  if (present) await s.stop();
});

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function kubectl(...args: string[]): Promise<Run> {
  return new Promise((resolve) => {
    execFile(
      KUBECTL,
      ['--kubeconfig', s.kubeconfig, '--cache-dir', path.join(s.dir, 'cache'), ...args],
      { env: { ...process.env, HOME: s.dir }, timeout: 60_000 },
      (err, stdout, stderr) =>
        resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

function file(name: string, text: string): string {
  const f = path.join(s.dir, name);
  writeFileSync(f, text);
  return f;
}

const opts = { skip: !present && 'kubectl is not installed' };

describe('kubectl explain', opts, () => {
  it('explains a field of a built-in kind', async () => {
    const r = await kubectl('explain', 'pods.spec.containers');
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^KIND:\s+Pod\nVERSION:\s+v1\n\nFIELD: containers <\[\]Container>\n/);
    assert.match(r.stdout, /\n {2}image\t<string>\n/);
    assert.match(r.stdout, /\n {2}name\t<string> -required-\n/);
  });

  it('explains a kind recursively', async () => {
    const r = await kubectl('explain', 'deployment', '--recursive');
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^GROUP:\s+apps\nKIND:\s+Deployment\nVERSION:\s+v1\n/);
    assert.match(r.stdout, /\n {4}template\t<PodTemplateSpec> -required-\n {6}metadata\t<ObjectMeta>\n/);
  });

  it('says which field does not exist', async () => {
    const r = await kubectl('explain', 'pods.spec.nope');
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /field "nope" does not exist/);
  });
});

describe('server-side field validation', opts, () => {
  const manifest = (name: string) =>
    `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ${name}\n  foo: bar\ndata:\n  a: "1"\nbogus: 2\n`;

  it('Strict (kubectl default): unknown fields refused with 400', async () => {
    const r = await kubectl('apply', '-f', file('strict.yaml', manifest('strict')));
    assert.notEqual(r.code, 0);
    assert.match(
      r.stderr,
      /Error from server \(BadRequest\): error when creating ".*strict\.yaml": ConfigMap in version "v1" cannot be handled as a ConfigMap: strict decoding error: unknown field "bogus", unknown field "metadata\.foo"/,
    );
    assert.equal((await kubectl('get', 'configmap', 'strict')).code, 1);
  });

  it('Warn: created, each unknown field a warning, dropped from the object', async () => {
    const r = await kubectl('apply', '--validate=warn', '-f', file('warn.yaml', manifest('warn')));
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /Warning: unknown field "bogus"\nWarning: unknown field "metadata\.foo"\n/);
    const got = JSON.parse((await kubectl('get', 'configmap', 'warn', '-o', 'json')).stdout) as Record<
      string,
      unknown
    >;
    assert.equal('bogus' in got, false);
    assert.equal('foo' in (got.metadata as object), false);
  });

  it('Ignore: created silently', async () => {
    const r = await kubectl('create', '--validate=false', '-f', file('ignore.yaml', manifest('ignore')));
    assert.equal(r.code, 0, r.stderr);
    assert.doesNotMatch(r.stderr, /Warning/);
  });

  it('duplicate fields in a raw body: refused under Strict, warned under Warn', async () => {
    const body = file(
      'dup.json',
      '{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"dup"},"data":{"a":"1","a":"2"}}',
    );
    const strict = await kubectl(
      'create',
      '--raw',
      '/api/v1/namespaces/default/configmaps?fieldValidation=Strict',
      '-f',
      body,
    );
    assert.notEqual(strict.code, 0);
    assert.match(strict.stderr, /strict decoding error: duplicate field "data\.a"/);
    const warn = await kubectl(
      'create',
      '--raw',
      '/api/v1/namespaces/default/configmaps?fieldValidation=Warn',
      '-f',
      body,
    );
    assert.equal(warn.code, 0, warn.stderr);
    assert.match(warn.stderr, /Warning: duplicate field "data\.a"/);
    assert.equal((JSON.parse(warn.stdout) as { data: { a: string } }).data.a, '2');
  });

  it('a wrong type is a 400 in every mode, in Go decoding words', async () => {
    const m = file(
      'type.yaml',
      'apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\nspec:\n  replicas: "3"\n  selector: {matchLabels: {app: web}}\n  template:\n    metadata: {labels: {app: web}}\n    spec: {containers: [{name: web, image: nginx}]}\n',
    );
    for (const mode of ['strict', 'warn', 'false']) {
      const r = await kubectl('apply', `--validate=${mode}`, '-f', m);
      assert.notEqual(r.code, 0);
      assert.match(
        r.stderr,
        /Deployment in version "v1" cannot be handled as a Deployment: json: cannot unmarshal string into Go struct field DeploymentSpec\.spec\.replicas of type int32/,
      );
    }
  });
});

const CRD = `apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: crontabs.stable.example.com
spec:
  group: stable.example.com
  scope: Namespaced
  names: {plural: crontabs, singular: crontab, kind: CronTab, shortNames: [ct]}
  versions:
  - name: v1
    served: true
    storage: true
    subresources:
      status: {}
      scale: {specReplicasPath: .spec.replicas, statusReplicasPath: .status.replicas}
    additionalPrinterColumns:
    - {name: Spec, type: string, jsonPath: .spec.cronSpec}
    - {name: Replicas, type: integer, jsonPath: .spec.replicas}
    - {name: Age, type: date, jsonPath: .metadata.creationTimestamp}
    schema:
      openAPIV3Schema:
        type: object
        properties:
          spec:
            type: object
            required: [cronSpec]
            properties:
              cronSpec: {type: string, pattern: '^(\\d+|\\*)(/\\d+)?(\\s+(\\d+|\\*)(/\\d+)?){4}$'}
              image: {type: string}
              replicas: {type: integer, minimum: 1, maximum: 10, default: 1}
          status:
            type: object
            properties:
              replicas: {type: integer}
`;

describe('a CRD through kubectl', opts, () => {
  it('refuses a non-structural CRD with 422 and its causes', async () => {
    const bad = CRD.replace('          spec:\n            type: object\n', '          spec:\n');
    const r = await kubectl('apply', '-f', file('bad-crd.yaml', bad));
    assert.notEqual(r.code, 0);
    assert.match(
      r.stderr,
      /The CustomResourceDefinition "crontabs\.stable\.example\.com" is invalid: spec\.validation\.openAPIV3Schema\.properties\[spec\]\.type: Required value: must not be empty for specified object fields/,
    );
  });

  it('runs the lifecycle', async () => {
    let r = await kubectl('apply', '-f', file('crd.yaml', CRD));
    assert.equal(r.code, 0, r.stderr);
    r = await kubectl(
      'wait',
      '--for=condition=Established',
      '--timeout=20s',
      'crd/crontabs.stable.example.com',
    );
    assert.equal(r.code, 0, r.stderr);
    r = await kubectl('get', 'crd');
    assert.match(r.stdout, /^NAME\s+CREATED AT\ncrontabs\.stable\.example\.com\s+\d{4}-\d\d-\d\dT/);

    r = await kubectl(
      'apply',
      '-f',
      file(
        'ct.yaml',
        'apiVersion: stable.example.com/v1\nkind: CronTab\nmetadata: {name: my-cron}\nspec: {cronSpec: "* * * * */5", image: my-image}\n',
      ),
    );
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /crontab\.stable\.example\.com\/my-cron created/);
    r = await kubectl('get', 'ct');
    assert.match(r.stdout, /^NAME\s+SPEC\s+REPLICAS\s+AGE\nmy-cron\s+\* \* \* \* \*\/5\s+1\s+\d+s\n$/);

    r = await kubectl(
      'apply',
      '-f',
      file(
        'bad.yaml',
        'apiVersion: stable.example.com/v1\nkind: CronTab\nmetadata: {name: bad}\nspec: {cronSpec: often, replicas: 20}\n',
      ),
    );
    assert.notEqual(r.code, 0);
    assert.match(
      r.stderr,
      /The CronTab "bad" is invalid: \n\* spec\.cronSpec: Invalid value: "often": spec\.cronSpec in body should match/,
    );
    assert.match(
      r.stderr,
      /\* spec\.replicas: Invalid value: 20: spec\.replicas in body should be less than or equal to 10/,
    );

    r = await kubectl('explain', 'crontab.spec');
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /GROUP:\s+stable\.example\.com\nKIND:\s+CronTab\nVERSION:\s+v1\n/);
    assert.match(r.stdout, /cronSpec\t<string> -required-/);

    // Strategic merge patch is not for custom resources.
    r = await kubectl('patch', 'ct', 'my-cron', '--type=strategic', '-p', '{"spec":{"image":"x"}}');
    assert.notEqual(r.code, 0);
    assert.match(
      r.stderr,
      /the body of the request was in an unknown format - accepted media types include: application\/json-patch\+json, application\/merge-patch\+json, application\/apply-patch\+yaml/,
    );

    // Status through its subresource only; scale through its paths.
    const base = '/apis/stable.example.com/v1/namespaces/default/crontabs/my-cron';
    const current = JSON.parse((await kubectl('get', '--raw', base)).stdout) as Record<string, unknown>;
    const status = { ...current, spec: { cronSpec: '* * * * *' }, status: { replicas: 2 } };
    r = await kubectl(
      'replace',
      '--raw',
      `${base}/status`,
      '-f',
      file('status.json', JSON.stringify(status)),
    );
    assert.equal(r.code, 0, r.stderr);
    const afterStatus = JSON.parse((await kubectl('get', '--raw', base)).stdout) as {
      spec: unknown;
      status: unknown;
    };
    assert.deepEqual(afterStatus.status, { replicas: 2 });
    assert.deepEqual(afterStatus.spec, { cronSpec: '* * * * */5', image: 'my-image', replicas: 1 });
    const scale = JSON.parse((await kubectl('get', '--raw', `${base}/scale`)).stdout) as Record<
      string,
      unknown
    >;
    assert.deepEqual([scale.kind, scale.spec, scale.status], ['Scale', { replicas: 1 }, { replicas: 2 }]);
    r = await kubectl(
      'replace',
      '--raw',
      `${base}/scale`,
      '-f',
      file('scale.json', JSON.stringify({ ...scale, spec: { replicas: 4 } })),
    );
    assert.equal(r.code, 0, r.stderr);
    r = await kubectl('get', 'ct', 'my-cron', '-o', 'jsonpath={.spec.replicas} {.metadata.generation}');
    assert.equal(r.stdout, '4 2');
    r = await kubectl('scale', 'ct', 'my-cron', '--replicas=6');
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /crontab\.stable\.example\.com\/my-cron scaled/);
    r = await kubectl('get', 'ct', 'my-cron', '-o', 'jsonpath={.spec.replicas}');
    assert.equal(r.stdout, '6');
    // Out of the schema's bounds through scale too: 422 from the custom resource's validation.
    r = await kubectl('scale', 'ct', 'my-cron', '--replicas=11');
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /spec\.replicas in body should be less than or equal to 10/);

    r = await kubectl('delete', 'crd', 'crontabs.stable.example.com');
    assert.equal(r.code, 0, r.stderr);
    r = await kubectl('get', 'crontabs');
    assert.notEqual(r.code, 0);
    // (kubectl's cached discovery still names the type; the server no longer serves it.)
    assert.match(r.stderr, /NotFound.*the server could not find the requested resource/);
    r = await kubectl('get', '--raw', '/apis/stable.example.com/v1');
    assert.notEqual(r.code, 0);
    // Created again, the old objects are gone.
    r = await kubectl('apply', '-f', path.join(s.dir, 'crd.yaml'));
    assert.equal(r.code, 0, r.stderr);
    await kubectl('wait', '--for=condition=Established', '--timeout=20s', 'crd/crontabs.stable.example.com');
    r = await kubectl('get', 'crontabs', '-A');
    assert.match(r.stderr, /No resources found/);
  });
});

describe('kubectl scale of a built-in kind', opts, () => {
  it('patches the Scale view and answers with it', async () => {
    const d = file(
      'scaled.yaml',
      'apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: scaled}\nspec:\n  selector: {matchLabels: {app: s}}\n  template:\n    metadata: {labels: {app: s}}\n    spec: {containers: [{name: s, image: nginx}]}\n',
    );
    let r = await kubectl('apply', '-f', d);
    assert.equal(r.code, 0, r.stderr);
    r = await kubectl('scale', 'deployment', 'scaled', '--replicas=3');
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /deployment\.apps\/scaled scaled/);
    r = await kubectl('get', 'deployment', 'scaled', '-o', 'jsonpath={.spec.replicas}');
    assert.equal(r.stdout, '3');
  });
});
