import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { KubeObject } from '../../api/types.js';
import { LEASES } from '../../client/leader-election.js';
import { NODES, rfc3339 } from '../../controllers/pods.js';
import { CountingClient, eventually, startInProcessCluster, type InProcessCluster } from '../../../test/harness/in-process.js';
import { SimulatedAgent } from './agent.js';

const cond = (node: KubeObject, type: string): Record<string, any> => (node.status?.conditions as Record<string, any>[]).find((c) => c.type === type)!;

describe('simulated nodes', () => {
  let cluster: InProcessCluster;

  before(async () => {
    cluster = await startInProcessCluster('simnodes');
  });
  after(async () => {
    await cluster.stop();
  });

  it('registers nodes with labels, capacity, conditions and leases owned by the node', async () => {
    const agent = new SimulatedAgent(cluster.client, {
      count: 3,
      namePrefix: 'reg-',
      startIndex: 4,
      zones: ['zone-a', 'zone-b'],
      instanceType: 'sim.large',
      labels: { team: 'scale' },
      events: false,
    });
    await agent.start();
    try {
      assert.deepEqual(agent.nodeNames(), ['reg-4', 'reg-5', 'reg-6']);
      const node = await cluster.client.get(NODES, '', 'reg-5');
      const labels = node.metadata!.labels!;
      assert.equal(labels['skiff.dev/simulated'], 'true');
      assert.equal(labels['kubernetes.io/hostname'], 'reg-5');
      assert.equal(labels['kubernetes.io/os'], 'linux');
      assert.equal(labels['kubernetes.io/arch'], 'amd64');
      assert.equal(labels['node.kubernetes.io/instance-type'], 'sim.large');
      assert.equal(labels['team'], 'scale');
      // Zones go round-robin by node index: 4 → a, 5 → b, 6 → a.
      assert.equal(labels['topology.kubernetes.io/zone'], 'zone-b');
      assert.equal((await cluster.client.get(NODES, '', 'reg-6')).metadata!.labels!['topology.kubernetes.io/zone'], 'zone-a');

      const status = node.status!;
      assert.deepEqual(status.capacity, { cpu: '8', 'ephemeral-storage': '100Gi', 'hugepages-1Gi': '0', 'hugepages-2Mi': '0', memory: '32Gi', pods: '110' });
      assert.deepEqual(status.allocatable, status.capacity);
      assert.deepEqual(
        (status.conditions as Record<string, any>[]).map((c) => [c.type, c.status, c.reason, c.message]),
        [
          ['MemoryPressure', 'False', 'KubeletHasSufficientMemory', 'kubelet has sufficient memory available'],
          ['DiskPressure', 'False', 'KubeletHasNoDiskPressure', 'kubelet has no disk pressure'],
          ['PIDPressure', 'False', 'KubeletHasSufficientPID', 'kubelet has sufficient PID available'],
          ['Ready', 'True', 'KubeletReady', 'kubelet is posting ready status'],
        ],
      );
      assert.ok(cond(node, 'Ready').lastHeartbeatTime && cond(node, 'Ready').lastTransitionTime);
      assert.deepEqual(status.addresses, [
        { type: 'InternalIP', address: '10.10.0.6' },
        { type: 'Hostname', address: 'reg-5' },
      ]);
      assert.equal(status.nodeInfo.kubeletVersion, 'v1.30.0-skiff.1');
      assert.equal(status.nodeInfo.containerRuntimeVersion, 'simulated://1.0');
      assert.equal(status.nodeInfo.osImage, 'skiff simulated node');
      assert.equal(status.nodeInfo.operatingSystem, 'linux');
      assert.equal(status.nodeInfo.architecture, 'amd64');
      assert.deepEqual(status.daemonEndpoints, { kubeletEndpoint: { Port: 10250 } });
      assert.equal(node.spec!.podCIDR, '10.244.5.0/24');
      assert.deepEqual(node.spec!.podCIDRs, ['10.244.5.0/24']);

      const lease = await cluster.client.get(LEASES, 'kube-node-lease', 'reg-5');
      assert.equal(lease.spec!.holderIdentity, 'reg-5');
      assert.equal(lease.spec!.leaseDurationSeconds, 40);
      assert.match(String(lease.spec!.renewTime), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/);
      assert.deepEqual(lease.metadata!.ownerReferences, [{ apiVersion: 'v1', kind: 'Node', name: 'reg-5', uid: node.metadata!.uid }]);
    } finally {
      await agent.stop();
    }
  });

  it('renews leases, and a node whose heartbeats stop keeps its last renewal until they resume', async () => {
    const agent = new SimulatedAgent(cluster.client, { count: 2, namePrefix: 'hb-', renewIntervalMs: 40, events: false });
    await agent.start();
    try {
      const renewTime = async (name: string) => String((await cluster.client.get(LEASES, 'kube-node-lease', name)).spec!.renewTime);
      const first = await renewTime('hb-0');
      await eventually('hb-0 renews its lease', async () => (await renewTime('hb-0')) !== first);

      // hb-1's renewals are the clock: hb-0 would have renewed meanwhile.
      const hb1Renews = async () => {
        const seen = await renewTime('hb-1');
        await eventually('hb-1 renews its lease', async () => (await renewTime('hb-1')) !== seen);
      };
      agent.stopHeartbeats('hb-0');
      await hb1Renews(); // a renewal already in flight when the kubelet died may still land
      const frozen = await renewTime('hb-0');
      for (let i = 0; i < 3; i++) await hb1Renews();
      assert.equal(await renewTime('hb-0'), frozen);
      assert.ok(await cluster.client.get(NODES, '', 'hb-0'), 'the node stays');

      agent.resumeHeartbeats('hb-0');
      await eventually('hb-0 renews again', async () => (await renewTime('hb-0')) !== frozen);
    } finally {
      await agent.stop();
    }
  });

  it('writes node status only when it changes or when the report frequency has passed', async () => {
    let clock = Date.parse('2030-01-01T00:00:00Z');
    const counting = new CountingClient(cluster.server);
    const agent = new SimulatedAgent(counting, {
      count: 1,
      namePrefix: 'status-',
      renewIntervalMs: 3_600_000,
      nodeStatusUpdateFrequencyMs: 10,
      events: false,
      now: () => clock,
    });
    await agent.start();
    try {
      const writesAfterStart = counting.writes;
      // 30 polls of 10 ms give the 10 ms status tick many turns to write something it should not.
      for (let i = 0; i < 30; i++) await new Promise((r) => setTimeout(r, 10));
      assert.equal(counting.writes, writesAfterStart, 'nothing changed, nothing written');

      // The node controller's view: the lease looked stale, Ready became Unknown. The kubelet puts it right.
      const node = await cluster.client.get(NODES, '', 'status-0');
      const conditions = (node.status!.conditions as Record<string, any>[]).map((c) =>
        c.type === 'Ready' ? { ...c, status: 'Unknown', reason: 'NodeStatusUnknown', message: 'Kubelet stopped posting node status.' } : c,
      );
      await cluster.client.patch(NODES, '', 'status-0', 'application/merge-patch+json', { status: { conditions } }, { subresource: 'status' });
      await eventually('Ready is True again', async () => cond(await cluster.client.get(NODES, '', 'status-0'), 'Ready').status === 'True');

      // Past nodeStatusReportFrequency (5 min) an unchanged status is reported anyway, with a new heartbeat.
      clock += 6 * 60_000;
      await eventually('a fresh heartbeat', async () => cond(await cluster.client.get(NODES, '', 'status-0'), 'Ready').lastHeartbeatTime === rfc3339(clock));
      const ready = cond(await cluster.client.get(NODES, '', 'status-0'), 'Ready');
      assert.notEqual(ready.lastTransitionTime, ready.lastHeartbeatTime, 'a heartbeat is not a transition');
    } finally {
      await agent.stop();
    }
  });

  it('takes over its registered nodes on restart without rewriting them', async () => {
    const first = new SimulatedAgent(cluster.client, { count: 3, namePrefix: 'again-', renewIntervalMs: 3_600_000, events: false });
    await first.start();
    await first.stop();
    const counting = new CountingClient(cluster.server);
    const second = new SimulatedAgent(counting, { count: 3, namePrefix: 'again-', renewIntervalMs: 3_600_000, nodeStatusUpdateFrequencyMs: 10, events: false });
    await second.start();
    try {
      for (let i = 0; i < 20; i++) await new Promise((r) => setTimeout(r, 10));
      assert.equal(counting.writes, 0);
    } finally {
      await second.stop();
    }
  });
});
