import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { KubeObject } from '../../api/types.js';
import { podCidrFor, resolveConfig } from './config.js';
import { PodAddressPool } from './ipam.js';
import { ConcurrencyLimiter } from './limiter.js';
import { freshRecords, generatePodStatus, podPhase, recordsFromStatus, type ContainerRecord } from '../status/pod-status.js';
import { goDuration } from '../../api/go-duration.js';
import { programOf } from './runtime.js';
import { CoalescingWriter } from '../status/writer.js';

const tick = () => new Promise((r) => setImmediate(r));

describe('coalescing writer', () => {
  it('writes a key once for requests made while it waited, and once more for requests made while it was written', async () => {
    const writer = new CoalescingWriter(1);
    const log: string[] = [];
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    writer.request('blocker', async () => {
      log.push('blocker');
      await gate;
    });
    for (const v of ['pending', 'running']) writer.request('pod', async () => void log.push(`pod:${v}`));
    release();
    await writer.idle();
    assert.deepEqual(log, ['blocker', 'pod:running'], 'only the latest state went out');

    let finish!: () => void;
    const slow = new Promise<void>((r) => (finish = r));
    writer.request('pod', async () => {
      log.push('pod:first');
      await slow;
    });
    await tick();
    writer.request('pod', async () => void log.push('pod:second'));
    writer.request('pod', async () => void log.push('pod:third'));
    finish();
    await writer.idle();
    assert.deepEqual(log.slice(2), ['pod:first', 'pod:third']);
  });

  it('never has more than its limit in flight, and forgets what a gone pod wanted', async () => {
    const writer = new CoalescingWriter(3);
    let inFlight = 0;
    let max = 0;
    const done: string[] = [];
    for (let i = 0; i < 20; i++) {
      writer.request(`k${i}`, async () => {
        max = Math.max(max, ++inFlight);
        await tick();
        inFlight--;
        done.push(`k${i}`);
      });
    }
    writer.forget('k19');
    await writer.idle();
    assert.equal(max, 3);
    assert.equal(done.length, 19);
    assert.ok(!done.includes('k19'));
  });
});

describe('concurrency limiter', () => {
  it('runs at most its limit at once, in order', async () => {
    const limiter = new ConcurrencyLimiter(2);
    let running = 0;
    let max = 0;
    const order: number[] = [];
    await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        limiter.run(async () => {
          max = Math.max(max, ++running);
          await tick();
          running--;
          order.push(i);
        }),
      ),
    );
    assert.equal(max, 2);
    assert.deepEqual(order, [...order].sort((a, b) => a - b));
  });
});

describe('pod address pool', () => {
  it('hands out .2 upwards, skips what is taken, and does not hand a freed address straight back', () => {
    const pool = new PodAddressPool('10.244.3.0/24');
    assert.equal(pool.allocate(), '10.244.3.2');
    assert.equal(pool.allocate(), '10.244.3.3');
    assert.ok(pool.reserve('10.244.3.4'));
    assert.ok(!pool.reserve('10.244.3.4'), 'taken');
    assert.ok(!pool.reserve('10.244.4.9'), 'outside');
    assert.equal(pool.allocate(), '10.244.3.5');
    pool.release('10.244.3.2');
    assert.equal(pool.allocate(), '10.244.3.6');
  });

  it('runs dry after 253 addresses and recovers on release', () => {
    const pool = new PodAddressPool('10.0.0.0/24');
    const got = new Set<string>();
    for (let i = 0; i < 253; i++) got.add(pool.allocate()!);
    assert.equal(got.size, 253);
    assert.ok(!got.has('10.0.0.1') && !got.has('10.0.0.255') && !got.has('10.0.0.0'));
    assert.equal(pool.allocate(), undefined);
    pool.release('10.0.0.77');
    assert.equal(pool.allocate(), '10.0.0.77');
  });
});

describe('simulated agent config', () => {
  it('gives node n the n-th /24 of the base, carrying on past the base for big clusters', () => {
    assert.equal(podCidrFor('10.244.0.0/16', 0), '10.244.0.0/24');
    assert.equal(podCidrFor('10.244.0.0/16', 255), '10.244.255.0/24');
    assert.equal(podCidrFor('10.244.0.0/16', 256), '10.245.0.0/24');
    assert.equal(podCidrFor('10.244.0.0/16', 4999), '11.7.135.0/24');
    assert.equal(podCidrFor('10.244.7.9/16', 1), '10.244.1.0/24');
    assert.throws(() => resolveConfig({ count: 1, podCidrBase: 'nonsense' }), /podCidrBase/);
    assert.throws(() => resolveConfig({ count: -1 }), /count/);
    assert.throws(() => resolveConfig({ count: 1, renewIntervalMs: 0 }), /renewIntervalMs/);
  });
});

