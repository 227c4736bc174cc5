import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { FlowControl } from './flow-control.js';
import { parseRequestInfo } from '../request-info.js';
import type { UserInfo } from '../auth/user.js';
import type { PriorityLevelSpec } from './bootstrap.js';

const req = (method: string, path: string) => parseRequestInfo(method, path, new URLSearchParams());
const user = (name: string, ...groups: string[]): UserInfo => ({ name, groups: [...groups, 'system:authenticated'] });

describe('flow control: classification (upstream bootstrap flow schemas)', () => {
  const fc = new FlowControl();
  const levelOf = (u: UserInfo, method: string, path: string) => {
    const c = fc.classify(u, req(method, path));
    return `${c.schema.name}/${c.level.name}`;
  };

  it('puts each kind of client on its priority level', () => {
    const cases: [UserInfo, string, string, string][] = [
      [user('kubernetes-admin', 'system:masters'), 'GET', '/api/v1/pods', 'exempt/exempt'],
      [{ name: 'system:anonymous', groups: ['system:unauthenticated'] }, 'GET', '/livez', 'probes/exempt'],
      [user('jane'), 'GET', '/readyz', 'probes/exempt'],
      [user('system:node:n1', 'system:nodes'), 'PUT', '/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/n1', 'system-node-high/node-high'],
      [user('system:node:n1', 'system:nodes'), 'PATCH', '/api/v1/nodes/n1/status', 'system-node-high/node-high'],
      [user('system:node:n1', 'system:nodes'), 'GET', '/api/v1/pods', 'system-nodes/system'],
      [user('system:kube-controller-manager'), 'PUT', '/apis/coordination.k8s.io/v1/namespaces/kube-system/leases/kube-controller-manager', 'system-leader-election/leader-election'],
      [user('system:kube-controller-manager'), 'GET', '/api/v1/pods', 'kube-controller-manager/workload-high'],
      [user('system:kube-scheduler'), 'POST', '/api/v1/namespaces/a/pods/p/binding', 'kube-scheduler/workload-high'],
      [user('system:serviceaccount:kube-system:job-controller', 'system:serviceaccounts', 'system:serviceaccounts:kube-system'), 'GET', '/apis/batch/v1/jobs', 'kube-system-service-accounts/workload-high'],
      [user('system:serviceaccount:apps:builder', 'system:serviceaccounts', 'system:serviceaccounts:apps'), 'GET', '/api/v1/namespaces/apps/pods', 'service-accounts/workload-low'],
      [user('system:serviceaccount:apps:op', 'system:serviceaccounts', 'system:serviceaccounts:apps'), 'PUT', '/apis/coordination.k8s.io/v1/namespaces/apps/leases/op', 'workload-leader-election/leader-election'],
      [user('jane', 'devs'), 'GET', '/api/v1/namespaces/a/configmaps', 'global-default/global-default'],
      [{ name: 'system:anonymous', groups: ['system:unauthenticated'] }, 'GET', '/version', 'global-default/global-default'],
      [{ name: 'odd', groups: [] }, 'GET', '/version', 'catch-all/catch-all'],
    ];
    for (const [u, m, p, want] of cases) assert.equal(levelOf(u, m, p), want, `${u.name} ${m} ${p}`);
  });

  it("shares upstream's 600 seats by nominal concurrency shares", () => {
    const limits = Object.fromEntries(fc.stats().map((s) => [s.name, s.concurrencyLimit]));
    assert.deepEqual(limits, {
      exempt: Infinity,
      system: 74,
      'node-high': 98,
      'leader-election': 25,
      'workload-high': 98,
      'workload-low': 245,
      'global-default': 49,
      'catch-all': 13,
    });
  });

  it('hashes flows by user: two users land in different flows, one user always in the same', () => {
    const a1 = fc.classify(user('a'), req('GET', '/version'));
    const a2 = fc.classify(user('a'), req('GET', '/api/v1/pods'));
    const b = fc.classify(user('b'), req('GET', '/version'));
    assert.equal(a1.flowHash, a2.flowHash);
    assert.notEqual(a1.flowHash, b.flowHash);
  });
});

