import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseJson } from './codec.js';

test('parseJson reports repeated keys with their paths, as upstream’s strict decoder', () => {
  const dups: string[] = [];
  const v = parseJson(
    '{"spec":{"replicas":1,"template":{"spec":{"containers":[{"name":"a","image":"x"},{"name":"b","name":"c","args":["a,b",{"k":1,"k":2}]}]}},"replicas":2},"kind":"Deployment","we\\"ird":1,"we\\"ird":2}',
    dups,
  ) as any;
  assert.deepEqual(dups, ['spec.template.spec.containers[1].name', 'spec.template.spec.containers[1].args[1].k', 'spec.replicas', 'we"ird']);
  // The last value wins, as in Go.
  assert.equal(v.spec.replicas, 2);
  assert.equal(v.spec.template.spec.containers[1].name, 'c');
});

test('parseJson without duplicates reports none, and strings with colons and braces do not confuse it', () => {
  const dups: string[] = [];
  parseJson('{"a":"x:{y}","b":["{","}",":"],"c":{"a":1},"d":[{"a":1},{"a":2}]}', dups);
  assert.deepEqual(dups, []);
});
