import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startInProcessCluster, CountingClient } from '../../test/harness/in-process.js';
import { EventRecorder } from './events.js';
import { EVENTS } from '../controllers/pods.js';

const owner = { apiVersion: 'apps/v1', kind: 'ReplicaSet', metadata: { name: 'web-1', namespace: 'default', uid: 'u-1', resourceVersion: '5' } };

test('an event is written once, and repeats are counted on it instead of written anew', async () => {
  const c = await startInProcessCluster('events');
  try {
    let now = Date.parse('2026-01-01T00:00:00Z');
    const client = new CountingClient(c.server);
    const r = new EventRecorder(client, { component: 'replicaset-controller' }, { now: () => now });
    r.event(owner, 'Normal', 'SuccessfulCreate', 'Created pod: web-1-abc');
    now += 2000;
    r.event(owner, 'Normal', 'SuccessfulCreate', 'Created pod: web-1-abc');
    r.event(owner, 'Warning', 'FailedCreate', 'Error creating: quota');
    await r.flush();
    const events = (await c.client.list(EVENTS, 'default')).items.sort((a, b) => a.reason.localeCompare(b.reason));
    assert.equal(events.length, 2);
    const [failed, created] = events;
    assert.equal(created.count, 2);
    assert.equal(created.firstTimestamp, '2026-01-01T00:00:00Z');
    assert.equal(created.lastTimestamp, '2026-01-01T00:00:02Z');
    assert.deepEqual(created.involvedObject, { kind: 'ReplicaSet', namespace: 'default', name: 'web-1', uid: 'u-1', apiVersion: 'apps/v1', resourceVersion: '5' });
    assert.deepEqual(created.source, { component: 'replicaset-controller' });
    assert.match(created.metadata?.name ?? '', /^web-1\.[0-9a-f]+$/);
    assert.equal(failed.type, 'Warning');
    assert.equal(failed.count, 1);
    assert.equal(client.writes, 3);
  } finally {
    await c.stop();
  }
});

test('a hot loop on one object is cut off by the spam filter (burst 25)', async () => {
  const c = await startInProcessCluster('events-spam');
  try {
    const r = new EventRecorder(c.client, { component: 'x' });
    for (let i = 0; i < 40; i++) r.event(owner, 'Normal', 'Loop', `message ${i}`);
    await r.flush();
    assert.equal((await c.client.list(EVENTS, 'default')).items.length, 25);
  } finally {
    await c.stop();
  }
});