describe('flow control: seats and queues', () => {
  const levels: PriorityLevelSpec[] = [
    { name: 'exempt', exempt: true, nominalConcurrencyShares: 0, queues: 0, handSize: 0, queueLengthLimit: 0 },
    { name: 'global-default', nominalConcurrencyShares: 1, queues: 16, handSize: 4, queueLengthLimit: 3 },
    { name: 'catch-all', nominalConcurrencyShares: 1, queues: 0, handSize: 0, queueLengthLimit: 0 },
  ];
  const list = req('GET', '/api/v1/configmaps');

  it('admits up to the level\'s seats, queues the rest, rejects when the queue is full', async () => {
    const fc = new FlowControl({ concurrencyLimit: 4, levels, queueWaitMs: 60_000 });
    const c = fc.classify(user('a'), list);
    assert.equal(c.level.concurrencyLimit, 2);
    assert.equal(fc.acquire(c), true);
    assert.equal(fc.acquire(c), true);
    const queued = [fc.acquire(c), fc.acquire(c), fc.acquire(c)];
    for (const q of queued) assert.ok(q instanceof Promise);
    // One flow's shortest queue holds 3; it has room in other queues of its hand.
    const more = [];
    for (let i = 0; i < 20; i++) more.push(fc.acquire(c));
    assert.ok(more.includes(false), 'a flow that filled every queue of its hand is rejected');
    assert.ok(c.level.rejected > 0);
    // Release everything: each queued request gets a seat in turn.
    let admitted = 0;
    const waiting = [...queued, ...more].filter((p): p is Promise<boolean> => p instanceof Promise);
    for (const p of waiting) void p.then((ok) => ok && admitted++);
    for (let i = 0; i < 2 + waiting.length; i++) fc.release(c);
    await new Promise((r) => setImmediate(r));
    assert.equal(admitted, waiting.length);
    assert.equal(c.level.executing, 0);
    assert.equal(c.level.waiting, 0);
  });

  it('serves flows in turn: a quiet flow does not wait behind a busy one', async () => {
    const fc = new FlowControl({ concurrencyLimit: 2, levels, queueWaitMs: 60_000 });
    const busy = fc.classify(user('busy'), list);
    const quiet = fc.classify(user('quiet'), list);
    assert.equal(busy.level.concurrencyLimit, 1);
    assert.equal(fc.acquire(busy), true);
    const order: string[] = [];
    const track = (who: string, p: boolean | Promise<boolean>) => {
      assert.ok(p instanceof Promise);
      void p.then(() => order.push(who));
    };
    for (let i = 0; i < 3; i++) track('busy', fc.acquire(busy));
    track('quiet', fc.acquire(quiet));
    for (let i = 0; i < 4; i++) {
      fc.release(busy);
      await new Promise((r) => setImmediate(r));
    }
    assert.ok(order.indexOf('quiet') <= 1, `quiet flow served at position ${order.indexOf('quiet')} of ${order.join(',')}`);
  });

  it('rejects a request that waited longer than the queue wait limit', async () => {
    const fc = new FlowControl({ concurrencyLimit: 2, levels, queueWaitMs: 20 });
    const c = fc.classify(user('a'), list);
    assert.equal(fc.acquire(c), true);
    const p = fc.acquire(c);
    assert.ok(p instanceof Promise);
    assert.equal(await p, false);
    assert.equal(c.level.waiting, 0);
    assert.equal(c.level.rejected, 1);
    fc.release(c);
    assert.equal(c.level.executing, 0);
  });

  it('rejects at once on a level without queues (catch-all), and never limits exempt', () => {
    const fc = new FlowControl({ concurrencyLimit: 2, levels });
    const odd = fc.classify({ name: 'odd', groups: [] }, list);
    assert.equal(odd.level.name, 'catch-all');
    assert.equal(fc.acquire(odd), true);
    assert.equal(fc.acquire(odd), false);
    const admin = fc.classify(user('admin', 'system:masters'), list);
    for (let i = 0; i < 1000; i++) assert.equal(fc.acquire(admin), true);
  });

  it('forgets a queued request whose client went away', async () => {
    const fc = new FlowControl({ concurrencyLimit: 2, levels, queueWaitMs: 60_000 });
    const c = fc.classify(user('a'), list);
    assert.equal(fc.acquire(c), true);
    let w: Parameters<typeof fc.abandon>[1] | undefined;
    const p = fc.acquire(c, (x) => (w = x));
    assert.ok(p instanceof Promise && w);
    fc.abandon(c, w);
    assert.equal(c.level.waiting, 0);
    fc.release(c);
    assert.equal(c.level.executing, 0);
  });
});
