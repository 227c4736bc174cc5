import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { builtinResources } from '../catalog.js';
import type { KubeObject, ResourceEntry } from '../types.js';
import { isDNS1123Label, isDNS1123Subdomain, isQualifiedName, isValidLabelValue, nameRuleFor, prepareMetaForUpdate, validateObjectMeta } from './meta.js';

function entry(kind: string, group = ''): ResourceEntry {
  const e = builtinResources.find((x) => x.kind === kind && x.group === group);
  assert.ok(e, kind);
  return e;
}

function obj(metadata: Record<string, unknown>): KubeObject {
  return { apiVersion: 'v1', kind: 'ConfigMap', metadata };
}

const SUBDOMAIN_MSG =
  "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";

describe('name validators', () => {
  test('speak upstream', () => {
    assert.deepEqual(isDNS1123Subdomain('Foo'), [SUBDOMAIN_MSG]);
    assert.deepEqual(isDNS1123Label('a.b'), ['must not contain dots']);
    assert.deepEqual(isDNS1123Label('x'.repeat(64)), ['must be no more than 63 characters']);
    assert.deepEqual(isQualifiedName('example.com/MyName'), []);
    assert.deepEqual(isQualifiedName('a/b/c').length, 1);
    assert.deepEqual(isQualifiedName('/x'), ['prefix part must be non-empty']);
    assert.deepEqual(isValidLabelValue(''), []);
    assert.deepEqual(isValidLabelValue('-x'), [
      "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')",
    ]);
  });

  test('each kind has its name rule', () => {
    assert.deepEqual(nameRuleFor('ConfigMap')('a.b', false), []);
    assert.equal(nameRuleFor('Namespace')('a.b', false).length, 1);
    assert.equal(nameRuleFor('Service')('1abc', false).length, 1);
    assert.deepEqual(nameRuleFor('ClusterRole.rbac.authorization.k8s.io')('system:controller:x', false), []);
    assert.deepEqual(nameRuleFor('Role.rbac.authorization.k8s.io')('a/b', false), ["may not contain '/'"]);
    assert.equal(nameRuleFor('PersistentVolumeClaim')('a_b', false).length, 1);
    // generateName may end in a dash.
    assert.deepEqual(nameRuleFor('Pod')('web-', true), []);
  });
});

describe('validateObjectMeta on create', () => {
  test('the upstream message for a bad name', () => {
    const errs = validateObjectMeta(entry('ConfigMap'), obj({ name: 'Foo', namespace: 'default' }));
    assert.deepEqual(errs, [{ reason: 'FieldValueInvalid', message: `Invalid value: "Foo": ${SUBDOMAIN_MSG}`, field: 'metadata.name' }]);
  });

  test('name or generateName is required; generateName alone is fine', () => {
    assert.deepEqual(validateObjectMeta(entry('ConfigMap'), obj({ namespace: 'default' })), [
      { reason: 'FieldValueRequired', message: 'Required value: name or generateName is required', field: 'metadata.name' },
    ]);
    assert.deepEqual(validateObjectMeta(entry('ConfigMap'), obj({ generateName: 'cm-', namespace: 'default' })), []);
    assert.equal(validateObjectMeta(entry('ConfigMap'), obj({ generateName: 'CM-', namespace: 'default' }))[0].field, 'metadata.generateName');
  });

  test('namespace required on namespaced kinds, forbidden on cluster ones', () => {
    assert.deepEqual(validateObjectMeta(entry('ConfigMap'), obj({ name: 'a' })), [{ reason: 'FieldValueRequired', message: 'Required value', field: 'metadata.namespace' }]);
    assert.deepEqual(validateObjectMeta(entry('Namespace'), obj({ name: 'a', namespace: 'x' })), [
      { reason: 'FieldValueForbidden', message: 'Forbidden: not allowed on this type', field: 'metadata.namespace' },
    ]);
  });

  test('labels, annotations, finalizers and owner references', () => {
    const errs = validateObjectMeta(
      entry('ConfigMap'),
      obj({
        name: 'a',
        namespace: 'default',
        labels: { 'bad key!': 'v', ok: 'bad value!' },
        annotations: { 'Example.com/Key': 'fine', 'a/b/c': 'x' },
        finalizers: ['example.com/f', 'custom'],
        ownerReferences: [{ apiVersion: '', kind: 'Deployment', name: 'd', uid: '' }],
      }),
    );
    const fields = errs.map((e) => `${e.field} ${e.reason}`);
    assert.deepEqual(fields, [
      'metadata.labels FieldValueInvalid',
      'metadata.labels FieldValueInvalid',
      'metadata.annotations FieldValueInvalid',
      'metadata.ownerReferences.apiVersion FieldValueInvalid',
      'metadata.ownerReferences.uid FieldValueInvalid',
      'metadata.finalizers[1] FieldValueInvalid',
    ]);
    assert.equal(errs[5].message, 'Invalid value: "custom": name is neither a standard finalizer name nor is it fully qualified');
  });

  test('annotations are limited to 256 KiB in total', () => {
    const errs = validateObjectMeta(entry('ConfigMap'), obj({ name: 'a', namespace: 'default', annotations: { big: 'x'.repeat(256 * 1024) } }));
    assert.deepEqual(errs.map((e) => [e.field, e.reason]), [['metadata.annotations', 'FieldValueTooLong']]);
  });
});

describe('validateObjectMeta on update', () => {
  const old = obj({ name: 'a', namespace: 'default', uid: 'u1', creationTimestamp: '2024-01-01T00:00:00Z', generation: 3 });

  test('identity fields are immutable', () => {
    const errs = validateObjectMeta(entry('ConfigMap'), obj({ name: 'b', namespace: 'default', uid: 'u2', creationTimestamp: '2024-02-01T00:00:00Z', generation: 2 }), old);
    assert.deepEqual(errs, [
      { reason: 'FieldValueInvalid', message: 'Invalid value: 2: must not be decremented', field: 'metadata.generation' },
      { reason: 'FieldValueInvalid', message: 'Invalid value: "b": field is immutable', field: 'metadata.name' },
      { reason: 'FieldValueInvalid', message: 'Invalid value: "u2": field is immutable', field: 'metadata.uid' },
      { reason: 'FieldValueInvalid', message: 'Invalid value: 2024-02-01 00:00:00 +0000 UTC: field is immutable', field: 'metadata.creationTimestamp' },
    ]);
  });

  test('omitted system fields are restored, not reported', () => {
    const next = obj({ name: 'a', namespace: 'default' });
    assert.deepEqual(validateObjectMeta(entry('ConfigMap'), next, old), []);
    prepareMetaForUpdate(next, old);
    assert.equal(next.metadata?.uid, 'u1');
    assert.equal(next.metadata?.creationTimestamp, '2024-01-01T00:00:00Z');
  });

  test('no new finalizers while deleting', () => {
    const deleting = obj({ ...old.metadata, deletionTimestamp: '2024-03-01T00:00:00Z', finalizers: ['a.io/x'] });
    const next = obj({ ...deleting.metadata, finalizers: ['a.io/x', 'b.io/y'] });
    assert.deepEqual(validateObjectMeta(entry('ConfigMap'), next, deleting), [
      {
        reason: 'FieldValueForbidden',
        message: 'Forbidden: no new finalizers can be added if the object is being deleted, found new finalizers []string{"b.io/y"}',
        field: 'metadata.finalizers',
      },
    ]);
  });
});
