import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { KubeObject } from '../api/types.js';
import { ApiError } from '../api/errors.js';
import type { ApiServer } from '../apiserver/server.js';
import { InProcessClient } from '../client/in-process.js';
import type { DeleteOptions, PatchType, ResourceRef, WriteOptions } from '../client/interface.js';
import { SharedInformers } from '../client/shared-informers.js';
import { newControllerContext } from '../controllers/context.js';
import { EVENTS, NODES, PODS, podCondition } from '../controllers/pods.js';
import { eventually, startInProcessCluster, type InProcessCluster } from '../../test/harness/in-process.js';
import { PRIORITY_CLASSES, Scheduler, type SchedulerOptions } from './scheduler.js';
import { makeNode, type NodeSpec } from './testing.js';

const ZONE = 'topology.kubernetes.io/zone';

/** The in-process client, remembering which resources were written to through it. */
class RecordingClient extends InProcessClient {
  readonly writes: string[] = [];
  /** Bindings to refuse, as a server that fails would. */
  failBindings = 0;
  private note(ref: ResourceRef, what: string): void {
    this.writes.push(`${ref.resource}:${what}`);
  }
  override create(ref: ResourceRef, namespace: string, obj: KubeObject, opts?: WriteOptions) {
    this.note(ref, opts?.subresource ?? 'create');
    if (opts?.subresource === 'binding' && this.failBindings > 0) {
      this.failBindings--;
      return Promise.reject(new ApiError(503, 'ServiceUnavailable', 'etcd is sulking'));
    }
    return super.create(ref, namespace, obj, opts);
  }
  override update(ref: ResourceRef, namespace: string, obj: KubeObject, opts?: WriteOptions) {
    this.note(ref, opts?.subresource ?? 'update');
    return super.update(ref, namespace, obj, opts);
  }
  override patch(ref: ResourceRef, namespace: string, name: string, type: PatchType, patch: unknown, opts?: WriteOptions) {
    this.note(ref, opts?.subresource ?? 'patch');
    return super.patch(ref, namespace, name, type, patch, opts);
  }
  override delete(ref: ResourceRef, namespace: string, name: string, opts?: DeleteOptions) {
    this.note(ref, 'delete');
    return super.delete(ref, namespace, name, opts);
  }
  podWrites(): string[] {
    return this.writes.filter((w) => w.startsWith('pods:'));
  }
}

interface World {
  cluster: InProcessCluster;
  client: InProcessClient;
  scheduler: Scheduler;
  recording: RecordingClient;
  startScheduler(opts?: SchedulerOptions): Promise<Scheduler>;
  node(name: string, spec?: NodeSpec): Promise<void>;
  pod(name: string, spec?: Record<string, unknown>, meta?: Record<string, unknown>): Promise<KubeObject>;
  get(name: string): Promise<KubeObject | undefined>;
  boundTo(name: string): Promise<string>;
  events(name: string, reason: string): Promise<KubeObject[]>;
  stop(): Promise<void>;
}