describe('simulated container programs', () => {
  const cfg = (restartPolicy: string, podAnnotations: Record<string, string> = {}) => ({ name: 'c', image: 'i', kind: 'regular' as const, podAnnotations, restartPolicy });
  it('run forever under Always, finish under Never/OnFailure, and follow the annotations', () => {
    assert.deepEqual(programOf(cfg('Always'), 1000), { exitCode: 0 });
    assert.deepEqual(programOf(cfg('Never'), 1000), { runMs: 1000, exitCode: 0 });
    assert.deepEqual(programOf(cfg('OnFailure', { 'skiff.dev/simulated-exit-code': '4' }), 1000), { runMs: 1000, exitCode: 4 });
    assert.deepEqual(programOf(cfg('Always', { 'skiff.dev/simulated-exit-code': '1' }), 1000), { runMs: 1000, exitCode: 1 });
    assert.deepEqual(programOf(cfg('Always', { 'skiff.dev/simulated-run-ms': '25' }), 1000), { runMs: 25, exitCode: 0 });
    // Nonsense annotations are ignored, not fatal.
    assert.deepEqual(programOf(cfg('Never', { 'skiff.dev/simulated-exit-code': 'boom', 'skiff.dev/simulated-run-ms': '-5' }), 1000), { runMs: 1000, exitCode: 0 });
  });
});

describe('Go durations', () => {
  it('print as time.Duration does', () => {
    assert.equal(goDuration(0), '0s');
    assert.equal(goDuration(523), '523ms');
    assert.equal(goDuration(1500), '1.5s');
    assert.equal(goDuration(10_000), '10s');
    assert.equal(goDuration(300_000), '5m0s');
    assert.equal(goDuration(3_723_000), '1h2m3s');
    assert.equal(goDuration(60_500), '1m0.5s');
  });
});

