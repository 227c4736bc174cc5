import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ApiError } from '../api/errors.js';
import { decodeBody } from './codec.js';
import { MAX_NESTING_DEPTH, nestsDeeperThan, yamlDecodeProblem } from './nesting.js';
import { applyJsonPatch, applyMergePatch, applyStrategicMergePatch, PatchUnprocessableError } from './patch/index.js';

const YAML_TOO_DEEP = `error converting YAML to JSON: yaml: exceeded max depth of ${MAX_NESTING_DEPTH}`;
const JSON_TOO_DEEP = `json: exceeded max depth of ${MAX_NESTING_DEPTH}`;

/** `{"a":{"a":...1...}}`: `depth` levels of objects. */
const nestedMaps = (depth: number) => '{"a":'.repeat(depth) + '1' + '}'.repeat(depth);
/** `[[...]]`: `depth` levels of arrays. */
const nestedLists = (depth: number) => '['.repeat(depth) + ']'.repeat(depth);

function rejects400(body: string, contentType: string, message: string) {
  assert.throws(
    () => decodeBody(Buffer.from(body), contentType),
    (e: unknown) => e instanceof ApiError && e.code === 400 && e.reason === 'BadRequest' && e.message === message,
  );
}

test('a deeply nested body sent as YAML is a 400, not a stack overflow that can abort the server', () => {
  // The fuzz request that took `skiff up` down (seed 1433675979, #1273): JSON text, 50,000 lists
  // deep, sent as application/apply-patch+yaml, so the yaml library parsed it. Its composer ran
  // out of stack, and V8 aborted the process when it compiled a regexp at the stack's edge.
  const fuzzed = `{"metadata":{"name":"fz-deep"},"metadata":${nestedLists(50_000)}}`;
  rejects400(fuzzed, 'application/apply-patch+yaml', YAML_TOO_DEEP);
  for (let i = 0; i < 20; i++) rejects400(nestedMaps(10_000 + i), 'application/yaml', YAML_TOO_DEEP);
});

test('YAML: every way of nesting counts, up to the limit and no further', () => {
  const styles: Record<string, (depth: number) => string> = {
    'flow lists': nestedLists,
    'flow maps': nestedMaps,
    'block maps': (d) => Array.from({ length: d }, (_, i) => ' '.repeat(i) + 'a:').join('\n') + ' 1',
    'block lists': (d) => Array.from({ length: d }, (_, i) => ' '.repeat(i * 2) + '-').join('\n') + ' 1',
    'compact block lists': (d) => '- '.repeat(d) + '1',
    'block maps of flow lists': (d) => Array.from({ length: d / 2 }, (_, i) => ' '.repeat(i) + 'a: [').join('\n') + ']'.repeat(d / 2),
  };
  const tooDeep = `exceeded max depth of ${MAX_NESTING_DEPTH}`;
  for (const [style, make] of Object.entries(styles)) {
    assert.equal(yamlDecodeProblem(make(MAX_NESTING_DEPTH), MAX_NESTING_DEPTH), undefined, style);
    assert.equal(yamlDecodeProblem(make(MAX_NESTING_DEPTH + 2), MAX_NESTING_DEPTH), tooDeep, style);
    assert.ok(nestsDeeperThan(decodeBody(Buffer.from(make(MAX_NESTING_DEPTH)), 'application/yaml'), MAX_NESTING_DEPTH - 1), style);
    rejects400(make(MAX_NESTING_DEPTH + 2), 'application/yaml', YAML_TOO_DEEP);
  }
  // Later documents of a stream are walked too.
  assert.equal(yamlDecodeProblem(`a: 1\n---\n${nestedLists(MAX_NESTING_DEPTH + 1)}\n`, MAX_NESTING_DEPTH), tooDeep);
});

test('YAML: a collection as a map key is refused, as go-yaml does, before the library stringifies it', () => {
  // The yaml library would turn the key into a string, in time that grows with the cube of its
  // depth: a few kilobytes kept the event loop busy for seconds.
  const keys = (d: number) => '{['.repeat(d) + ']: 1}'.repeat(d);
  rejects400(keys(MAX_NESTING_DEPTH / 2), 'application/yaml', 'error converting YAML to JSON: yaml: invalid map key: []interface {}');
  rejects400('? {a: 1}\n: x\n', 'application/yaml', 'error converting YAML to JSON: yaml: invalid map key: map[interface {}]interface {}');
  rejects400('[? [a]]', 'application/yaml', 'error converting YAML to JSON: yaml: invalid map key: []interface {}');
  rejects400('? - a\n: x\n', 'application/yaml', 'error converting YAML to JSON: yaml: invalid map key: []interface {}');
  assert.deepEqual(decodeBody(Buffer.from('{? a: 1, b: 2}'), 'application/yaml'), { a: 1, b: 2 });
});

