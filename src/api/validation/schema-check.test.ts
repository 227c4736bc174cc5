import { UPSTREAM_OPENAPI_V3, upstreamOpenApiSkip } from '../../../test/harness/upstream-openapi.js';
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { loadDefinitions, type Definitions } from '../schema.js';
import { parseGoTime } from './go-time.js';
import { base64ErrorOffset, checkAgainstSchema, strictDecodingMessage, type FieldValidation } from './schema-check.js';

const defs = loadDefinitions();
const POD = 'io.k8s.api.core.v1.Pod';
const DEPLOYMENT = 'io.k8s.api.apps.v1.Deployment';

function check(def: string, obj: any, fieldValidation: FieldValidation = 'Strict', d: Definitions = defs) {
  return checkAgainstSchema(obj, d[def], d, { fieldValidation });
}

function pod(spec: any, extra: any = {}): any {
  return { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p', ...extra }, spec };
}

describe('schema check: type errors in the decoder words', () => {
  test('a string where a list of structs belongs', () => {
    const r = check(POD, pod({ containers: 'nginx' }));
    assert.deepEqual(r.typeErrors, ['json: cannot unmarshal string into Go struct field PodSpec.spec.containers of type []v1.Container']);
  });

  test('nested fields name the innermost struct and the full field path without indices', () => {
    const r = check(POD, pod({ containers: [{ name: 'a', image: 5 }] }));
    assert.deepEqual(r.typeErrors, ['json: cannot unmarshal number into Go struct field Container.spec.containers.image of type string']);
  });

  test('int32 overflow and fractions report the number', () => {
    const r = check(POD, pod({ containers: [{ name: 'a', image: 'b', ports: [{ containerPort: 3000000000 }, { containerPort: 80.5 }] }] }));
    // Go keeps only the first type error.
    assert.deepEqual(r.typeErrors, ['json: cannot unmarshal number 3000000000 into Go struct field ContainerPort.spec.containers.ports.containerPort of type int32']);
    const frac = check(POD, pod({ containers: [{ name: 'a', image: 'b', ports: [{ containerPort: 80.5 }] }] }));
    assert.deepEqual(frac.typeErrors, ['json: cannot unmarshal number 80.5 into Go struct field ContainerPort.spec.containers.ports.containerPort of type int32']);
  });

  test('int64 fields take large integers but not strings', () => {
    assert.deepEqual(check(POD, pod({ containers: [], terminationGracePeriodSeconds: 2 ** 40 })).typeErrors, []);
    assert.deepEqual(check(POD, pod({ containers: [], terminationGracePeriodSeconds: '30' })).typeErrors, [
      'json: cannot unmarshal string into Go struct field PodSpec.spec.terminationGracePeriodSeconds of type int64',
    ]);
  });

  test('maps and objects of the wrong kind', () => {
    const r = check(POD, { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p', labels: { a: 1 } } });
    assert.deepEqual(r.typeErrors, ['json: cannot unmarshal number into Go struct field ObjectMeta.metadata.labels of type string']);
    assert.deepEqual(check(POD, { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p' }, spec: [] }).typeErrors, [
      'json: cannot unmarshal array into Go struct field Pod.spec of type v1.PodSpec',
    ]);
    assert.deepEqual(check(POD, pod({ containers: [], hostNetwork: 'yes' })).typeErrors, [
      'json: cannot unmarshal string into Go struct field PodSpec.spec.hostNetwork of type bool',
    ]);
  });

  test('IntOrString accepts both, rejects others as int32', () => {
    const probe = (port: unknown) => pod({ containers: [{ name: 'a', image: 'b', livenessProbe: { httpGet: { port } } }] });
    assert.deepEqual(check(POD, probe(8080)).typeErrors, []);
    assert.deepEqual(check(POD, probe('http')).typeErrors, []);
    assert.deepEqual(check(POD, probe(true)).typeErrors, [
      'json: cannot unmarshal bool into Go struct field HTTPGetAction.spec.containers.livenessProbe.httpGet.port of type int32',
    ]);
    assert.deepEqual(check(POD, probe(1.5)).typeErrors, [
      'json: cannot unmarshal number 1.5 into Go struct field HTTPGetAction.spec.containers.livenessProbe.httpGet.port of type int32',
    ]);
  });

  test('an invalid quantity is the quantity parser error, and wins over earlier type errors', () => {
    const r = check(POD, pod({ containers: [{ name: 5, image: 'b', resources: { limits: { cpu: 'lots' } } }] }));
    assert.deepEqual(r.typeErrors, ["quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'"]);
  });

  test('timestamps: bad text and bad types', () => {
    const bad = check(POD, pod({ containers: [] }, { creationTimestamp: 'yesterday' }));
    assert.deepEqual(bad.typeErrors, ['parsing time "yesterday" as "2006-01-02T15:04:05Z07:00": cannot parse "yesterday" as "2006"']);
    const num = check(POD, pod({ containers: [] }, { creationTimestamp: 5 }));
    assert.deepEqual(num.typeErrors, ['json: cannot unmarshal number into Go struct field ObjectMeta.metadata.creationTimestamp of type string']);
  });

  test('[]byte must be base64', () => {
    const r = check('io.k8s.api.core.v1.Secret', { apiVersion: 'v1', kind: 'Secret', metadata: { name: 's' }, data: { ok: 'aGVsbG8=', bad: 'not base64!' } });
    assert.deepEqual(r.typeErrors, ['illegal base64 data at input byte 3']);
  });
});

describe('schema check: unknown fields', () => {
  test('are reported with list indices and dropped', () => {
    const obj = pod({ containers: [{ name: 'a', image: 'b', bogus: 1 }], foo: { x: 1 } }, { extra: true });
    obj.top = 1;
    const r = check(POD, obj);
    assert.deepEqual(r.typeErrors, []);
    assert.deepEqual(r.unknownFields, ['metadata.extra', 'spec.containers[0].bogus', 'spec.foo', 'top']);
    assert.equal(r.pruned, obj);
    assert.deepEqual(obj, { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p' }, spec: { containers: [{ name: 'a', image: 'b' }] } });
    assert.equal(
      strictDecodingMessage(r.unknownFields),
      'strict decoding error: unknown field "metadata.extra", unknown field "spec.containers[0].bogus", unknown field "spec.foo", unknown field "top"',
    );
  });

  test('map keys are path segments, and free-form fields are left alone', () => {
    const cm = {
      apiVersion: 'apps/v1',
      kind: 'ControllerRevision',
      metadata: { name: 'r', annotations: { 'a.b/c': 'd' }, managedFields: [{ manager: 'm', fieldsV1: { 'f:x': {} } }] },
      data: { anything: { goes: [1, null] } },
      revision: 1,
    };
    const r = check('io.k8s.api.apps.v1.ControllerRevision', cm);
    assert.deepEqual(r.unknownFields, []);
    assert.deepEqual(cm.data, { anything: { goes: [1, null] } });
  });

  test('Ignore drops them without reporting; Warn reports like Strict', () => {
    const a = pod({ containers: [], bogus: 1 });
    assert.deepEqual(check(POD, a, 'Ignore').unknownFields, []);
    assert.equal(a.spec.bogus, undefined);
    assert.deepEqual(check(POD, pod({ containers: [], bogus: 1 }), 'Warn').unknownFields, ['spec.bogus']);
  });

  test('stop at 100 like upstream', () => {
    const spec: Record<string, unknown> = { containers: [] };
    for (let i = 0; i < 150; i++) spec[`x${i}`] = i;
    assert.equal(check(POD, pod(spec)).unknownFields.length, 100);
  });
});

describe('schema check: normalization', () => {
  test('quantities become canonical; timestamps become UTC seconds; nulls go away', () => {
    const obj = pod(
      { containers: [{ name: 'a', image: 'b', resources: { limits: { cpu: 1.5, memory: '1024Mi' }, requests: { cpu: '0.1' } } }], nodeName: null },
      { creationTimestamp: '2024-03-01T10:00:00.123+02:00' },
    );
    const r = check(POD, obj);
    assert.deepEqual(r.typeErrors, []);
    assert.deepEqual(obj.spec.containers[0].resources, { limits: { cpu: '1500m', memory: '1Gi' }, requests: { cpu: '100m' } });
    assert.equal(obj.metadata.creationTimestamp, '2024-03-01T08:00:00Z');
    assert.equal('nodeName' in obj.spec, false);
  });

  test('empty lists and maps of optional fields go away, required ones stay', () => {
    const obj = pod({ containers: [{ name: 'a', image: 'b', ports: [], env: [] }], volumes: [], nodeSelector: {} }, { labels: {}, finalizers: [] });
    check(POD, obj);
    assert.deepEqual(obj, { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p' }, spec: { containers: [{ name: 'a', image: 'b' }] } });
    const empty = pod({ containers: [] });
    check(POD, empty);
    assert.deepEqual(empty.spec, { containers: [] });
  });

  test('MicroTime keeps microseconds and requires them', () => {
    assert.deepEqual(parseGoTime('2024-01-02T03:04:05.123456Z', true), { value: '2024-01-02T03:04:05.123456Z' });
    assert.deepEqual(parseGoTime('2024-01-02T03:04:05Z', true), {
      error: 'parsing time "2024-01-02T03:04:05Z" as "2006-01-02T15:04:05.000000Z07:00": cannot parse "Z" as ".000000"',
    });
    assert.deepEqual(parseGoTime('2024-13-01T00:00:00Z', false), { error: 'parsing time "2024-13-01T00:00:00Z": month out of range' });
    assert.deepEqual(parseGoTime('2024-02-30T00:00:00Z', false), { error: 'parsing time "2024-02-30T00:00:00Z": day out of range' });
    assert.deepEqual(parseGoTime('2024-02-03T00:00:00Zjunk', false), { error: 'parsing time "2024-02-03T00:00:00Zjunk": extra text: "junk"' });
  });

  test('base64 offsets follow Go', () => {
    assert.equal(base64ErrorOffset('aGVsbG8='), -1);
    assert.equal(base64ErrorOffset('aGVs\nbG8='), -1);
    assert.equal(base64ErrorOffset('aGVsbG8'), 4);
    assert.equal(base64ErrorOffset('a==='), 1);
    assert.equal(base64ErrorOffset('aGVsbG8=x'), 8);
    assert.equal(base64ErrorOffset(''), -1);
  });
});

describe('schema check on a Deployment', () => {
  test('a valid one passes untouched', () => {
    const dep = {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'web', labels: { app: 'web' } },
      spec: {
        replicas: 2,
        selector: { matchLabels: { app: 'web' } },
        strategy: { rollingUpdate: { maxSurge: 1, maxUnavailable: '25%' } },
        template: { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'nginx', image: 'nginx', ports: [{ containerPort: 80 }] }] } },
      },
    };
    const before = JSON.stringify(dep);
    const r = check(DEPLOYMENT, dep);
    assert.deepEqual(r, { typeErrors: [], unknownFields: [], pruned: dep });
    assert.equal(JSON.stringify(dep), before);
  });

  test('replicas as a string', () => {
    const r = check(DEPLOYMENT, { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'web' }, spec: { replicas: '3' } });
    assert.deepEqual(r.typeErrors, ['json: cannot unmarshal string into Go struct field DeploymentSpec.spec.replicas of type int32']);
  });
});

const UPSTREAM = `${UPSTREAM_OPENAPI_V3}/api__v1_openapi.json`;

describe('schema check against upstream 1.26 definitions', { skip: upstreamOpenApiSkip() }, () => {
  test('same answers as with the generated ones', () => {
    const up: Definitions = JSON.parse(readFileSync(UPSTREAM, 'utf8')).components.schemas;
    const r = check(POD, pod({ containers: [{ name: 'a', image: 'b', bogus: 1, ports: [{ containerPort: 'x' }] }] }), 'Strict', up);
    assert.deepEqual(r.typeErrors, ['json: cannot unmarshal string into Go struct field ContainerPort.spec.containers.ports.containerPort of type int32']);
    assert.deepEqual(r.unknownFields, ['spec.containers[0].bogus']);
  });
});
