import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ResourceRef } from '../../client/interface.js';
import { startInProcessCluster, refusal } from '../../../test/harness/in-process.js';
import { PODS } from '../../controllers/pods.js';

const PRIORITY_CLASSES: ResourceRef = { group: 'scheduling.k8s.io', version: 'v1', resource: 'priorityclasses' };
const pod = (name: string, spec: Record<string, unknown> = {}) => ({ apiVersion: 'v1', kind: 'Pod', metadata: { name }, spec: { containers: [{ name: 'c', image: 'busybox' }], ...spec } });
const pc = (name: string, value: number, more: Record<string, unknown> = {}) => ({ apiVersion: 'scheduling.k8s.io/v1', kind: 'PriorityClass', metadata: { name }, value, ...more });


test('Priority: classes resolve to spec.priority, the system classes exist, unknown classes and made-up priorities are refused', async () => {
  const c = await startInProcessCluster('priority');
  try {
    const system = (await c.client.list(PRIORITY_CLASSES, '')).items.map((o) => [o.metadata!.name, o.value, o.preemptionPolicy]);
    assert.deepEqual(system, [
      ['system-cluster-critical', 2000000000, 'PreemptLowerPriority'],
      ['system-node-critical', 2000001000, 'PreemptLowerPriority'],
    ]);

    const plain = await c.client.create(PODS, 'default', pod('plain'));
    assert.equal(plain.spec.priority, 0);
    assert.equal(plain.spec.preemptionPolicy, 'PreemptLowerPriority');

    const crit = await c.client.create(PODS, 'default', pod('crit', { priorityClassName: 'system-node-critical' }));
    assert.equal(crit.spec.priority, 2000001000);

    await c.client.create(PRIORITY_CLASSES, '', pc('polite', 500, { preemptionPolicy: 'Never' }));
    const polite = await c.client.create(PODS, 'default', pod('polite', { priorityClassName: 'polite' }));
    assert.equal(polite.spec.priority, 500);
    assert.equal(polite.spec.preemptionPolicy, 'Never');

    let err = await refusal(c.client.create(PODS, 'default', pod('nope', { priorityClassName: 'nope' })));
    assert.equal(err.code, 403);
    assert.equal(err.message, 'pods "nope" is forbidden: no PriorityClass with name nope was found');
    err = await refusal(c.client.create(PODS, 'default', pod('cheat', { priorityClassName: 'polite', priority: 7 })));
    assert.equal(err.message, 'pods "cheat" is forbidden: the integer value of priority (7) must not be provided in pod spec; priority admission controller computed 500 from the given PriorityClass name');

    // One global default, which pods without a class then get.
    await c.client.create(PRIORITY_CLASSES, '', pc('usual', 100, { globalDefault: true }));
    err = await refusal(c.client.create(PRIORITY_CLASSES, '', pc('another', 200, { globalDefault: true })));
    assert.equal(err.message, 'priorityclasses.scheduling.k8s.io "another" is forbidden: PriorityClass usual is already marked as default. Only one default can exist');
    const usual = await c.client.create(PODS, 'default', pod('usual'));
    assert.equal(usual.spec.priorityClassName, 'usual');
    assert.equal(usual.spec.priority, 100);
  } finally {
    await c.stop();
  }
});