test('YAML: aliases cannot stack shallow anchors into a value deeper than the limit', () => {
  const level = 200;
  const lines = [`a0: &a0 ${nestedLists(level)}`];
  for (let i = 1; i <= 3; i++) lines.push(`a${i}: &a${i} ${'['.repeat(level)}*a${i - 1}${']'.repeat(level)}`);
  const text = lines.join('\n');
  assert.equal(yamlDecodeProblem(text, MAX_NESTING_DEPTH), undefined, 'no single node is deep in the text');
  rejects400(text, 'application/yaml', YAML_TOO_DEEP);
});

test('JSON: the same limit', () => {
  assert.ok(decodeBody(Buffer.from(nestedMaps(MAX_NESTING_DEPTH)), 'application/json'));
  rejects400(nestedMaps(MAX_NESTING_DEPTH + 1), 'application/json', JSON_TOO_DEEP);
  rejects400(`{"x":${nestedLists(MAX_NESTING_DEPTH)}}`, 'application/merge-patch+json', JSON_TOO_DEEP);
});

test('a body at the limit goes through every kind of patch', () => {
  const deep = JSON.parse(`{"spec":${nestedMaps(MAX_NESTING_DEPTH - 1)}}`);
  const original = { metadata: { name: 'x' }, spec: { a: { b: 1 } } };
  for (const result of [
    applyMergePatch(original, deep),
    applyStrategicMergePatch(original, deep, undefined, {}),
    applyJsonPatch(original, [{ op: 'replace', path: '/spec', value: deep.spec }]),
  ]) {
    assert.equal(nestsDeeperThan(result, MAX_NESTING_DEPTH), false);
    assert.equal(nestsDeeperThan(result, MAX_NESTING_DEPTH - 1), true);
  }
});

test('JSON patch: copies and moves cannot nest the document past the limit', () => {
  // Each copy of a subtree into itself doubles the depth: a few of them used to overflow the stack.
  const doc = { spec: JSON.parse(nestedLists(200)) };
  const into = (levels: number) => '/spec' + '/0'.repeat(levels) + '/-';
  const doubling = [0, 1, 2, 3, 4].map((i) => ({ op: 'copy', from: '/spec', path: into(200 * 2 ** i - 1) }));
  const cases: [string, unknown[]][] = [
    ['copy', doubling],
    ['move', [{ op: 'copy', from: '/spec', path: '/other' }, { op: 'move', from: '/other', path: into(199) }, { op: 'copy', from: '/spec', path: '/other' }, { op: 'move', from: '/other', path: into(399) }]],
    ['add', [{ op: 'add', path: into(199), value: JSON.parse(nestedLists(400)) }]],
    ['replace', [{ op: 'replace', path: '/spec' + '/0'.repeat(199), value: JSON.parse(nestedLists(400)) }]],
  ];
  for (const [op, ops] of cases) {
    assert.throws(
      () => applyJsonPatch(doc, ops),
      (e: unknown) => e instanceof PatchUnprocessableError && e.code === 422 && e.detail === `${op} operation does not apply: the result would be nested deeper than ${MAX_NESTING_DEPTH} levels`,
      op,
    );
  }
  // Up to the limit is fine: the root and the 200 lists of "spec", then 299 more lists.
  const atLimit = applyJsonPatch(doc, [{ op: 'add', path: into(199), value: JSON.parse(nestedLists(MAX_NESTING_DEPTH - 201)) }]);
  assert.equal(nestsDeeperThan(atLimit, MAX_NESTING_DEPTH), false);
  assert.equal(nestsDeeperThan(atLimit, MAX_NESTING_DEPTH - 1), true);
});

test('nestsDeeperThan walks shared and cyclic values without recursing', () => {
  assert.equal(nestsDeeperThan(1, 0), false);
  assert.equal(nestsDeeperThan({}, 0), true);
  assert.equal(nestsDeeperThan({ a: [] }, 2), false);
  assert.equal(nestsDeeperThan({ a: [] }, 1), true);
  assert.equal(nestsDeeperThan(JSON.parse(nestedLists(100_000)), 99_999), true);
  // Shared nodes, 2^60 paths: each node is walked once per depth it is met at, not once per path.
  let shared: unknown[] = [];
  for (let i = 0; i < 60; i++) shared = [shared, shared];
  assert.equal(nestsDeeperThan(shared, 61), false);
  assert.equal(nestsDeeperThan(shared, 60), true);
  const cyclic: unknown[] = [];
  cyclic.push(cyclic);
  assert.equal(nestsDeeperThan(cyclic, MAX_NESTING_DEPTH), true);
});
