import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { KubeObject } from '../api/types.js';
import { SharedInformers } from '../client/shared-informers.js';
import { CountingClient, eventually, startInProcessCluster, type InProcessCluster } from '../../test/harness/in-process.js';
import { newControllerContext } from './context.js';
import { NodeIpamController } from './node-ipam.js';
import { NODES } from './pods.js';

const node = (name: string, podCIDR?: string): KubeObject => ({
  apiVersion: 'v1',
  kind: 'Node',
  metadata: { name },
  spec: podCIDR ? { podCIDR, podCIDRs: [podCIDR] } : {},
});

describe('node ipam controller', () => {
  let cluster: InProcessCluster;
  let counting: CountingClient;
  let informers: SharedInformers;
  let controller: NodeIpamController;

  before(async () => {
    cluster = await startInProcessCluster('node-ipam');
    counting = new CountingClient(cluster.server);
    informers = new SharedInformers(counting);
    // A /22 cut into /24s: four subnets, one of them taken by a node that registered with it.
    controller = new NodeIpamController(newControllerContext(counting, informers), { clusterCIDR: '10.9.0.0/22', nodeCIDRMaskSize: 24, retryBaseDelayMs: 5, retryMaxDelayMs: 100 });
    await cluster.client.create(NODES, '', node('preset', '10.9.0.0/24'));
    await controller.start();
  });

  after(async () => {
    await controller.stop();
    informers.stop();
    await cluster.stop();
  });

  const cidrOf = async (name: string) => (await cluster.client.get(NODES, '', name)).spec?.podCIDR as string | undefined;

  it('gives each node without a podCIDR the lowest free subnet, skipping taken ones', async () => {
    await cluster.client.create(NODES, '', node('a'));
    await eventually('a gets a subnet', async () => (await cidrOf('a')) === '10.9.1.0/24');
    await cluster.client.create(NODES, '', node('b'));
    await cluster.client.create(NODES, '', node('c'));
    await eventually('b and c get subnets', async () => (await cidrOf('b')) && (await cidrOf('c')));
    assert.deepEqual([await cidrOf('b'), await cidrOf('c')].sort(), ['10.9.2.0/24', '10.9.3.0/24']);
    const b = await cluster.client.get(NODES, '', 'b');
    assert.deepEqual(b.spec?.podCIDRs, [b.spec?.podCIDR]);
  });

  it('reports CIDRNotAvailable when the range is used up, and assigns once a node leaves', async () => {
    await cluster.client.create(NODES, '', node('d'));
    const e = await eventually('a CIDRNotAvailable event', async () => {
      const events = await cluster.client.list({ group: '', version: 'v1', resource: 'events' }, 'default');
      return events.items.find((x) => x.involvedObject?.name === 'd' && x.reason === 'CIDRNotAvailable');
    });
    assert.equal(e.message, 'Node d status is now: CIDRNotAvailable');
    assert.equal(await cidrOf('d'), undefined);
    const freed = await cidrOf('a');
    await cluster.client.delete(NODES, '', 'a');
    await eventually('d gets the freed subnet', async () => (await cidrOf('d')) === freed);
  });

  it('writes nothing more once every node has its subnet', async () => {
    const before = counting.writes;
    for (const n of ['preset', 'b', 'c', 'd']) await controller.reconcile(n);
    assert.equal(counting.writes, before);
  });
});