describe('kubelet pod status', () => {
  const NOW = Date.parse('2030-01-01T00:00:10Z');
  const pod = (spec: Record<string, unknown>, status: Record<string, unknown> = {}): KubeObject => ({
    metadata: { name: 'p', namespace: 'ns', uid: 'u' },
    spec: { restartPolicy: 'Always', containers: [{ name: 'app', image: 'img' }], ...spec },
    status: { phase: 'Pending', ...status },
  });
  const running = (r: ContainerRecord): ContainerRecord => ({ ...r, state: 'running', waiting: undefined, id: 'sim://1', imageRef: 'sim://img', startedAt: NOW - 5000 });

  it('is Pending with ContainerCreating, then Running with every condition True', () => {
    const p = pod({}, { conditions: [{ type: 'PodScheduled', status: 'True', lastTransitionTime: '2030-01-01T00:00:00Z' }] });
    const { init, regular } = freshRecords(p);
    const input = { pod: p, hostIP: '10.10.0.1', sandboxReady: false, startTime: NOW, init, regular, terminal: false, readiness: true, now: NOW };
    const pending = generatePodStatus(input);
    assert.equal(pending.phase, 'Pending');
    assert.deepEqual((pending.containerStatuses as any[])[0].state, { waiting: { reason: 'ContainerCreating' } });
    assert.deepEqual(
      (pending.conditions as any[]).map((c) => [c.type, c.status, c.reason ?? '', c.message ?? '']),
      [
        ['PodReadyToStartContainers', 'False', '', ''],
        ['Initialized', 'True', '', ''],
        ['Ready', 'False', 'ContainersNotReady', 'containers with unready status: [app]'],
        ['ContainersReady', 'False', 'ContainersNotReady', 'containers with unready status: [app]'],
        ['PodScheduled', 'True', '', ''],
      ],
    );
    assert.equal(pending.podIP, undefined);

    const up = generatePodStatus({ ...input, sandboxReady: true, podIP: '10.244.0.2', regular: regular.map(running) });
    assert.equal(up.phase, 'Running');
    assert.deepEqual((up.conditions as any[]).map((c) => c.status), ['True', 'True', 'True', 'True', 'True']);
    assert.equal((up.conditions as any[])[4].lastTransitionTime, '2030-01-01T00:00:00Z', 'the scheduler’s condition is kept');
    assert.deepEqual(up.podIPs, [{ ip: '10.244.0.2' }]);
    assert.equal(up.qosClass, 'BestEffort');
  });

  it('keeps conditions it does not own first, and reports unmet readiness gates', () => {
    const p = pod(
      { readinessGates: [{ conditionType: 'example.com/lb' }] },
      { conditions: [{ type: 'example.com/lb', status: 'False', lastTransitionTime: '2030-01-01T00:00:00Z' }] },
    );
    const { init, regular } = freshRecords(p);
    const s = generatePodStatus({ pod: p, hostIP: 'h', podIP: 'i', sandboxReady: true, startTime: NOW, init, regular: regular.map(running), terminal: false, readiness: true, now: NOW });
    const conditions = s.conditions as any[];
    assert.equal(conditions[0].type, 'example.com/lb');
    const ready = conditions.find((c) => c.type === 'Ready');
    assert.equal(ready.status, 'False');
    assert.equal(ready.reason, 'ReadinessGatesNotReady');
    assert.equal(ready.message, 'the status of pod readiness gate "example.com/lb" is not "True", but False');
    assert.equal(conditions.find((c) => c.type === 'ContainersReady').status, 'True');
  });

  it('reports init containers as upstream: PodInitializing, then Initialized once they completed', () => {
    const p = pod({ initContainers: [{ name: 'setup', image: 'img' }] });
    const { init, regular } = freshRecords(p);
    assert.deepEqual([...init, ...regular].map((r) => r.waiting?.reason), ['PodInitializing', 'PodInitializing']);
    const base = { pod: p, hostIP: 'h', podIP: 'i', sandboxReady: true, startTime: NOW, regular, terminal: false, readiness: true, now: NOW };
    const initializing = generatePodStatus({ ...base, init: init.map(running) });
    assert.equal(initializing.phase, 'Pending');
    const initialized = (initializing.conditions as any[]).find((c) => c.type === 'Initialized');
    assert.equal(initialized.reason, 'ContainersNotInitialized');
    assert.equal(initialized.message, 'containers with incomplete status: [setup]');
    const done = init.map((r) => ({ ...r, state: 'terminated' as const, terminated: { exitCode: 0, reason: 'Completed', finishedAt: NOW } }));
    const after = generatePodStatus({ ...base, init: done });
    assert.equal((after.conditions as any[]).find((c) => c.type === 'Initialized').status, 'True');
    assert.equal((after.initContainerStatuses as any[])[0].ready, true);
  });

  it('computes the phase as upstream getPhase does', () => {
    const exited = (code: number): ContainerRecord => ({
      name: 'app',
      image: 'img',
      kind: 'regular',
      state: 'terminated',
      terminated: { exitCode: code, reason: code === 0 ? 'Completed' : 'Error', finishedAt: NOW },
      restartCount: 0,
    });
    const looping: ContainerRecord = { ...exited(1), state: 'waiting', terminated: undefined, waiting: { reason: 'CrashLoopBackOff' }, last: exited(1).terminated };
    const p = (restartPolicy: string) => pod({ restartPolicy });
    assert.equal(podPhase(p('Never'), [], [exited(0)], false), 'Succeeded');
    assert.equal(podPhase(p('Never'), [], [exited(2)], false), 'Failed');
    assert.equal(podPhase(p('OnFailure'), [], [exited(2)], false), 'Running');
    assert.equal(podPhase(p('OnFailure'), [], [looping], false), 'Running');
    assert.equal(podPhase(p('Always'), [], [exited(0)], false), 'Running');
    assert.equal(podPhase(p('Always'), [], [exited(137)], true), 'Failed');
    assert.equal(podPhase(p('Always'), [], [exited(0)], true), 'Succeeded');
    const failedInit: ContainerRecord = { ...exited(1), name: 'setup', kind: 'init' };
    assert.equal(podPhase(p('Never'), [failedInit], freshRecords(p('Never')).regular, false), 'Failed');
  });

  it('rebuilds what it wrote from the stored status', () => {
    const p = pod({ initContainers: [{ name: 'setup', image: 'img' }] });
    const fresh = freshRecords(p);
    const init = fresh.init.map((r) => ({ ...r, state: 'terminated' as const, waiting: undefined, id: 'sim://0', imageRef: 'sim://img', terminated: { exitCode: 0, reason: 'Completed', startedAt: NOW - 9000, finishedAt: NOW - 8000, id: 'sim://0' } }));
    const regular = fresh.regular.map((r) => ({ ...running(r), restartCount: 2, last: { exitCode: 1, reason: 'Error', startedAt: NOW - 7000, finishedAt: NOW - 6000, id: 'sim://9' } }));
    const status = generatePodStatus({ pod: p, hostIP: 'h', podIP: 'i', sandboxReady: true, startTime: NOW, init, regular, terminal: false, readiness: true, now: NOW });
    const back = recordsFromStatus({ ...p, status });
    const again = generatePodStatus({ pod: { ...p, status }, hostIP: 'h', podIP: 'i', sandboxReady: true, startTime: NOW, ...back, terminal: false, readiness: true, now: NOW + 60_000 });
    assert.deepEqual(again, status);
  });
});
