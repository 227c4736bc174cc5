import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { KubeObject } from '../api/types.js';
import { applyRevision, controllerRevisionName, equalRevision, goJson, hashRevisionData, hashTemplate, nextRevision, safeEncodeString, sortRevisions, templatePatchBytes } from './history.js';

const TEMPLATE = {
  metadata: { annotations: { test: 'value' }, creationTimestamp: null, labels: { app: 'foo' } },
  spec: {
    containers: [{ image: 'test', imagePullPolicy: 'Always', name: 'test', resources: {}, terminationMessagePath: '/dev/termination-log', terminationMessagePolicy: 'File' }],
    dnsPolicy: 'ClusterFirst',
    restartPolicy: 'Always',
    schedulerName: 'default-scheduler',
    securityContext: {},
    terminationGracePeriodSeconds: 30,
  },
};

describe('controller revision history', () => {
  it('serializes the template patch as Go does and hashes it to upstream’s revision name', () => {
    // Upstream's pkg/controller/statefulset/testdata/compatibility_revision_1.33.0.json: StatefulSet
    // "test" with this template got revision "test-c77f6d978" (collision count 0).
    const set: KubeObject = { metadata: { name: 'test' }, spec: { template: TEMPLATE } };
    const bytes = templatePatchBytes(set);
    assert.ok(bytes.startsWith('{"spec":{"template":{"$patch":"replace","metadata":{"annotations":{"test":"value"},"creationTimestamp":null'));
    assert.equal(hashRevisionData(bytes, 0), 'c77f6d978');
    assert.equal(controllerRevisionName('test', hashRevisionData(bytes, 0)), 'test-c77f6d978');
  });

  it('escapes as encoding/json does and sorts keys', () => {
    assert.equal(goJson({ b: 1, a: '<a&b>', c: [true, null] }), '{"a":"\\u003ca\\u0026b\\u003e","b":1,"c":[true,null]}');
    assert.equal(safeEncodeString('0123456789'), '456789bcdf');
  });

  it('hashes templates deterministically, and differently per collision count', () => {
    assert.equal(hashTemplate(TEMPLATE), hashTemplate(structuredClone(TEMPLATE)));
    assert.notEqual(hashTemplate(TEMPLATE), hashTemplate(TEMPLATE, 1));
    assert.match(hashTemplate(TEMPLATE), /^[bcdfghjklmnpqrstvwxz2456789]{1,10}$/);
  });

  it('sorts, numbers, compares and applies revisions', () => {
    const rev = (name: string, revision: number, image: string): KubeObject => ({
      metadata: { name, creationTimestamp: '2024-01-01T00:00:00Z' },
      revision,
      data: { spec: { template: { $patch: 'replace', spec: { containers: [{ name: 'c', image }] } } } },
    });
    const sorted = sortRevisions([rev('b', 2, 'x'), rev('a', 3, 'y'), rev('c', 1, 'x')]);
    assert.deepEqual(
      sorted.map((r) => r.metadata!.name),
      ['c', 'b', 'a'],
    );
    assert.equal(nextRevision(sorted), 4);
    assert.equal(nextRevision([]), 1);
    assert.ok(equalRevision(sorted[0], sorted[1]));
    assert.ok(!equalRevision(sorted[0], sorted[2]));
    const applied = applyRevision({ metadata: { name: 's' }, spec: { replicas: 3, template: { spec: { containers: [] } } } }, sorted[2]);
    assert.deepEqual(applied.spec, { replicas: 3, template: { spec: { containers: [{ name: 'c', image: 'y' }] } } });
  });
});
