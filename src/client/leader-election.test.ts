import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startInProcessCluster, type InProcessCluster } from '../../test/harness/in-process.js';
import type { Client } from './interface.js';
import { LEASES, LeaderElector, microTime } from './leader-election.js';

const NS = 'kube-system';

/** A candidate with short durations, counting its callbacks. */
function candidate(client: Client, name: string, identity: string) {
  const calls = { started: 0, stopped: 0 };
  const elector = new LeaderElector({
    client,
    namespace: NS,
    name,
    identity,
    leaseDurationSeconds: 1,
    renewDeadlineSeconds: 0.6,
    retryPeriodSeconds: 0.1,
    onStartedLeading: () => calls.started++,
    onStoppedLeading: () => calls.stopped++,
  });
  return { elector, calls };
}

/**
 * Polls `check` every 20 ms until it is true, bounded by attempts rather than the clock. `sample`
 * runs on every poll too, to assert an invariant all along the way.
 */
async function eventually(what: string, check: () => boolean, sample: () => void = () => {}, attempts = 400): Promise<void> {
  for (let i = 0; i < attempts; i++) {
    sample();
    if (check()) return;
    await new Promise((r) => setTimeout(r, 20));
  }
  assert.fail(`timed out waiting for ${what}`);
}

/** Polls for a while, asserting `sample` on every poll. */
async function during(polls: number, sample: () => void): Promise<void> {
  for (let i = 0; i < polls; i++) {
    sample();
    await new Promise((r) => setTimeout(r, 20));
  }
}

function atMostOneLeader(...electors: LeaderElector[]): () => void {
  return () => assert.ok(electors.filter((e) => e.isLeader()).length <= 1, 'two leaders at once');
}