async function world(name: string, opts: SchedulerOptions = {}): Promise<World> {
  const cluster = await startInProcessCluster(`sched-${name}`);
  const client = cluster.client;
  const running: { scheduler: Scheduler; informers: SharedInformers; flush: () => Promise<void> }[] = [];
  let recording = new RecordingClient(cluster.server as ApiServer);
  const startScheduler = async (o: SchedulerOptions = opts) => {
    recording = new RecordingClient(cluster.server as ApiServer);
    const informers = new SharedInformers(recording);
    const ctx = newControllerContext(recording, informers);
    const scheduler = new Scheduler(ctx, o);
    running.push({ scheduler, informers, flush: () => ctx.recorder(scheduler.schedulerName).flush() });
    await scheduler.start();
    w.scheduler = scheduler;
    w.recording = recording;
    return scheduler;
  };
  const get = async (pod: string) => {
    try {
      return await client.get(PODS, 'default', pod);
    } catch (err) {
      if (err instanceof ApiError && err.code === 404) return undefined;
      throw err;
    }
  };
  const w: World = {
    cluster,
    client,
    scheduler: undefined as unknown as Scheduler,
    recording,
    startScheduler,
    async node(n, spec = {}) {
      await client.create(NODES, '', makeNode(n, spec));
    },
    async pod(n, spec = {}, meta = {}) {
      const requests = (spec.requests ?? {}) as Record<string, string>;
      const rest = { ...spec };
      delete rest.requests;
      return client.create(PODS, 'default', {
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name: n, ...meta },
        spec: { containers: [{ name: 'c', image: 'pause', resources: { requests } }], ...rest },
      });
    },
    get,
    boundTo: (pod) => eventually(`${pod} bound`, async () => (await get(pod))?.spec?.nodeName as string | undefined),
    async events(pod, reason) {
      const list = await client.list(EVENTS, 'default');
      return list.items.filter((e) => e.involvedObject?.name === pod && e.reason === reason);
    },
    async stop() {
      for (const r of running) {
        await r.scheduler.stop();
        r.informers.stop();
        await r.flush();
      }
      await cluster.stop();
    },
  };
  await startScheduler();
  return w;
}

const cpu = (c: string) => ({ requests: { cpu: c } });

