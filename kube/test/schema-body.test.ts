/** Request-body decoding with fieldValidation, worded as kube-apiserver words it (table of cases). */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isKubeError } from '../src/errors.js';
import {
  appliedStrict,
  checkPatched,
  decodeBody,
  fieldValidationOf,
  parsePatch,
  type FieldValidation,
} from '../src/schema/body.js';

const deploy = { group: 'apps', version: 'v1', kind: 'Deployment' };
const core = (kind: string) => ({ group: '', version: 'v1', kind });

const deployment = (spec: string) =>
  `{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"web"},"spec":${spec}}`;
const podSpec = (containers: string) =>
  `{"selector":{"matchLabels":{"app":"web"}},"template":{"metadata":{"labels":{"app":"web"}},"spec":{"containers":${containers}}}}`;

async function rejects(p: Promise<unknown>, reason: string, message: string): Promise<void> {
  await assert.rejects(p, (e: unknown) => {
    assert.ok(isKubeError(e), String(e));
    assert.equal(e.message, message);
    assert.equal(e.reason, reason);
    return true;
  });
}

describe('decodeBody', () => {
  const strictCases: Array<[string, string, string]> = [
    [
      'unknown field',
      deployment(podSpec('[{"name":"a","image":"nginx"}]').replace('{"selector"', '{"foo":1,"selector"')),
      'strict decoding error: unknown field "spec.foo"',
    ],
    [
      'unknown fields in order, in lists, deduplicated; duplicates of known fields',
      deployment(
        podSpec('[{"name":"a","image":"nginx","bar":true,"bar":false},{"name":"b","image":"x","baz":1}]'),
      ).replace('{"name":"web"}', '{"name":"web","name":"web2","zz":{}}'),
      'strict decoding error: duplicate field "metadata.name", unknown field "metadata.zz", ' +
        'unknown field "spec.template.spec.containers[0].bar", unknown field "spec.template.spec.containers[1].baz"',
    ],
    [
      'duplicate keys in maps',
      deployment(podSpec('[{"name":"a","image":"nginx"}]')).replace(
        '"labels":{"app":"web"}',
        '"labels":{"app":"web","app":"x"}',
      ),
      'strict decoding error: duplicate field "spec.template.metadata.labels.app"',
    ],
  ];
  for (const [name, body, message] of strictCases) {
    it(`Strict: ${name}`, async () => {
      await rejects(
        decodeBody({ body, expected: deploy, fieldValidation: 'Strict' }),
        'BadRequest',
        `Deployment in version "v1" cannot be handled as a Deployment: ${message}`,
      );
    });
  }

  it('Warn: one warning per problem, unknown fields dropped, the last duplicate kept', async () => {
    const body = deployment(
      podSpec('[{"name":"a","image":"nginx","bar":true}]').replace(
        '{"selector"',
        '{"replicas":1,"replicas":3,"foo":1,"selector"',
      ),
    );
    const r = await decodeBody({ body, expected: deploy, fieldValidation: 'Warn' });
    assert.deepEqual(r.warnings, [
      'duplicate field "spec.replicas"',
      'unknown field "spec.foo"',
      'unknown field "spec.template.spec.containers[0].bar"',
    ]);
    const spec = r.object.spec as Record<string, unknown>;
    assert.equal(spec.replicas, 3);
    assert.equal('foo' in spec, false);
    assert.deepEqual((spec.template as { spec: unknown }).spec, {
      containers: [{ name: 'a', image: 'nginx' }],
    });
    assert.deepEqual(r.gvk, deploy);
  });

  it('Ignore: silent, unknown fields still dropped', async () => {
    const r = await decodeBody({
      body: deployment('{"foo":1}'),
      expected: deploy,
      fieldValidation: 'Ignore',
    });
    assert.deepEqual(r.warnings, []);
    assert.deepEqual(r.object.spec, {});
  });

  // Type mismatches fail in every mode, in Go's words; they win over strict errors.
  const typeCases: Array<[string, { group: string; version: string; kind: string }, string, string]> = [
    [
      'a string for an int32',
      deploy,
      deployment('{"replicas":"3","foo":1}'),
      'Deployment in version "v1" cannot be handled as a Deployment: json: cannot unmarshal string into Go struct field DeploymentSpec.spec.replicas of type int32',
    ],
    [
      'a number for a string in a list of structs',
      deploy,
      deployment(podSpec('[{"name":"a","image":"nginx","env":[{"name":"X","value":1}]}]')),
      'Deployment in version "v1" cannot be handled as a Deployment: json: cannot unmarshal number into Go struct field EnvVar.spec.template.spec.containers.env.value of type string',
    ],
    [
      'an object for a list',
      deploy,
      deployment(podSpec('{"name":"a"}')),
      'Deployment in version "v1" cannot be handled as a Deployment: json: cannot unmarshal object into Go struct field PodSpec.spec.template.spec.containers of type []v1.Container',
    ],
    [
      'a number in a string map',
      core('ConfigMap'),
      '{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"c","labels":{"a":1}}}',
      'ConfigMap in version "v1" cannot be handled as a ConfigMap: json: cannot unmarshal number into Go struct field ObjectMeta.metadata.labels of type string',
    ],
    [
      'a fraction for an int-or-string',
      core('Service'),
      '{"kind":"Service","apiVersion":"v1","metadata":{"name":"s"},"spec":{"ports":[{"port":80,"targetPort":1.5}]}}',
      'Service in version "v1" cannot be handled as a Service: json: cannot unmarshal number 1.5 into Go struct field ServicePort.spec.ports.targetPort of type int32',
    ],
    [
      'a bad quantity',
      core('Pod'),
      '{"kind":"Pod","apiVersion":"v1","metadata":{"name":"p"},"spec":{"containers":[{"name":"a","resources":{"limits":{"cpu":"lots"}}}]}}',
      'Pod in version "v1" cannot be handled as a Pod: quantities must match the regular expression \'^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$\'',
    ],
    [
      'bad base64 in Secret data',
      core('Secret'),
      '{"kind":"Secret","apiVersion":"v1","metadata":{"name":"s"},"data":{"k":"abc!"}}',
      'Secret in version "v1" cannot be handled as a Secret: illegal base64 data at input byte 3',
    ],
    [
      'a string for a struct',
      deploy,
      deployment('"x"'),
      'Deployment in version "v1" cannot be handled as a Deployment: json: cannot unmarshal string into Go struct field Deployment.spec of type v1.DeploymentSpec',
    ],
    [
      'a kind the group-version does not have',
      core('Pod'),
      '{"kind":"Deployment","apiVersion":"v1","metadata":{"name":"p"}}',
      'Deployment in version "v1" cannot be handled as a Pod: no kind "Deployment" is registered for version "v1" in scheme "pkg/api/legacyscheme/scheme.go:30"',
    ],
  ];
  for (const [name, expected, body, message] of typeCases) {
    for (const mode of ['Strict', 'Ignore'] as FieldValidation[]) {
      it(`${mode}: ${name}`, async () => {
        await rejects(decodeBody({ body, expected, fieldValidation: mode }), 'BadRequest', message);
      });
    }
  }

  it('syntax errors name the expected kind and summarize the body', async () => {
    await rejects(
      decodeBody({
        body: '{"apiVersion":"v1","kind":"ConfigMap","metadata":',
        expected: core('ConfigMap'),
        fieldValidation: 'Strict',
      }),
      'BadRequest',
      `the object provided is unrecognized (must be of type ConfigMap): couldn't get version/kind; json parse error: unexpected end of JSON input ({"apiVersion":"v1","kind":"Con ...)`,
    );
  });

  it('stores quantities in canonical form', async () => {
    const body =
      '{"kind":"Pod","apiVersion":"v1","metadata":{"name":"p"},"spec":{"containers":[{"name":"a","resources":{"limits":{"cpu":0.5,"memory":"1.5Gi"}}}]}}';
    const r = await decodeBody({ body, expected: core('Pod'), fieldValidation: 'Strict' });
    const c = (r.object.spec as { containers: Array<{ resources: unknown }> }).containers[0];
    assert.deepEqual(c.resources, { limits: { cpu: '500m', memory: '1536Mi' } });
  });

  it('fills apiVersion and kind from the URL', async () => {
    const r = await decodeBody({
      body: '{"metadata":{"name":"c"},"data":{"a":"b"}}',
      expected: core('ConfigMap'),
      fieldValidation: 'Strict',
    });
    assert.deepEqual(r.object, {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'c' },
      data: { a: 'b' },
    });
  });

  it('reads YAML as go-yaml does, duplicates by line', async () => {
    const body =
      'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\n  name: d\ndata:\n  on: yes\n  mode: 0755\n  a: "1"\n  a: "2"\n';
    // YAML 1.1 values: `yes` is a boolean, so the string map refuses it.
    await rejects(
      decodeBody({
        body,
        contentType: 'application/yaml',
        expected: core('ConfigMap'),
        fieldValidation: 'Warn',
      }),
      'BadRequest',
      'ConfigMap in version "v1" cannot be handled as a ConfigMap: json: cannot unmarshal bool into Go struct field ConfigMap.data of type string',
    );
    const ok = body.replace('  on: yes\n  mode: 0755\n', '');
    await rejects(
      decodeBody({
        body: ok,
        contentType: 'application/yaml',
        expected: core('ConfigMap'),
        fieldValidation: 'Strict',
      }),
      'BadRequest',
      'ConfigMap in version "v1" cannot be handled as a ConfigMap: strict decoding error: error converting YAML to JSON: yaml: unmarshal errors:\n  line 5: key "name" already set in map\n  line 8: key "a" already set in map',
    );
    const warned = await decodeBody({
      body: ok,
      contentType: 'application/yaml',
      expected: core('ConfigMap'),
      fieldValidation: 'Warn',
    });
    assert.deepEqual(warned.warnings, [
      'line 5: key "name" already set in map',
      'line 8: key "a" already set in map',
    ]);
    assert.deepEqual(warned.object.data, { a: '2' });
  });

  it('refuses unknown media types with 415', async () => {
    await rejects(
      decodeBody({
        body: 'x',
        contentType: 'text/plain',
        expected: core('ConfigMap'),
        fieldValidation: 'Strict',
      }),
      'UnsupportedMediaType',
      'the body of the request was in an unknown format - accepted media types include: application/json, application/yaml, application/vnd.kubernetes.protobuf, application/cbor',
    );
  });
});

