import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { KubeObject } from '../../api/types.js';
import { ApiError } from '../../api/errors.js';
import type { InProcessClient } from '../../client/in-process.js';
import type { WatchHandle } from '../../client/interface.js';
import { SharedInformers } from '../../client/shared-informers.js';
import { CountingClient, eventually, startInProcessCluster, type InProcessCluster } from '../../../test/harness/in-process.js';
import { newControllerContext, type ControllerContext } from '../context.js';
import { CONTROLLER_REVISIONS, DAEMON_SETS, EVENTS, NODES, PODS, isPodReady } from '../pods.js';
import { CONTROLLER_REVISION_HASH_LABEL } from '../history.js';
import { DaemonSetController } from './controller.js';
import { targetNodeName } from './placement.js';

const NAMESPACES = { group: '', version: 'v1', resource: 'namespaces' };

describe('daemonset controller', () => {
  let cluster: InProcessCluster;
  let client: InProcessClient;
  let counting: CountingClient;
  let informers: SharedInformers;
  let ctx: ControllerContext;
  let controller: DaemonSetController;

  before(async () => {
    cluster = await startInProcessCluster('daemonset');
    client = cluster.client;
    counting = new CountingClient(cluster.server);
    informers = new SharedInformers(counting);
    ctx = newControllerContext(counting, informers);
    controller = new DaemonSetController(ctx, { retryBaseDelayMs: 5, retryMaxDelayMs: 200, failedPodBackoff: { initialMs: 20, maxMs: 200 } });
    await controller.start();
  });

  after(async () => {
    await controller.stop();
    await ctx.recorder('daemonset-controller').flush();
    informers.stop();
    await cluster.stop();
  });

  // ---- fixtures ----

  async function namespace(name: string): Promise<string> {
    await client.create(NAMESPACES, '', { apiVersion: 'v1', kind: 'Namespace', metadata: { name } });
    return name;
  }

  async function node(name: string, labels: Record<string, string>, taints?: unknown[]): Promise<void> {
    await client.create(NODES, '', {
      apiVersion: 'v1',
      kind: 'Node',
      metadata: { name, labels },
      spec: taints ? { taints } : {},
      status: { conditions: [{ type: 'Ready', status: 'True', reason: 'KubeletReady', lastHeartbeatTime: new Date().toISOString(), lastTransitionTime: new Date().toISOString() }] },
    });
  }

  async function setTaints(name: string, taints: unknown[]): Promise<void> {
    await client.patch(NODES, '', name, 'application/merge-patch+json', { spec: { taints } });
  }

  function daemonSet(ns: string, name: string, nodeSelector: Record<string, string>, extra: Record<string, any> = {}): KubeObject {
    const { podSpec, ...spec } = extra;
    return {
      apiVersion: 'apps/v1',
      kind: 'DaemonSet',
      metadata: { name, namespace: ns },
      spec: {
        selector: { matchLabels: { app: name } },
        template: { metadata: { labels: { app: name } }, spec: { nodeSelector, containers: [{ name: 'agent', image: 'agent:1' }], ...podSpec } },
        ...spec,
      },
    };
  }

  async function pods(ns: string): Promise<KubeObject[]> {
    return (await client.list(PODS, ns)).items;
  }

  async function ds(ns: string, name: string): Promise<KubeObject> {
    return client.get(DAEMON_SETS, ns, name);
  }

  /** Pods of `ns` by target node, once every node in `nodes` (and no other) has exactly one live pod. */
  function onePodPer(ns: string, nodes: string[], extra?: (p: KubeObject[]) => boolean): Promise<Map<string, KubeObject>> {
    return eventually(`one pod on each of ${nodes.join(', ')} in ${ns}`, async () => {
      const live = (await pods(ns)).filter((p) => !p.metadata?.deletionTimestamp);
      const byNode = new Map(live.map((p) => [targetNodeName(p)!, p]));
      if (live.length !== nodes.length || byNode.size !== nodes.length || !nodes.every((n) => byNode.has(n))) return undefined;
      if (extra && !extra(live)) return undefined;
      return byNode;
    });
  }

  /** What a scheduler and kubelet would do, one pass: bind, run, finish deletions. */
  async function kubeletPass(ns: string, opts: { ready?: boolean } = {}): Promise<void> {
    for (const pod of await pods(ns)) {
      const name = pod.metadata!.name!;
      try {
        if (pod.metadata?.deletionTimestamp) {
          await client.delete(PODS, ns, name, { gracePeriodSeconds: 0 });
          continue;
        }
        if (!pod.spec?.nodeName) {
          await client.create(PODS, ns, { apiVersion: 'v1', kind: 'Binding', metadata: { name }, target: { kind: 'Node', name: targetNodeName(pod) } }, { subresource: 'binding' });
        }
        if ((opts.ready ?? true) && !isPodReady(pod) && pod.status?.phase !== 'Failed') {
          await client.patch(
            PODS,
            ns,
            name,
            'application/merge-patch+json',
            { status: { phase: 'Running', conditions: [{ type: 'Ready', status: 'True', lastTransitionTime: new Date(Date.now() - 60_000).toISOString() }], podIP: '10.0.0.1' } },
            { subresource: 'status' },
          );
        }
      } catch (err) {
        // The controller may delete or replace a pod under our feet.
        if (!(err instanceof ApiError && (err.code === 404 || err.code === 409))) throw err;
      }
    }
  }

  async function statusIs(ns: string, name: string, want: Record<string, number>): Promise<KubeObject> {
    return eventually(`status of ${ns}/${name} to be ${JSON.stringify(want)}`, async () => {
      const d = await ds(ns, name);
      const s = d.status ?? {};
      const ok = Object.entries(want).every(([k, v]) => (s[k] ?? 0) === v) && s.observedGeneration === d.metadata?.generation;
      return ok ? d : undefined;
    });
  }

  async function events(ns: string, reason: string): Promise<KubeObject[]> {
    return (await client.list(EVENTS, ns)).items.filter((e) => e.reason === reason);
  }

  // ---- tests ----

  it('runs one unbound pod per node, pinned by node affinity, with the daemon tolerations and revision labels', async () => {
    const ns = await namespace('ds-basic');
    for (const n of ['basic-1', 'basic-2', 'basic-3']) await node(n, { suite: 'basic' });
    await client.create(DAEMON_SETS, ns, daemonSet(ns, 'agent', { suite: 'basic' }));
    const byNode = await onePodPer(ns, ['basic-1', 'basic-2', 'basic-3']);

    const revisions = (await client.list(CONTROLLER_REVISIONS, ns)).items;
    assert.equal(revisions.length, 1);
    const rev = revisions[0];
    const hash = rev.metadata!.labels![CONTROLLER_REVISION_HASH_LABEL];
    assert.equal(rev.metadata!.name, `agent-${hash}`);
    assert.equal(rev.revision, 1);
    assert.equal(rev.data.spec.template.$patch, 'replace');
    assert.equal(rev.data.spec.template.spec.containers[0].image, 'agent:1');
    assert.equal(rev.metadata!.ownerReferences![0].kind, 'DaemonSet');
    assert.equal(rev.metadata!.annotations!['deprecated.daemonset.template.generation'], '1');

    for (const [nodeName, pod] of byNode) {
      assert.equal(pod.spec?.nodeName, undefined, 'left to the scheduler');
      assert.deepEqual(pod.spec?.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution, {
        nodeSelectorTerms: [{ matchFields: [{ key: 'metadata.name', operator: 'In', values: [nodeName] }] }],
      });
      assert.equal(pod.metadata?.generateName, 'agent-');
      assert.equal(pod.metadata?.labels?.[CONTROLLER_REVISION_HASH_LABEL], hash);
      assert.equal(pod.metadata?.labels?.['pod-template-generation'], '1');
      assert.equal(pod.metadata?.ownerReferences?.[0].kind, 'DaemonSet');
      assert.deepEqual(
        pod.spec?.tolerations.map((t: KubeObject) => `${t.key}:${t.operator}:${t.effect}`),
        [
          'node.kubernetes.io/not-ready:Exists:NoExecute',
          'node.kubernetes.io/unreachable:Exists:NoExecute',
          'node.kubernetes.io/disk-pressure:Exists:NoSchedule',
          'node.kubernetes.io/memory-pressure:Exists:NoSchedule',
          'node.kubernetes.io/pid-pressure:Exists:NoSchedule',
          'node.kubernetes.io/unschedulable:Exists:NoSchedule',
        ],
      );
    }
    await statusIs(ns, 'agent', { desiredNumberScheduled: 3, currentNumberScheduled: 3, numberReady: 0, updatedNumberScheduled: 3, numberAvailable: 0, numberUnavailable: 3 });

    await kubeletPass(ns);
    const done = await statusIs(ns, 'agent', { desiredNumberScheduled: 3, currentNumberScheduled: 3, numberMisscheduled: 0, numberReady: 3, updatedNumberScheduled: 3, numberAvailable: 3, numberUnavailable: 0 });
    assert.equal('numberUnavailable' in done.status, false, 'zero omitted as Go does');
    const created = await eventually('SuccessfulCreate events', async () => {
      const e = await events(ns, 'SuccessfulCreate');
      return e.length === 3 ? e : undefined;
    });
    assert.match(created[0].message, /^Created pod: agent-[a-z0-9]{5}$/);
    assert.equal(created[0].source.component, 'daemonset-controller');
  });

  it('respects nodeSelector and taints: NoSchedule keeps a running pod, NoExecute evicts it', async () => {
    const ns = await namespace('ds-taints');
    const ns2 = await namespace('ds-taints-tolerant');
    await node('taint-a', { suite: 'taints' });
    await node('taint-b', { suite: 'taints' }, [{ key: 'dedicated', value: 'db', effect: 'NoSchedule' }]);
    await node('taint-c', { suite: 'taints' }, [{ key: 'soft', effect: 'PreferNoSchedule' }]);
    await node('taint-d', { suite: 'other' });

    await client.create(DAEMON_SETS, ns, daemonSet(ns, 'plain', { suite: 'taints' }));
    await client.create(DAEMON_SETS, ns2, daemonSet(ns2, 'tolerant', { suite: 'taints' }, { podSpec: { tolerations: [{ key: 'dedicated', operator: 'Exists' }] } }));
    await onePodPer(ns, ['taint-a', 'taint-c']);
    await onePodPer(ns2, ['taint-a', 'taint-b', 'taint-c']);
    await statusIs(ns, 'plain', { desiredNumberScheduled: 2, currentNumberScheduled: 2, numberMisscheduled: 0 });

    // NoSchedule on a node with a running pod: no new pods wanted there, but the pod stays.
    const before = await onePodPer(ns, ['taint-a', 'taint-c']);
    await setTaints('taint-a', [{ key: 'maintenance', effect: 'NoSchedule' }]);
    await statusIs(ns, 'plain', { desiredNumberScheduled: 1, currentNumberScheduled: 1, numberMisscheduled: 1 });
    const after = await onePodPer(ns, ['taint-a', 'taint-c']);
    assert.equal(after.get('taint-a')?.metadata?.uid, before.get('taint-a')?.metadata?.uid, 'pod on the NoSchedule node kept');

    // NoExecute: the pod must go.
    await setTaints('taint-c', [{ key: 'evict', effect: 'NoExecute' }]);
    await onePodPer(ns, ['taint-a']);
    await statusIs(ns, 'plain', { desiredNumberScheduled: 0, currentNumberScheduled: 0, numberMisscheduled: 1 });
    // The tolerant set tolerates neither new taint: it keeps taint-a's pod and loses taint-c's.
    await onePodPer(ns2, ['taint-a', 'taint-b']);
  });

  it('follows nodes as they are added and deleted', async () => {
    const ns = await namespace('ds-follow');
    await node('follow-1', { suite: 'follow' });
    await node('follow-2', { suite: 'follow' });
    await client.create(DAEMON_SETS, ns, daemonSet(ns, 'agent', { suite: 'follow' }));
    await onePodPer(ns, ['follow-1', 'follow-2']);

    await node('follow-3', { suite: 'follow' });
    await onePodPer(ns, ['follow-1', 'follow-2', 'follow-3']);
    await statusIs(ns, 'agent', { desiredNumberScheduled: 3, currentNumberScheduled: 3 });

    // A label change that takes the node out of the selector removes its pod.
    await client.patch(NODES, '', 'follow-2', 'application/merge-patch+json', { metadata: { labels: { suite: 'elsewhere' } } });
    await onePodPer(ns, ['follow-1', 'follow-3']);

    // A deleted node takes its unscheduled pod with it.
    await client.delete(NODES, '', 'follow-3');
    await onePodPer(ns, ['follow-1']);
    await statusIs(ns, 'agent', { desiredNumberScheduled: 1, currentNumberScheduled: 1, numberMisscheduled: 0 });
  });

  /**
   * Watches the namespace's pods and records, after every change, how many of `nodes` lack an
   * available pod, and the most live (not terminating) pods seen on one node.
   */
  async function watchAvailability(ns: string, nodes: string[]): Promise<{ stop(): { maxUnavailable: number; maxPerNode: number; maxSurged: number; deleted: string[] } }> {
    const listed = await client.list(PODS, ns);
    const live = new Map<string, KubeObject>(listed.items.map((p) => [p.metadata!.name!, p]));
    let maxUnavailable = 0;
    let maxPerNode = 0;
    let maxSurged = 0;
    const deleted: string[] = [];
    const handle: WatchHandle = client.watch(PODS, ns, { resourceVersion: listed.resourceVersion }, (type, pod) => {
      if (type === 'ERROR' || type === 'BOOKMARK') return;
      const name = pod.metadata!.name!;
      const prev = live.get(name);
      if (type === 'DELETED') live.delete(name);
      else live.set(name, pod);
      if (pod.metadata?.deletionTimestamp && !prev?.metadata?.deletionTimestamp && type !== 'DELETED') deleted.push(targetNodeName(pod)!);
      const perNode = new Map<string, number>();
      const available = new Set<string>();
      for (const p of live.values()) {
        if (p.metadata?.deletionTimestamp) continue;
        const n = targetNodeName(p)!;
        perNode.set(n, (perNode.get(n) ?? 0) + 1);
        if (isPodReady(p)) available.add(n);
      }
      maxUnavailable = Math.max(maxUnavailable, nodes.filter((n) => !available.has(n)).length);
      maxPerNode = Math.max(maxPerNode, ...perNode.values());
      maxSurged = Math.max(maxSurged, [...perNode.values()].filter((c) => c > 1).length);
    });
    return {
      stop() {
        handle.stop();
        return { maxUnavailable, maxPerNode, maxSurged, deleted };
      },
    };
  }

  /** Runs the kubelet until every node has one ready pod of the DaemonSet's current revision. */
  async function rollOut(ns: string, name: string, nodes: string[]): Promise<void> {
    await eventually(
      `${ns}/${name} rolled out`,
      async () => {
        await kubeletPass(ns);
        const d = await ds(ns, name);
        const s = d.status ?? {};
        return s.observedGeneration === d.metadata?.generation && s.updatedNumberScheduled === nodes.length && s.numberAvailable === nodes.length && (await pods(ns)).length === nodes.length;
      },
      1500,
    );
  }

  it('rolls an update out node by node within maxUnavailable', async () => {
    const ns = await namespace('ds-rolling');
    const nodes = ['roll-1', 'roll-2', 'roll-3'];
    for (const n of nodes) await node(n, { suite: 'rolling' });
    await client.create(DAEMON_SETS, ns, daemonSet(ns, 'agent', { suite: 'rolling' }));
    await onePodPer(ns, nodes);
    await rollOut(ns, 'agent', nodes);
    const oldHash = (await pods(ns))[0].metadata!.labels![CONTROLLER_REVISION_HASH_LABEL];

    const watch = await watchAvailability(ns, nodes);
    await client.patch(DAEMON_SETS, ns, 'agent', 'application/merge-patch+json', { spec: { template: { spec: { containers: [{ name: 'agent', image: 'agent:2' }] } } } });
    await rollOut(ns, 'agent', nodes);
    const seen = watch.stop();

    assert.equal(seen.maxUnavailable, 1, 'one node at a time (maxUnavailable 1)');
    assert.equal(seen.maxPerNode, 1, 'no surge');
    assert.deepEqual([...seen.deleted].sort(), nodes, 'every node replaced once');
    const now = await pods(ns);
    assert.ok(now.every((p) => p.metadata!.labels![CONTROLLER_REVISION_HASH_LABEL] !== oldHash && p.metadata!.labels!['pod-template-generation'] === '2'));
    assert.ok(now.every((p) => p.spec.containers[0].image === 'agent:2'));
    const revs = (await client.list(CONTROLLER_REVISIONS, ns)).items.sort((a, b) => a.revision - b.revision);
    assert.deepEqual(
      revs.map((r) => r.revision),
      [1, 2],
    );
    assert.equal(revs[1].metadata!.labels![CONTROLLER_REVISION_HASH_LABEL], now[0].metadata!.labels![CONTROLLER_REVISION_HASH_LABEL]);
  });

  it('surges with maxSurge: a new pod beside the old one, never a node without an available pod', async () => {
    const ns = await namespace('ds-surge');
    const nodes = ['surge-1', 'surge-2', 'surge-3'];
    for (const n of nodes) await node(n, { suite: 'surge' });
    await client.create(DAEMON_SETS, ns, daemonSet(ns, 'agent', { suite: 'surge' }, { updateStrategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 0, maxSurge: 1 } } }));
    await onePodPer(ns, nodes);
    await rollOut(ns, 'agent', nodes);

    const watch = await watchAvailability(ns, nodes);
    await client.patch(DAEMON_SETS, ns, 'agent', 'application/merge-patch+json', { spec: { template: { spec: { containers: [{ name: 'agent', image: 'agent:2' }] } } } });
    await rollOut(ns, 'agent', nodes);
    const seen = watch.stop();
    assert.equal(seen.maxUnavailable, 0, 'every node keeps an available pod');
    assert.equal(seen.maxPerNode, 2);
    assert.equal(seen.maxSurged, 1, 'one node surged at a time (maxSurge 1)');
  });

  it('OnDelete changes pods only when they are deleted', async () => {
    const ns = await namespace('ds-ondelete');
    const nodes = ['ondel-1', 'ondel-2'];
    for (const n of nodes) await node(n, { suite: 'ondelete' });
    await client.create(DAEMON_SETS, ns, daemonSet(ns, 'agent', { suite: 'ondelete' }, { updateStrategy: { type: 'OnDelete' } }));
    await onePodPer(ns, nodes);
    await rollOut(ns, 'agent', nodes);
    await client.patch(DAEMON_SETS, ns, 'agent', 'application/merge-patch+json', { spec: { template: { spec: { containers: [{ name: 'agent', image: 'agent:2' }] } } } });
    await statusIs(ns, 'agent', { desiredNumberScheduled: 2, updatedNumberScheduled: 0, numberAvailable: 2 });
    const before = await onePodPer(ns, nodes);
    await client.delete(PODS, ns, before.get('ondel-1')!.metadata!.name!, { gracePeriodSeconds: 0 });
    const after = await onePodPer(ns, nodes, (ps) => ps.some((p) => p.spec.containers[0].image === 'agent:2'));
    assert.equal(after.get('ondel-1')!.spec.containers[0].image, 'agent:2');
    assert.equal(after.get('ondel-2')!.metadata!.uid, before.get('ondel-2')!.metadata!.uid, 'the other pod is left alone');
  });

  it('replaces a failed daemon pod, saying so', async () => {
    const ns = await namespace('ds-failed');
    await node('failed-1', { suite: 'failed' });
    await client.create(DAEMON_SETS, ns, daemonSet(ns, 'agent', { suite: 'failed' }));
    const first = (await onePodPer(ns, ['failed-1'])).get('failed-1')!;
    await client.patch(PODS, ns, first.metadata!.name!, 'application/merge-patch+json', { status: { phase: 'Failed' } }, { subresource: 'status' });
    const second = await onePodPer(ns, ['failed-1'], (ps) => ps[0].metadata!.uid !== first.metadata!.uid);
    assert.notEqual(second.get('failed-1')!.metadata!.name, first.metadata!.name);
    const e = await eventually('FailedDaemonPod event', async () => (await events(ns, 'FailedDaemonPod'))[0]);
    assert.equal(e.type, 'Warning');
    assert.equal(e.message, `Found failed daemon pod ${ns}/${first.metadata!.name} on node failed-1, will try to kill it`);
  });

  it('numbers revisions, reuses one on rollback and trims history to revisionHistoryLimit', async () => {
    const ns = await namespace('ds-history');
    // No node matches: the history alone is under test.
    await client.create(DAEMON_SETS, ns, daemonSet(ns, 'agent', { suite: 'nowhere' }, { revisionHistoryLimit: 1 }));
    const image = (tag: string) => client.patch(DAEMON_SETS, ns, 'agent', 'application/merge-patch+json', { spec: { template: { spec: { containers: [{ name: 'agent', image: tag }] } } } });
    const revisions = async (n: number) =>
      eventually(`${n} revisions`, async () => {
        const items = (await client.list(CONTROLLER_REVISIONS, ns)).items;
        return items.length === n ? items.map((r) => `${r.revision}:${r.data.spec.template.spec.containers[0].image}`).sort() : undefined;
      });
    await revisions(1);
    await image('agent:2');
    await statusIs(ns, 'agent', {});
    assert.deepEqual(await revisions(2), ['1:agent:1', '2:agent:2']);
    await image('agent:1');
    await eventually('rollback renumbers revision 1 to 3', async () => {
      const r = await revisions(2);
      return r.join() === '2:agent:2,3:agent:1';
    });
    await image('agent:3');
    // Limit 1: the current revision and one old one stay.
    await eventually('history trimmed', async () => (await revisions(2)).join() === '3:agent:1,4:agent:3');
  });

  it('writes nothing when the world is settled', async () => {
    // Let every DaemonSet settle: all pods bound and ready, all statuses observed.
    const names = (await client.list(DAEMON_SETS, '')).items.map((d) => [d.metadata!.namespace!, d.metadata!.name!] as const);
    for (const [ns] of names) await kubeletPass(ns);
    await eventually(
      'every DaemonSet settled',
      async () => {
        for (const [ns] of names) await kubeletPass(ns);
        for (const [ns, name] of names) {
          const d = await ds(ns, name);
          const s = d.status ?? {};
          const live = (await pods(ns)).filter((p) => !p.metadata?.deletionTimestamp && isPodReady(p));
          // OnDelete sets may stay partly old; everything else is rolled out.
          if (s.observedGeneration !== d.metadata?.generation || (s.numberAvailable ?? 0) !== s.desiredNumberScheduled) return false;
          if (live.length !== s.currentNumberScheduled + s.numberMisscheduled) return false;
        }
        return true;
      },
      1500,
    );
    await ctx.recorder('daemonset-controller').flush();
    const writes = counting.writes;
    const attempts = counting.attempts;
    for (const [ns, name] of names) await controller.reconcile(`${ns}/${name}`);
    await ctx.recorder('daemonset-controller').flush();
    assert.equal(counting.attempts, attempts, 'no write attempted');
    assert.equal(counting.writes, writes, 'no writes');
  });
});
