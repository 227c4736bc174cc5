import { test } from 'node:test';
import assert from 'node:assert/strict';
import { canonicalize, compareElements, difference, has, intersection, keyElement, memberPaths, pathString, union, type Fields } from './field-set.js';

// A Deployment's fields as upstream's kube-controller-manager records them (status through the subresource).
const UPSTREAM =
  '{"f:metadata":{"f:annotations":{".":{},"f:deployment.kubernetes.io/revision":{}}},"f:status":{"f:availableReplicas":{},"f:conditions":{".":{},"k:{\\"type\\":\\"Available\\"}":{".":{},"f:lastTransitionTime":{},"f:lastUpdateTime":{},"f:message":{},"f:reason":{},"f:status":{},"f:type":{}},"k:{\\"type\\":\\"Progressing\\"}":{".":{},"f:lastTransitionTime":{},"f:lastUpdateTime":{},"f:message":{},"f:reason":{},"f:status":{},"f:type":{}}},"f:observedGeneration":{},"f:readyReplicas":{},"f:replicas":{},"f:updatedReplicas":{}}}';

test('FieldsV1 round-trips byte for byte, and any key order comes out in upstream order', () => {
  assert.equal(JSON.stringify(canonicalize(JSON.parse(UPSTREAM))), UPSTREAM);
  const shuffled = { 'f:status': { 'f:replicas': {}, 'f:conditions': { 'k:{"type":"Progressing"}': { 'f:type': {}, '.': {} }, '.': {} } }, 'f:metadata': {} };
  assert.equal(
    JSON.stringify(canonicalize(shuffled)),
    '{"f:metadata":{},"f:status":{"f:conditions":{".":{},"k:{\\"type\\":\\"Progressing\\"}":{".":{},"f:type":{}}},"f:replicas":{}}}',
  );
  assert.throws(() => canonicalize({ 'x:nope': {} }), /invalid path element/);
  assert.throws(() => canonicalize({ 'f:a': [] }));
});

test('path elements sort as upstream: fields, keys, values, indices; keys by sorted field lists; numbers before strings', () => {
  const els = ['i:1', 'v:"b"', 'v:1', 'k:{"name":"b"}', 'k:{"a":1,"name":"z"}', 'f:z', 'f:a', 'k:{"name":"a"}', 'i:0'];
  assert.deepEqual([...els].sort(compareElements), ['f:a', 'f:z', 'k:{"a":1,"name":"z"}', 'k:{"name":"a"}', 'k:{"name":"b"}', 'v:1', 'v:"b"', 'i:0', 'i:1']);
  assert.equal(keyElement([['protocol', 'TCP'], ['containerPort', 80]]), 'k:{"containerPort":80,"protocol":"TCP"}');
});

test('union, difference and intersection keep "." for elements that are members and parents', () => {
  const a: Fields = { 'f:spec': { 'f:replicas': {}, 'f:template': { 'f:x': {} } } };
  const b: Fields = { 'f:spec': { 'f:template': {}, 'f:paused': {} } };
  const u = union(a, b);
  assert.deepEqual(u, { 'f:spec': { 'f:paused': {}, 'f:replicas': {}, 'f:template': { '.': {}, 'f:x': {} } } });
  assert.equal(JSON.stringify(Object.keys(u['f:spec'])), '["f:paused","f:replicas","f:template"]');
  // Difference removes members one by one, never whole subtrees.
  assert.deepEqual(difference(u, b), a);
  assert.deepEqual(difference(u, { 'f:spec': { 'f:template': { '.': {}, 'f:x': {} } } }), { 'f:spec': { 'f:paused': {}, 'f:replicas': {} } });
  assert.deepEqual(intersection(u, { 'f:spec': { 'f:template': { 'f:x': {} }, 'f:other': {} } }), { 'f:spec': { 'f:template': { 'f:x': {} } } });
  assert.deepEqual(difference(a, {}), a);
  assert.equal(difference(a, { 'f:status': {} }), a, 'untouched sets are shared, not copied');
  assert.ok(has(u, ['f:spec', 'f:template']));
  assert.ok(!has(a, ['f:spec', 'f:template']));
});

test('member paths iterate as upstream and print as conflict paths', () => {
  const set = canonicalize({
    'f:spec': {
      'f:replicas': {},
      'f:template': { 'f:spec': { 'f:containers': { 'k:{"name":"nginx"}': { 'f:image': {} } } } },
      'f:finalizers': { 'v:"a"': {} },
      'f:ports': { 'k:{"port":80,"protocol":"TCP"}': { '.': {} } },
    },
  });
  assert.deepEqual(memberPaths(set).map(pathString), [
    '.spec.replicas',
    '.spec.finalizers[="a"]',
    '.spec.ports[port=80,protocol="TCP"]',
    '.spec.template.spec.containers[name="nginx"].image',
  ]);
});