describe('LeaderElector', () => {
  let cluster: InProcessCluster;
  let client: Client;
  const electors: LeaderElector[] = [];

  before(async () => {
    cluster = await startInProcessCluster('leader-election');
    client = cluster.client;
  });

  after(async () => {
    for (const e of electors) await e.abandon();
    await cluster.stop();
  });

  function pair(name: string) {
    const a = candidate(client, name, 'a');
    const b = candidate(client, name, 'b');
    electors.push(a.elector, b.elector);
    return [a, b] as const;
  }

  it('writes MicroTime strings', () => {
    assert.equal(microTime(new Date(Date.UTC(2026, 10, 23, 6, 42, 2, 123))), '2026-11-23T06:42:02.123000Z');
  });

  it('rejects durations client-go rejects', () => {
    const base = { client: {} as Client, namespace: NS, name: 'x', identity: 'a', onStartedLeading() {}, onStoppedLeading() {} };
    assert.throws(() => new LeaderElector({ ...base, leaseDurationSeconds: 1, renewDeadlineSeconds: 1 }), /leaseDuration/);
    assert.throws(() => new LeaderElector({ ...base, renewDeadlineSeconds: 2, retryPeriodSeconds: 2 }), /renewDeadline/);
    assert.throws(() => new LeaderElector({ ...base, identity: '' }), /identity/);
  });

  it('elects exactly one of two candidates, and creates the Lease', async () => {
    const [a, b] = pair('one');
    a.elector.start();
    b.elector.start();
    const check = atMostOneLeader(a.elector, b.elector);
    await eventually('a leader', () => a.elector.isLeader() || b.elector.isLeader(), check);
    // Leadership stays put while the leader renews.
    await during(50, () => {
      check();
      assert.ok(a.elector.isLeader() || b.elector.isLeader(), 'the leader kept leading');
    });
    const leader = a.elector.isLeader() ? a : b;
    const follower = leader === a ? b : a;
    assert.equal(leader.calls.started, 1);
    assert.equal(leader.calls.stopped, 0);
    assert.equal(follower.calls.started, 0);

    const lease = await client.get(LEASES, NS, 'one');
    assert.equal(lease.spec.holderIdentity, leader === a ? 'a' : 'b');
    assert.equal(lease.spec.leaseDurationSeconds, 1);
    assert.equal(lease.spec.leaseTransitions, 0);
    assert.match(lease.spec.renewTime, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/);
    assert.match(lease.spec.acquireTime, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/);

    // The leader renews: renewTime moves on, acquireTime stays.
    const before = lease.spec.renewTime as string;
    let renewed = lease;
    for (let i = 0; i < 100 && renewed.spec.renewTime === before; i++) {
      await new Promise((r) => setTimeout(r, 20));
      renewed = await client.get(LEASES, NS, 'one');
    }
    assert.notEqual(renewed.spec.renewTime, before);
    assert.equal(renewed.spec.acquireTime, lease.spec.acquireTime);
    assert.equal(renewed.spec.holderIdentity, lease.spec.holderIdentity);

    await a.elector.stop();
    await b.elector.stop();
  });

  it('hands over at once when the leader stops and releases', async () => {
    const [a, b] = pair('release');
    a.elector.start();
    const check = atMostOneLeader(a.elector, b.elector);
    await eventually('a leads', () => a.elector.isLeader(), check);
    b.elector.start();
    await during(10, check);
    assert.equal(b.elector.isLeader(), false);

    await a.elector.stop();
    assert.equal(a.elector.isLeader(), false);
    assert.equal(a.calls.stopped, 1);
    const released = await client.get(LEASES, NS, 'release');
    assert.ok(!released.spec.holderIdentity, 'holder cleared on release');

    await eventually('b leads', () => b.elector.isLeader(), check);
    const lease = await client.get(LEASES, NS, 'release');
    assert.equal(lease.spec.holderIdentity, 'b');
    assert.equal(lease.spec.leaseTransitions, 1);
    assert.equal(a.calls.started, 1);
    assert.equal(b.calls.started, 1);

    await b.elector.stop();
    assert.equal(b.calls.stopped, 1);
    assert.equal(a.calls.stopped, 1, 'stop called back once');
  });

  it('takes over an abandoned lease once it expires, counting the transition', async () => {
    const [a, b] = pair('abandon');
    a.elector.start();
    const check = atMostOneLeader(a.elector, b.elector);
    await eventually('a leads', () => a.elector.isLeader(), check);
    b.elector.start();
    await during(10, check);
    const held = await client.get(LEASES, NS, 'abandon');
    assert.equal(held.spec.holderIdentity, 'a');
    assert.equal(held.spec.leaseTransitions, 0);

    await a.elector.abandon();
    assert.equal(a.calls.stopped, 0, 'a dead process calls nothing back');
    const kept = await client.get(LEASES, NS, 'abandon');
    assert.equal(kept.spec.holderIdentity, 'a', 'the lease is not released');

    await eventually('b takes over', () => b.elector.isLeader(), check);
    const lease = await client.get(LEASES, NS, 'abandon');
    assert.equal(lease.spec.holderIdentity, 'b');
    assert.equal(lease.spec.leaseTransitions, 1);
    assert.notEqual(lease.spec.acquireTime, held.spec.acquireTime);
    await b.elector.stop();
  });

  it('stops leading when someone else takes the lease, and never leads alongside', async () => {
    const [a, b] = pair('contended');
    a.elector.start();
    b.elector.start();
    const check = atMostOneLeader(a.elector, b.elector);
    await eventually('a leader', () => a.elector.isLeader() || b.elector.isLeader(), check);
    const leader = a.elector.isLeader() ? a : b;

    // An outsider overwrites the lease: the leader must notice and step down, and the follower must
    // wait out the outsider's lease duration rather than grab it.
    const current = await client.get(LEASES, NS, 'contended');
    const now = microTime();
    await client.update(LEASES, NS, {
      ...current,
      metadata: { ...current.metadata },
      spec: { ...current.spec, holderIdentity: 'outsider', acquireTime: now, renewTime: now, leaseTransitions: current.spec.leaseTransitions + 1 },
    });
    await eventually('the leader steps down', () => !leader.elector.isLeader(), check);
    assert.equal(leader.calls.stopped, 1);

    // The outsider never renews: one of the two takes over after its lease expires.
    await eventually('a new leader', () => a.elector.isLeader() || b.elector.isLeader(), check);
    await during(20, check);
    const lease = await client.get(LEASES, NS, 'contended');
    assert.ok(lease.spec.holderIdentity === 'a' || lease.spec.holderIdentity === 'b');
    assert.equal(lease.spec.leaseTransitions, 2);
    await a.elector.stop();
    await b.elector.stop();
  });
});
