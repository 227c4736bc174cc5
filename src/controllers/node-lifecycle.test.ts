import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { KubeObject } from '../api/types.js';
import { InProcessClient } from '../client/in-process.js';
import { microTime } from '../client/leader-election.js';
import type { ResourceRef } from '../client/interface.js';
import { SharedInformers } from '../client/shared-informers.js';
import { CountingClient, eventually, startInProcessCluster, type InProcessCluster } from '../../test/harness/in-process.js';
import { newControllerContext } from './context.js';
import { NodeLifecycleController, type Taint } from './node-lifecycle.js';
import { TaintEvictionController } from './taint-eviction.js';
import { EVENTS, LEASES, NODES, PODS, podCondition, rfc3339 } from './pods.js';

const NAMESPACES: ResourceRef = { group: '', version: 'v1', resource: 'namespaces' };
const FAST = { nodeMonitorGracePeriodMs: 600, nodeMonitorPeriodMs: 50, nodeStartupGracePeriodMs: 600, retryBaseDelayMs: 5, retryMaxDelayMs: 200 };

function conditions(now: number, ready = 'True'): Record<string, unknown>[] {
  const t = rfc3339(now);
  const c = (type: string, status: string, reason: string) => ({ type, status, reason, message: reason, lastHeartbeatTime: t, lastTransitionTime: t });
  return [c('MemoryPressure', 'False', 'KubeletHasSufficientMemory'), c('DiskPressure', 'False', 'KubeletHasNoDiskPressure'), c('PIDPressure', 'False', 'KubeletHasSufficientPID'), c('Ready', ready, 'KubeletReady')];
}

/** A stand-in for kubelets: registers nodes and renews their Leases while they are "up". */
class Kubelets {
  readonly up = new Set<string>();
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly client: InProcessClient) {}

  async register(name: string, labels: Record<string, string> = {}): Promise<void> {
    await this.client.create(NODES, '', { apiVersion: 'v1', kind: 'Node', metadata: { name, labels }, status: { conditions: conditions(Date.now()) } });
    await this.client.create(LEASES, 'kube-node-lease', {
      apiVersion: 'coordination.k8s.io/v1',
      kind: 'Lease',
      metadata: { name, namespace: 'kube-node-lease' },
      spec: { holderIdentity: name, leaseDurationSeconds: 40, renewTime: microTime() },
    });
    this.up.add(name);
  }

  start(): void {
    this.timer = setInterval(() => {
      for (const name of this.up) {
        void this.client.patch(LEASES, 'kube-node-lease', name, 'application/merge-patch+json', { spec: { renewTime: microTime() } }).catch(() => undefined);
      }
    }, 100);
  }

  /** A kubelet coming back posts Ready with a fresh heartbeat and renews its Lease again. */
  async revive(name: string): Promise<void> {
    await this.client.patch(NODES, '', name, 'application/merge-patch+json', { status: { conditions: conditions(Date.now()) } }, { subresource: 'status' });
    this.up.add(name);
  }

  stop(): void {
    clearInterval(this.timer);
  }
}

async function boundPod(client: InProcessClient, ns: string, name: string, node: string, tolerations: Record<string, unknown>[] = []): Promise<void> {
  await client.create(PODS, ns, { apiVersion: 'v1', kind: 'Pod', metadata: { name }, spec: { containers: [{ name: 'app', image: 'nginx' }], tolerations } });
  await client.create(PODS, ns, { apiVersion: 'v1', kind: 'Binding', metadata: { name }, target: { kind: 'Node', name: node } }, { subresource: 'binding' });
  const status = { phase: 'Running', podIP: '10.0.0.1', conditions: [{ type: 'Ready', status: 'True', lastTransitionTime: rfc3339(Date.now()) }] };
  await client.patch(PODS, ns, name, 'application/merge-patch+json', { status }, { subresource: 'status' });
}

function taintsOf(node: KubeObject): Taint[] {
  return (node.spec?.taints ?? []) as Taint[];
}

