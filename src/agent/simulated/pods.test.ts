import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { KubeObject } from '../../api/types.js';
import type { WatchEventType } from '../../client/interface.js';
import { EVENTS, PODS } from '../../controllers/pods.js';
import { CountingClient, eventually, startInProcessCluster, type InProcessCluster } from '../../../test/harness/in-process.js';
import { SimulatedAgent } from './agent.js';
import { condition, createBoundPod, getOrUndefined, testPod } from './testing.js';

const NS = 'default';

describe('simulated pods', () => {
  let cluster: InProcessCluster;
  let agent: SimulatedAgent;

  const get = (name: string) => getOrUndefined(cluster.client, NS, name);
  const phaseOf = async (name: string) => (await get(name))?.status?.phase;

  before(async () => {
    cluster = await startInProcessCluster('simpods');
    agent = new SimulatedAgent(cluster.client, {
      count: 2,
      namePrefix: 'pods-',
      startupMs: { min: 0, max: 5 },
      runDurationMs: 30,
      crashLoopBackOffMs: { initial: 60, max: 120 },
      renewIntervalMs: 3_600_000,
    });
    await agent.start();
  });
  after(async () => {
    await agent.stop();
    await cluster.stop();
  });

  it('runs a bound pod: Running with an address from the node, its host, ready containers and conditions', async () => {
    await createBoundPod(cluster.client, NS, 'pods-1', testPod('web'));
    const pod = await eventually('web is Running and Ready', async () => {
      const p = await get('web');
      return p?.status?.phase === 'Running' && condition(p, 'Ready')?.status === 'True' && p;
    });
    const s = pod.status!;
    assert.match(s.podIP, /^10\.244\.1\.\d+$/);
    assert.deepEqual(s.podIPs, [{ ip: s.podIP }]);
    assert.equal(s.hostIP, '10.10.0.2');
    assert.deepEqual(s.hostIPs, [{ ip: '10.10.0.2' }]);
    assert.ok(s.startTime);
    assert.equal(s.qosClass, 'BestEffort');
    assert.deepEqual(
      (s.conditions as Record<string, any>[]).map((c) => [c.type, c.status]),
      [
        ['PodReadyToStartContainers', 'True'],
        ['Initialized', 'True'],
        ['Ready', 'True'],
        ['ContainersReady', 'True'],
        ['PodScheduled', 'True'],
      ],
    );
    for (const c of s.conditions as Record<string, any>[]) assert.ok(c.lastTransitionTime, `${c.type} has a lastTransitionTime`);
    const [cs] = s.containerStatuses as Record<string, any>[];
    assert.equal(cs.name, 'app');
    assert.ok(cs.state.running.startedAt);
    assert.deepEqual(cs.lastState, {});
    assert.equal(cs.ready, true);
    assert.equal(cs.started, true);
    assert.equal(cs.restartCount, 0);
    assert.equal(cs.image, 'registry.example/app:1');
    assert.equal(cs.imageID, 'sim://registry.example/app:1');
    assert.match(cs.containerID, /^sim:\/\/[0-9a-f]{64}$/);

    const events = await eventually('the kubelet events', async () => {
      const list = (await cluster.client.list(EVENTS, NS)).items.filter((e) => e.involvedObject?.name === 'web');
      return list.length >= 4 && list;
    });
    const byReason = new Map(events.map((e) => [e.reason as string, e]));
    assert.equal(byReason.get('Pulling')?.message, 'Pulling image "registry.example/app:1"');
    assert.match(String(byReason.get('Pulled')?.message), /^Successfully pulled image "registry\.example\/app:1" in \S+ \(\S+ including waiting\)\. Image size: \d+ bytes\.$/);
    assert.equal(byReason.get('Created')?.message, 'Created container app');
    assert.equal(byReason.get('Started')?.message, 'Started container app');
    for (const e of events) {
      assert.deepEqual(e.source, { component: 'kubelet', host: 'pods-1' });
      assert.equal(e.involvedObject.fieldPath, 'spec.containers{app}');
    }

    // A second pod with the same image finds it on the node.
    await createBoundPod(cluster.client, NS, 'pods-1', testPod('web-2'));
    await eventually('web-2 reports the image already present', async () =>
      (await cluster.client.list(EVENTS, NS)).items.some((e) => e.involvedObject?.name === 'web-2' && e.message === 'Container image "registry.example/app:1" already present on machine'),
    );
  });

  it('runs a Job-style pod (restartPolicy Never) to Succeeded', async () => {
    await createBoundPod(cluster.client, NS, 'pods-0', testPod('job-ok', { restartPolicy: 'Never' }));
    const pod = await eventually('job-ok Succeeded', async () => {
      const p = await get('job-ok');
      return p?.status?.phase === 'Succeeded' && p;
    });
    const [cs] = pod.status!.containerStatuses as Record<string, any>[];
    assert.equal(cs.state.terminated.exitCode, 0);
    assert.equal(cs.state.terminated.reason, 'Completed');
    assert.equal(cs.ready, false);
    assert.equal(cs.started, false);
    assert.equal(condition(pod, 'Ready')?.status, 'False');
    assert.equal(condition(pod, 'Ready')?.reason, 'PodCompleted');
    assert.equal(condition(pod, 'Initialized')?.reason, 'PodCompleted');
    assert.equal(condition(pod, 'PodReadyToStartContainers')?.status, 'False');
    assert.ok(pod.status!.podIP, 'the address stays in the status after the sandbox is gone');
  });

  it('fails a Never pod whose container exits non-zero', async () => {
    await createBoundPod(cluster.client, NS, 'pods-0', testPod('job-bad', { restartPolicy: 'Never', annotations: { 'skiff.dev/simulated-exit-code': '3' } }));
    const pod = await eventually('job-bad Failed', async () => {
      const p = await get('job-bad');
      return p?.status?.phase === 'Failed' && p;
    });
    const [cs] = pod.status!.containerStatuses as Record<string, any>[];
    assert.equal(cs.state.terminated.exitCode, 3);
    assert.equal(cs.state.terminated.reason, 'Error');
    assert.equal(cs.restartCount, 0);
    assert.equal(condition(pod, 'Ready')?.reason, 'ContainersNotReady');
  });

  it('restarts an OnFailure pod that fails, with CrashLoopBackOff between restarts', async () => {
    await createBoundPod(
      cluster.client,
      NS,
      'pods-0',
      testPod('crashy', { restartPolicy: 'OnFailure', annotations: { 'skiff.dev/simulated-exit-code': '1', 'skiff.dev/simulated-run-ms': '10' } }),
    );
    const looping = await eventually('crashy in CrashLoopBackOff', async () => {
      const p = await get('crashy');
      const cs = p?.status?.containerStatuses?.[0];
      return cs?.state?.waiting?.reason === 'CrashLoopBackOff' && p;
    });
    const cs = looping.status!.containerStatuses[0];
    assert.equal(looping.status!.phase, 'Running');
    assert.ok(cs.restartCount >= 1);
    assert.equal(cs.lastState.terminated.exitCode, 1);
    assert.equal(cs.lastState.terminated.reason, 'Error');
    assert.match(cs.state.waiting.message, /^back-off \d+ms restarting failed container=app pod=crashy_default\(.+\)$/);
    await eventually('crashy restarts again', async () => ((await get('crashy'))?.status?.containerStatuses?.[0]?.restartCount ?? 0) > cs.restartCount);
    await eventually('a BackOff event', async () =>
      (await cluster.client.list(EVENTS, NS)).items.some(
        (e) => e.involvedObject?.name === 'crashy' && e.reason === 'BackOff' && e.type === 'Warning' && /^Back-off restarting failed container app in pod crashy_default\(/.test(e.message),
      ),
    );
  });

  it('crash-loops an Always pod that exits non-zero', async () => {
    await createBoundPod(cluster.client, NS, 'pods-1', testPod('always-crash', { annotations: { 'skiff.dev/simulated-exit-code': '2' } }));
    const pod = await eventually('always-crash restarted twice', async () => {
      const p = await get('always-crash');
      return (p?.status?.containerStatuses?.[0]?.restartCount ?? 0) >= 2 && p;
    });
    assert.equal(pod.status!.phase, 'Running');
    assert.equal(pod.status!.containerStatuses[0].lastState.terminated.exitCode, 2);
  });

  it('deletes a Running pod entirely: killed, terminal status written, then removed with grace 0', async () => {
    const created = await createBoundPod(cluster.client, NS, 'pods-1', testPod('doomed'));
    await eventually('doomed Running', async () => (await phaseOf('doomed')) === 'Running');
    const seen: { type: WatchEventType; obj: KubeObject }[] = [];
    const watch = cluster.client.watch(PODS, NS, { fieldSelector: 'metadata.name=doomed', resourceVersion: (await get('doomed'))!.metadata!.resourceVersion }, (type, obj) => seen.push({ type, obj }));
    try {
      await cluster.client.delete(PODS, NS, 'doomed');
      await eventually('doomed is gone', async () => (await get('doomed')) === undefined);
      await eventually('the DELETED event', async () => seen.some((e) => e.type === 'DELETED'));
    } finally {
      watch.stop();
    }
    const marked = seen.find((e) => e.type === 'MODIFIED' && e.obj.metadata?.deletionTimestamp);
    assert.ok(marked, 'first marked for deletion (graceful)');
    const last = seen.filter((e) => e.type === 'MODIFIED').at(-1)!.obj;
    assert.equal(last.status.phase, 'Failed');
    assert.equal(last.status.containerStatuses[0].state.terminated.exitCode, 137);
    assert.equal(last.metadata!.uid, created.metadata!.uid);
    await eventually('a Killing event', async () =>
      (await cluster.client.list(EVENTS, NS)).items.some((e) => e.involvedObject?.name === 'doomed' && e.reason === 'Killing' && e.message === 'Stopping container app'),
    );
  });

  it('finishes the deletion of a pod that never ran: its containers are reported lost', async () => {
    agent.stopHeartbeats('pods-0');
    const seen: KubeObject[] = [];
    let watch: { stop(): void } | undefined;
    try {
      await createBoundPod(cluster.client, NS, 'pods-0', testPod('never-ran'));
      await cluster.client.delete(PODS, NS, 'never-ran');
      const rv = (await get('never-ran'))!.metadata!.resourceVersion;
      watch = cluster.client.watch(PODS, NS, { fieldSelector: 'metadata.name=never-ran', resourceVersion: rv }, (type, obj) => {
        if (type === 'MODIFIED') seen.push(obj);
      });
    } finally {
      agent.resumeHeartbeats('pods-0');
    }
    try {
      await eventually('never-ran is gone', async () => (await get('never-ran')) === undefined);
      await eventually('its final status was seen', async () => seen.some((p) => p.status?.phase === 'Failed'));
    } finally {
      watch?.stop();
    }
    const final = seen.find((p) => p.status?.phase === 'Failed')!;
    const cs = final.status.containerStatuses[0];
    assert.equal(cs.state.terminated.reason, 'ContainerStatusUnknown');
    assert.equal(cs.state.terminated.exitCode, 137);
    assert.equal(cs.state.terminated.message, 'The container could not be located when the pod was terminated');
  });

  it('runs init containers before the containers', async () => {
    await createBoundPod(
      cluster.client,
      NS,
      'pods-0',
      testPod('with-init', { initContainers: [{ name: 'setup', image: 'registry.example/setup:1' }, { name: 'migrate', image: 'registry.example/setup:1' }] }),
    );
    const pod = await eventually('with-init Running', async () => {
      const p = await get('with-init');
      return p?.status?.phase === 'Running' && condition(p, 'Ready')?.status === 'True' && p;
    });
    const init = pod.status!.initContainerStatuses as Record<string, any>[];
    assert.deepEqual(init.map((c) => [c.name, c.state.terminated?.reason, c.ready]), [
      ['setup', 'Completed', true],
      ['migrate', 'Completed', true],
    ]);
    assert.ok(Date.parse(init[0].state.terminated.finishedAt) <= Date.parse(init[1].state.terminated.startedAt), 'one after the other');
    assert.equal(condition(pod, 'Initialized')?.status, 'True');
  });

  it('keeps a pod unready when its annotation says so, and makes it ready when that changes', async () => {
    await createBoundPod(cluster.client, NS, 'pods-1', testPod('shy', { annotations: { 'skiff.dev/simulated-ready': 'false' } }));
    const pod = await eventually('shy Running', async () => {
      const p = await get('shy');
      return p?.status?.phase === 'Running' && p;
    });
    assert.equal(condition(pod, 'Ready')?.status, 'False');
    assert.equal(condition(pod, 'Ready')?.reason, 'ContainersNotReady');
    assert.equal(condition(pod, 'Ready')?.message, 'containers with unready status: [app]');
    assert.equal(pod.status!.containerStatuses[0].ready, false);
    await cluster.client.patch(PODS, NS, 'shy', 'application/merge-patch+json', { metadata: { annotations: { 'skiff.dev/simulated-ready': 'true' } } });
    await eventually('shy Ready', async () => condition(await get('shy'), 'Ready')?.status === 'True');
  });

  it('leaves pods on a node whose heartbeats stopped alone, and runs them when it comes back', async () => {
    agent.stopHeartbeats('pods-0');
    try {
      await createBoundPod(cluster.client, NS, 'pods-0', testPod('orphan'));
      // A pod on the live node going Running is the clock: the dead node's pod would have moved by then.
      await createBoundPod(cluster.client, NS, 'pods-1', testPod('witness'));
      await eventually('witness Running', async () => (await phaseOf('witness')) === 'Running');
      const orphan = await get('orphan');
      assert.equal(orphan?.status?.phase, 'Pending');
      assert.equal(orphan?.status?.containerStatuses, undefined, 'a dead kubelet writes nothing');
      await cluster.client.delete(PODS, NS, 'orphan');
      await eventually('witness has its events', async () =>
        (await cluster.client.list(EVENTS, NS)).items.some((e) => e.involvedObject?.name === 'witness' && e.reason === 'Started'),
      );
      assert.ok(await get('orphan'), 'nobody finishes the deletion of a pod on a dead node');
    } finally {
      agent.resumeHeartbeats('pods-0');
    }
    await eventually('orphan deleted once the node is back', async () => (await get('orphan')) === undefined);
  });

  it('a restarted agent takes over running and finished pods without writing anything', async () => {
    const cluster2 = await startInProcessCluster('simpods-restart');
    const opts = { count: 2, namePrefix: 'again-', renewIntervalMs: 3_600_000, startupMs: 0, runDurationMs: 10, events: false } as const;
    const first = new SimulatedAgent(cluster2.client, opts);
    await first.start();
    try {
      for (let i = 0; i < 4; i++) await createBoundPod(cluster2.client, NS, `again-${i % 2}`, testPod(`svc-${i}`));
      await createBoundPod(cluster2.client, NS, 'again-0', testPod('batch', { restartPolicy: 'Never' }));
      await createBoundPod(
        cluster2.client,
        NS,
        'again-1',
        testPod('init-svc', { initContainers: [{ name: 'setup', image: 'registry.example/setup:1' }] }),
      );
      await eventually('all settled', async () => {
        const pods = (await cluster2.client.list(PODS, NS)).items;
        return pods.length === 6 && pods.every((p) => (p.metadata!.name === 'batch' ? p.status?.phase === 'Succeeded' : condition(p, 'Ready')?.status === 'True'));
      });
      await first.idle();
    } finally {
      await first.stop();
    }
    const counting = new CountingClient(cluster2.server);
    const second = new SimulatedAgent(counting, { ...opts, nodeStatusUpdateFrequencyMs: 10 });
    await second.start();
    try {
      await eventually('the second agent has every pod', async () => second.podCount() === 6);
      for (let i = 0; i < 20; i++) await new Promise((r) => setTimeout(r, 10));
      await second.idle();
      assert.equal(counting.writes, 0);
      // And it is in charge: deleting a running pod still completes.
      await cluster2.client.delete(PODS, NS, 'svc-0');
      await eventually('svc-0 gone', async () => (await getOrUndefined(cluster2.client, NS, 'svc-0')) === undefined);
    } finally {
      await second.stop();
      await cluster2.stop();
    }
  });
});