describe('fieldValidationOf', () => {
  it('defaults to Warn and refuses other values as ValidateCreateOptions does', () => {
    assert.equal(fieldValidationOf(undefined, 'CreateOptions'), 'Warn');
    assert.equal(fieldValidationOf('', 'CreateOptions'), 'Warn');
    assert.equal(fieldValidationOf('Strict', 'PatchOptions'), 'Strict');
    assert.throws(
      () => fieldValidationOf('strict', 'UpdateOptions'),
      (e: unknown) =>
        isKubeError(e, 'Invalid') &&
        e.message ===
          'UpdateOptions.meta.k8s.io "" is invalid: fieldValidation: Unsupported value: "strict": supported values: "", "Ignore", "Strict", "Warn"',
    );
  });
});

describe('patch field validation', () => {
  it('merge patch: duplicates in the patch and unknown fields in the result, 422 on "patch" when Strict', async () => {
    const body = '{"spec":{"replicas":2,"replicas":3,"foo":1}}';
    const p = parsePatch(body, 'merge', 'Strict');
    assert.deepEqual(p.strict, ['duplicate field "spec.replicas"']);
    const patched = {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'web' },
      spec: { replicas: 3, foo: 1 },
    };
    await assert.rejects(checkPatched(deploy, patched, { ...p, type: 'merge' }, 'Strict'), (e: unknown) => {
      assert.ok(isKubeError(e, 'Invalid'));
      assert.equal(
        e.message,
        ` "" is invalid: patch: Invalid value: ${JSON.stringify(JSON.stringify(patched))}: strict decoding error: duplicate field "spec.replicas", unknown field "spec.foo"`,
      );
      assert.equal(e.causes[0].field, 'patch');
      return true;
    });
    const warned = await checkPatched(
      deploy,
      patched,
      { ...parsePatch(body, 'merge', 'Warn'), type: 'merge' },
      'Warn',
    );
    assert.deepEqual(warned.warnings, ['duplicate field "spec.replicas"', 'unknown field "spec.foo"']);
    assert.deepEqual(warned.object.spec, { replicas: 3 });
  });

  it('strategic merge patch shows the patch as Go prints a map', async () => {
    const p = parsePatch('{"spec":{"foo":{"b":[1,"x"],"a":null}}}', 'strategic', 'Strict');
    await assert.rejects(
      checkPatched(
        deploy,
        { apiVersion: 'apps/v1', kind: 'Deployment', spec: { foo: 1 } },
        { ...p, type: 'strategic' },
        'Strict',
      ),
      (e: unknown) =>
        isKubeError(e, 'Invalid') &&
        e.message ===
          ' "" is invalid: patch: Invalid value: "map[spec:map[foo:map[a:<nil> b:[1 x]]]]": strict decoding error: unknown field "spec.foo"',
    );
  });

  it('JSON patch: unknown operation fields, and syntax errors as 400', () => {
    const p = parsePatch('[{"op":"add","path":"/a","value":1,"valu":2}]', 'json', 'Warn');
    assert.deepEqual(p.strict, ['json patch unknown field "[0].valu"']);
    assert.throws(
      () => parsePatch('[{', 'merge', 'Strict'),
      (e: unknown) =>
        isKubeError(e, 'BadRequest') && e.message === 'error decoding patch: unexpected end of JSON input',
    );
  });

  it('apply patch: YAML duplicates are a 400 when Strict (checked after the apply), warnings when Warn', () => {
    const strict = parsePatch('a: 1\na: 2\nb: 1\nb: 2\n', 'apply', 'Strict');
    assert.deepEqual(strict.value, { a: 2, b: 2 });
    assert.throws(
      () => appliedStrict(strict, 'Strict'),
      (e: unknown) =>
        isKubeError(e, 'BadRequest') &&
        e.message ===
          'error strict decoding YAML: error converting YAML to JSON: yaml: unmarshal errors:\n  line 2: key "a" already set in map\n  line 4: key "b" already set in map',
    );
    assert.deepEqual(appliedStrict(parsePatch('a: 1\na: 2\nb: 1\nb: 2\n', 'apply', 'Warn'), 'Warn'), [
      'line 2: key "a" already set in map',
      'line 4: key "b" already set in map',
    ]);
    assert.deepEqual(parsePatch('a: 1\na: 2\n', 'apply', 'Ignore').strict, []);
    assert.throws(
      () => parsePatch('a: [', 'apply', 'Strict'),
      (e: unknown) =>
        isKubeError(e, 'BadRequest') &&
        e.message.startsWith('error decoding YAML: error converting YAML to JSON: yaml: '),
    );
  });

  it('JSON patch: duplicates inside an operation and inside its value, in the order Go meets them', () => {
    const p = parsePatch(
      '[{"op":"add","path":"/data","value":{"a":{"x":1,"x":2},"a":"1","b":1},"value":{"c":1,"c":2}},{"op":"x","bogus":{"d":1,"d":2}}]',
      'json',
      'Warn',
    );
    assert.deepEqual(p.strict, [
      'json patch duplicate field "[0].value.a.x"',
      'json patch duplicate field "[0].value.a"',
      'json patch duplicate field "[0].value"',
      'json patch duplicate field "[0].value.c"',
      'json patch unknown field "[1].bogus"',
    ]);
    assert.deepEqual(parsePatch('[{"op":"add","value":{"a":1,"a":2}}]', 'json', 'Ignore').strict, []);
  });

  it('merge patch: a duplicate inside an overwritten value still counts', () => {
    const p = parsePatch('{"data":{"a":"1","a":"2"},"data":{"b":"1"}}', 'merge', 'Warn');
    assert.deepEqual(p.strict, ['duplicate field "data.a"', 'duplicate field "data"']);
    assert.deepEqual(p.value, { data: { b: '1' } });
  });
});