describe('node lifecycle controller', () => {
  let cluster: InProcessCluster;
  let client: InProcessClient;
  let counting: CountingClient;
  let informers: SharedInformers;
  let lifecycle: NodeLifecycleController;
  let eviction: TaintEvictionController;
  let kubelets: Kubelets;
  const logs: string[] = [];

  before(async () => {
    cluster = await startInProcessCluster('node-lifecycle');
    client = cluster.client;
    kubelets = new Kubelets(client);
    await kubelets.register('steady', { 'kubernetes.io/os': 'linux', 'kubernetes.io/arch': 'amd64' });
    await kubelets.register('flaky');
    kubelets.start();
    await client.create(NAMESPACES, '', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'apps' } });
    counting = new CountingClient(cluster.server);
    informers = new SharedInformers(counting);
    const ctx = newControllerContext(counting, informers, { log: (m) => logs.push(m) });
    lifecycle = new NodeLifecycleController(ctx, FAST);
    eviction = new TaintEvictionController(ctx, { retryBaseDelayMs: 5, retryMaxDelayMs: 200 });
    await lifecycle.start();
    await eviction.start();
  });

  after(async () => {
    kubelets.stop();
    await lifecycle.stop();
    await eviction.stop();
    informers.stop();
    await cluster.stop();
  });

  it('registers nodes and keeps the beta os/arch labels in step', async () => {
    const steady = await eventually('beta labels', async () => {
      const n = await client.get(NODES, '', 'steady');
      return n.metadata?.labels?.['beta.kubernetes.io/os'] === 'linux' ? n : undefined;
    });
    assert.equal(steady.metadata?.labels?.['beta.kubernetes.io/arch'], 'amd64');
    const ev = await eventually('RegisteredNode', async () => (await client.list(EVENTS, 'default')).items.find((e) => e.reason === 'RegisteredNode' && e.involvedObject?.name === 'steady'));
    assert.equal(ev.message, 'Node steady event: Registered Node steady in Controller');
    assert.equal(ev.source?.component, 'node-controller');
    assert.deepEqual(taintsOf(steady), []);
  });

  it('marks a node whose lease stops Unknown, taints it unreachable and evicts what does not tolerate that', async () => {
    const unreachable = { key: 'node.kubernetes.io/unreachable', operator: 'Exists', effect: 'NoExecute' };
    // DefaultTolerationSeconds gives every pod 300 s; `plain` asks for none, so it goes at once.
    await boundPod(client, 'apps', 'plain', 'flaky', [{ ...unreachable, tolerationSeconds: 0 }]);
    await boundPod(client, 'apps', 'patient', 'flaky', [{ ...unreachable, tolerationSeconds: 3 }]);
    await boundPod(client, 'apps', 'forever', 'flaky', [unreachable]);
    await boundPod(client, 'apps', 'elsewhere', 'steady');

    kubelets.up.delete('flaky');
    const node = await eventually('flaky tainted unreachable', async () => {
      const n = await client.get(NODES, '', 'flaky');
      return taintsOf(n).some((t) => t.key === 'node.kubernetes.io/unreachable' && t.effect === 'NoExecute') ? n : undefined;
    });
    for (const type of ['Ready', 'MemoryPressure', 'DiskPressure', 'PIDPressure']) {
      const c = node.status.conditions.find((x: any) => x.type === type);
      assert.equal(c.status, 'Unknown', type);
      assert.equal(c.reason, 'NodeStatusUnknown');
      assert.equal(c.message, 'Kubelet stopped posting node status.');
    }
    const noExecute = taintsOf(node).find((t) => t.effect === 'NoExecute')!;
    assert.match(noExecute.timeAdded ?? '', /Z$/);
    await eventually('the NoSchedule taint too', async () => taintsOf(await client.get(NODES, '', 'flaky')).some((t) => t.key === 'node.kubernetes.io/unreachable' && t.effect === 'NoSchedule'));

    const plain = await eventually('plain evicted', async () => {
      const p = await client.get(PODS, 'apps', 'plain');
      return p.metadata?.deletionTimestamp ? p : undefined;
    });
    assert.deepEqual(
      { ...podCondition(plain, 'DisruptionTarget'), lastTransitionTime: undefined, lastProbeTime: undefined },
      { type: 'DisruptionTarget', status: 'True', reason: 'DeletionByTaintManager', message: 'Taint manager: deleting due to NoExecute taint', lastTransitionTime: undefined, lastProbeTime: undefined },
    );
    assert.equal((await client.get(PODS, 'apps', 'patient')).metadata?.deletionTimestamp, undefined, 'a 3 s toleration is not over yet');
    assert.equal(podCondition(plain, 'Ready')?.status, 'False', 'pods of the node are marked not ready');

    const patient = await eventually('patient evicted', async () => {
      const p = await client.get(PODS, 'apps', 'patient');
      return p.metadata?.deletionTimestamp ? p : undefined;
    });
    const evictedAt = Date.parse(podCondition(patient, 'DisruptionTarget')!.lastTransitionTime!);
    assert.ok(evictedAt >= Date.parse(noExecute.timeAdded!) + 3000, `evicted at ${podCondition(patient, 'DisruptionTarget')?.lastTransitionTime}, tainted at ${noExecute.timeAdded}`);
    assert.equal((await client.get(PODS, 'apps', 'forever')).metadata?.deletionTimestamp, undefined, 'a toleration without seconds lasts');
    assert.equal((await client.get(PODS, 'apps', 'elsewhere')).metadata?.deletionTimestamp, undefined);
    assert.deepEqual(taintsOf(await client.get(NODES, '', 'steady')), []);

    const events = (await client.list(EVENTS, 'apps')).items;
    const marking = events.find((e) => e.reason === 'TaintManagerEviction' && e.involvedObject?.name === 'plain');
    assert.equal(marking?.message, 'Marking for deletion Pod apps/plain');
    assert.equal(marking?.source?.component, 'taint-eviction-controller');
    const notReady = events.find((e) => e.reason === 'NodeNotReady' && e.involvedObject?.name === 'forever');
    assert.equal(notReady?.message, 'Node is not ready');
    assert.equal(notReady?.type, 'Warning');
    const nodeEvent = (await client.list(EVENTS, 'default')).items.find((e) => e.reason === 'NodeNotReady' && e.involvedObject?.name === 'flaky');
    assert.equal(nodeEvent?.message, 'Node flaky status is now: NodeNotReady');
  });

  it('lifts the taints once the kubelet is back', async () => {
    await kubelets.revive('flaky');
    const node = await eventually('flaky untainted', async () => {
      const n = await client.get(NODES, '', 'flaky');
      return taintsOf(n).length === 0 ? n : undefined;
    });
    assert.equal(node.status.conditions.find((c: any) => c.type === 'Ready').status, 'True');
    assert.equal((await client.get(PODS, 'apps', 'forever')).metadata?.deletionTimestamp, undefined);
  });

  it('taints by condition: pressure and cordoning', async () => {
    const n = await client.get(NODES, '', 'steady');
    const conds = n.status.conditions.map((c: any) => (c.type === 'MemoryPressure' ? { ...c, status: 'True' } : c));
    await client.patch(NODES, '', 'steady', 'application/merge-patch+json', { status: { conditions: conds } }, { subresource: 'status' });
    await client.patch(NODES, '', 'steady', 'application/merge-patch+json', { spec: { unschedulable: true } });
    const tainted = await eventually('NoSchedule taints', async () => {
      const x = await client.get(NODES, '', 'steady');
      return taintsOf(x).length === 2 ? x : undefined;
    });
    assert.deepEqual(taintsOf(tainted).map((t) => `${t.key}:${t.effect}`).sort(), ['node.kubernetes.io/memory-pressure:NoSchedule', 'node.kubernetes.io/unschedulable:NoSchedule']);
    await client.patch(NODES, '', 'steady', 'application/merge-patch+json', { spec: { unschedulable: false } });
    await eventually('unschedulable taint gone', async () => taintsOf(await client.get(NODES, '', 'steady')).length === 1);
    const again = await client.get(NODES, '', 'steady');
    await client.patch(NODES, '', 'steady', 'application/merge-patch+json', { status: { conditions: again.status.conditions.map((c: any) => (c.type === 'MemoryPressure' ? { ...c, status: 'False' } : c)) } }, { subresource: 'status' });
    await eventually('no taints', async () => taintsOf(await client.get(NODES, '', 'steady')).length === 0);
  });

  it('gives a node that never posted status Unknown conditions after the startup grace', async () => {
    await client.create(NODES, '', { apiVersion: 'v1', kind: 'Node', metadata: { name: 'silent' } });
    const node = await eventually('silent Unknown', async () => {
      const n = await client.get(NODES, '', 'silent');
      return n.status?.conditions?.length === 4 ? n : undefined;
    });
    const ready = node.status.conditions.find((c: any) => c.type === 'Ready');
    assert.equal(ready.status, 'Unknown');
    assert.equal(ready.reason, 'NodeStatusNeverUpdated');
    assert.equal(ready.message, 'Kubelet never posted node status.');
    await client.delete(NODES, '', 'silent');
    await eventually('RemovingNode', async () => (await client.list(EVENTS, 'default')).items.find((e) => e.reason === 'RemovingNode' && e.involvedObject?.name === 'silent'));
  });

  it('writes nothing when the world is settled', async () => {
    await eventually('a pass without writes', async () => {
      const writes = counting.writes;
      await lifecycle.reconcile('monitor:');
      for (const n of (await client.list(NODES, '')).items) await lifecycle.reconcile(n.metadata!.name!);
      for (const n of (await client.list(NODES, '')).items) await eviction.reconcile(n.metadata!.name!);
      return counting.writes === writes;
    }, 20);
  });
});

describe('node lifecycle controller when every node is down', () => {
  it('taints nothing NoExecute: the control plane is more likely cut off', async () => {
    const cluster = await startInProcessCluster('node-disruption');
    const kubelets = new Kubelets(cluster.client);
    await kubelets.register('only');
    kubelets.start();
    const informers = new SharedInformers(cluster.client);
    const lifecycle = new NodeLifecycleController(newControllerContext(cluster.client, informers, { log: () => undefined }), FAST);
    try {
      await lifecycle.start();
      kubelets.up.delete('only');
      await eventually('only Unknown and tainted NoSchedule', async () => {
        const n = await cluster.client.get(NODES, '', 'only');
        return n.status.conditions.find((c: any) => c.type === 'Ready').status === 'Unknown' && taintsOf(n).some((t) => t.effect === 'NoSchedule');
      });
      for (let i = 0; i < 3; i++) await lifecycle.reconcile('monitor:');
      assert.deepEqual(taintsOf(await cluster.client.get(NODES, '', 'only')).map((t) => `${t.key}:${t.effect}`), ['node.kubernetes.io/unreachable:NoSchedule']);
    } finally {
      kubelets.stop();
      await lifecycle.stop();
      informers.stop();
      await cluster.stop();
    }
  });
});