describe('scheduler (in-process cluster)', () => {
  it('spreads pods over the nodes, binds them and says so in Scheduled events', async () => {
    const w = await world('spread');
    try {
      for (const n of ['n1', 'n2', 'n3']) await w.node(n, { cpu: '4' });
      for (let i = 0; i < 6; i++) await w.pod(`p${i}`, cpu('1'));
      const perNode = new Map<string, number>();
      for (let i = 0; i < 6; i++) {
        const node = await w.boundTo(`p${i}`);
        perNode.set(node, (perNode.get(node) ?? 0) + 1);
      }
      // LeastAllocated puts two on each.
      assert.deepEqual([...perNode.values()], [2, 2, 2]);
      const pod = await w.get('p0');
      assert.equal(podCondition(pod!, 'PodScheduled')?.status, 'True');
      const [ev] = await eventually('Scheduled event', async () => {
        const evs = await w.events('p0', 'Scheduled');
        return evs.length > 0 ? evs : undefined;
      });
      assert.equal(ev.message, `Successfully assigned default/p0 to ${pod!.spec.nodeName}`);
      assert.equal(ev.type, 'Normal');
      assert.equal(ev.source?.component, 'default-scheduler');
    } finally {
      await w.stop();
    }
  });

  it('reports an unschedulable pod as upstream, and schedules it as soon as a fitting node appears', async () => {
    const w = await world('unschedulable');
    try {
      for (const n of ['n1', 'n2', 'n3']) await w.node(n, { cpu: '1' });
      await w.pod('big', cpu('2'));
      const message = '0/3 nodes are available: 3 Insufficient cpu. preemption: 0/3 nodes are available: 3 No preemption victims found for incoming pod.';
      const cond = await eventually('PodScheduled=False', async () => {
        const c = podCondition((await w.get('big'))!, 'PodScheduled');
        return c?.status === 'False' ? c : undefined;
      });
      assert.equal(cond.reason, 'Unschedulable');
      assert.equal(cond.message, message);
      const [ev] = await eventually('FailedScheduling event', async () => {
        const evs = await w.events('big', 'FailedScheduling');
        return evs.length > 0 ? evs : undefined;
      });
      assert.equal(ev.type, 'Warning');
      assert.equal(ev.message, message);
      assert.equal(ev.source?.component, 'default-scheduler');
      await w.node('roomy', { cpu: '4' });
      assert.equal(await w.boundTo('big'), 'roomy');
    } finally {
      await w.stop();
    }
  });

  it('honours taints, tolerations and nodeSelector', async () => {
    const w = await world('taints');
    try {
      await w.node('gpu', { labels: { kind: 'gpu' }, taints: [{ key: 'dedicated', value: 'gpu', effect: 'NoSchedule' }] });
      await w.node('plain', { labels: { kind: 'plain' } });
      await w.pod('anywhere');
      assert.equal(await w.boundTo('anywhere'), 'plain');
      await w.pod('wants-gpu', { nodeSelector: { kind: 'gpu' } });
      const cond = await eventually('wants-gpu unschedulable', async () => {
        const c = podCondition((await w.get('wants-gpu'))!, 'PodScheduled');
        return c?.status === 'False' ? c : undefined;
      });
      assert.equal(
        cond.message,
        "0/2 nodes are available: 1 node(s) didn't match Pod's node affinity/selector, 1 node(s) had untolerated taint {dedicated: gpu}. preemption: 0/2 nodes are available: 2 Preemption is not helpful for scheduling.",
      );
      await w.pod('tolerant', { nodeSelector: { kind: 'gpu' }, tolerations: [{ key: 'dedicated', operator: 'Equal', value: 'gpu', effect: 'NoSchedule' }] });
      assert.equal(await w.boundTo('tolerant'), 'gpu');
    } finally {
      await w.stop();
    }
  });

  it('places pods by required pod affinity and anti-affinity, and runs DaemonSet-style pinned pods on their node', async () => {
    const w = await world('affinity');
    try {
      for (const n of ['n1', 'n2', 'n3']) await w.node(n);
      const anti = { podAntiAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [{ labelSelector: { matchLabels: { app: 'web' } }, topologyKey: 'kubernetes.io/hostname' }] } };
      const nodes = new Set<string>();
      for (let i = 0; i < 3; i++) {
        await w.pod(`web-${i}`, { affinity: anti }, { labels: { app: 'web' } });
        nodes.add(await w.boundTo(`web-${i}`));
      }
      assert.equal(nodes.size, 3);
      await w.pod('web-3', { affinity: anti }, { labels: { app: 'web' } });
      const cond = await eventually('web-3 unschedulable', async () => {
        const c = podCondition((await w.get('web-3'))!, 'PodScheduled');
        return c?.status === 'False' ? c : undefined;
      });
      assert.equal(cond.message, "0/3 nodes are available: 3 node(s) didn't match pod anti-affinity rules. preemption: 0/3 nodes are available: 3 No preemption victims found for incoming pod.");
      const web0 = await w.boundTo('web-0');
      await w.pod('sidecar', { affinity: { podAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [{ labelSelector: { matchLabels: { role: 'first' } }, topologyKey: 'kubernetes.io/hostname' }] } } });
      await w.client.patch(PODS, 'default', 'web-0', 'application/merge-patch+json', { metadata: { labels: { app: 'web', role: 'first' } } });
      // The label change on a bound pod is a cluster event: the waiting pod is retried and follows it.
      assert.equal(await w.boundTo('sidecar'), web0);
      const pinned = { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchFields: [{ key: 'metadata.name', operator: 'In', values: [web0] }] }] } } };
      await w.pod('ds-pod', { affinity: pinned });
      assert.equal(await w.boundTo('ds-pod'), web0);
      await w.pod('ds-big', { affinity: pinned, ...cpu('64') });
      const big = await eventually('ds-big unschedulable', async () => {
        const c = podCondition((await w.get('ds-big'))!, 'PodScheduled');
        return c?.status === 'False' ? c : undefined;
      });
      assert.equal(
        big.message,
        '0/3 nodes are available: 1 Insufficient cpu, 2 node is filtered out by the prefilter result. preemption: 0/3 nodes are available: 1 No preemption victims found for incoming pod, 2 Preemption is not helpful for scheduling.',
      );
    } finally {
      await w.stop();
    }
  });

  it('spreads pods evenly over zones with topologySpreadConstraints', async () => {
    const w = await world('spread-zones');
    try {
      await w.node('a1', { labels: { [ZONE]: 'a' }, cpu: '16' });
      await w.node('a2', { labels: { [ZONE]: 'a' }, cpu: '16' });
      await w.node('b1', { labels: { [ZONE]: 'b' }, cpu: '1' });
      const spread = [{ maxSkew: 1, topologyKey: ZONE, whenUnsatisfiable: 'DoNotSchedule', labelSelector: { matchLabels: { app: 'z' } } }];
      for (let i = 0; i < 4; i++) await w.pod(`z${i}`, { topologySpreadConstraints: spread }, { labels: { app: 'z' } });
      const zones = new Map<string, number>();
      for (let i = 0; i < 4; i++) {
        const z = (await w.boundTo(`z${i}`)).startsWith('a') ? 'a' : 'b';
        zones.set(z, (zones.get(z) ?? 0) + 1);
      }
      // Resources alone would put them all in zone a; the constraint keeps the zones level.
      assert.equal(zones.get('a'), 2);
      assert.equal(zones.get('b'), 2);
    } finally {
      await w.stop();
    }
  });

  it('preempts a lower-priority pod for a higher one (priority from its PriorityClass), and never for preemptionPolicy Never', async () => {
    const w = await world('preemption');
    try {
      await w.client.create(PRIORITY_CLASSES, '', { apiVersion: 'scheduling.k8s.io/v1', kind: 'PriorityClass', metadata: { name: 'high' }, value: 1000 });
      // Priority admission sets spec.priority from the class, and refuses a pod that sets its own.
      await w.client.create(PRIORITY_CLASSES, '', { apiVersion: 'scheduling.k8s.io/v1', kind: 'PriorityClass', metadata: { name: 'low' }, value: 10 });
      await w.client.create(PRIORITY_CLASSES, '', { apiVersion: 'scheduling.k8s.io/v1', kind: 'PriorityClass', metadata: { name: 'polite' }, value: 500, preemptionPolicy: 'Never' });
      await w.node('n1', { cpu: '2' });
      await w.pod('low', { ...cpu('2'), priorityClassName: 'low' });
      assert.equal(await w.boundTo('low'), 'n1');
      await w.pod('polite', { ...cpu('2'), priorityClassName: 'polite' });
      const politeCond = await eventually('polite unschedulable', async () => {
        const c = podCondition((await w.get('polite'))!, 'PodScheduled');
        return c?.status === 'False' ? c : undefined;
      });
      assert.equal(politeCond.message, '0/1 nodes are available: 1 Insufficient cpu. preemption: not eligible due to preemptionPolicy=Never.');
      assert.equal((await w.get('low'))?.metadata?.deletionTimestamp, undefined);

      const high = await w.pod('high', { ...cpu('2'), priorityClassName: 'high' });
      const victim = await eventually('low is being deleted', async () => {
        const p = await w.get('low');
        return p?.metadata?.deletionTimestamp ? p : undefined;
      });
      const disruption = podCondition(victim, 'DisruptionTarget');
      assert.equal(disruption?.reason, 'PreemptionByScheduler');
      assert.equal(disruption?.message, 'default-scheduler: preempting to accommodate a higher priority pod');
      const [preempted] = await eventually('Preempted event', async () => {
        const evs = await w.events('low', 'Preempted');
        return evs.length > 0 ? evs : undefined;
      });
      assert.equal(preempted.message, `Preempted by pod ${high.metadata!.uid} on node n1`);
      const waiting = await eventually('high nominated', async () => {
        const p = await w.get('high');
        return p?.status?.nominatedNodeName === 'n1' ? p : undefined;
      });
      assert.equal(podCondition(waiting, 'PodScheduled')?.message, '0/1 nodes are available: 1 Insufficient cpu.');
      // The kubelet would kill the victim and remove it.
      await w.client.delete(PODS, 'default', 'low', { gracePeriodSeconds: 0 });
      assert.equal(await w.boundTo('high'), 'n1');
      assert.equal((await w.get('polite'))?.spec?.nodeName, undefined);
    } finally {
      await w.stop();
    }
  });

  it('counts assumed pods at once: a burst never overcommits a node', async () => {
    const w = await world('burst', { bindConcurrency: 4 });
    try {
      for (let i = 0; i < 5; i++) await w.node(`n${i}`, { cpu: '2', memory: '8Gi' });
      await Promise.all(Array.from({ length: 30 }, (_, i) => w.pod(`b${i}`, { requests: { cpu: '500m', memory: '1Gi' } })));
      const bound = await eventually('20 pods bound and 10 unschedulable', async () => {
        const pods = (await w.client.list(PODS, 'default')).items;
        const b = pods.filter((p) => p.spec?.nodeName);
        const u = pods.filter((p) => podCondition(p, 'PodScheduled')?.reason === 'Unschedulable');
        return b.length === 20 && u.length === 10 ? b : undefined;
      });
      const perNode = new Map<string, number>();
      for (const p of bound) perNode.set(p.spec.nodeName, (perNode.get(p.spec.nodeName) ?? 0) + 500);
      for (const [node, milli] of perNode) assert.ok(milli <= 2000, `${node} holds ${milli}m of 2000m`);
      assert.equal(perNode.size, 5);
    } finally {
      await w.stop();
    }
  });

  it('forgets the node a failed binding assumed, reports the error and retries the pod', async () => {
    const w = await world('bind-fails');
    try {
      w.recording.failBindings = 1;
      // Room for exactly one pod: had the failed binding kept its place, the retry would not fit.
      await w.node('n1', { cpu: '1' });
      await w.pod('p', cpu('1'));
      const [ev] = await eventually('FailedScheduling event', async () => {
        const evs = await w.events('p', 'FailedScheduling');
        return evs.length > 0 ? evs : undefined;
      });
      assert.equal(ev.message, 'running Bind plugin "DefaultBinder": etcd is sulking');
      assert.equal(await w.boundTo('p'), 'n1');
    } finally {
      await w.stop();
    }
  });

  it('leaves alone pods of other schedulers and gated pods until their gates are gone', async () => {
    const w = await world('ignore');
    try {
      await w.node('n1');
      await w.pod('other', { schedulerName: 'my-scheduler' });
      await w.pod('gated', { schedulingGates: [{ name: 'example.com/wait' }] });
      await w.pod('marker');
      await w.boundTo('marker');
      const gated = (await w.get('gated'))!;
      assert.equal(gated.spec.nodeName, undefined);
      assert.equal(podCondition(gated, 'PodScheduled')?.reason, 'SchedulingGated');
      const other = (await w.get('other'))!;
      assert.equal(other.spec.nodeName, undefined);
      assert.equal(podCondition(other, 'PodScheduled'), undefined);
      assert.deepEqual(await w.events('other', 'FailedScheduling'), []);
      await w.client.patch(PODS, 'default', 'gated', 'application/merge-patch+json', { spec: { schedulingGates: null } });
      assert.equal(await w.boundTo('gated'), 'n1');
    } finally {
      await w.stop();
    }
  });

  it('is level-based: a scheduler started on a settled world writes no pod', async () => {
    const w = await world('level');
    try {
      await w.node('n1', { cpu: '1' });
      await w.pod('fits', cpu('1'));
      await w.pod('waits', cpu('1'));
      await w.boundTo('fits');
      await eventually('waits is unschedulable', async () => podCondition((await w.get('waits'))!, 'PodScheduled')?.reason === 'Unschedulable');
      await w.scheduler.stop();
      const firstEvents = (await w.events('waits', 'FailedScheduling')).length;
      await w.startScheduler();
      // The new scheduler tries the waiting pod again (upstream records the failure again) ...
      await eventually('a second FailedScheduling event', async () => (await w.events('waits', 'FailedScheduling')).length > firstEvents);
      // ... but binds nothing and leaves the pods' status as it was.
      assert.deepEqual(w.recording.podWrites(), []);
    } finally {
      await w.stop();
    }
  });
});
