import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { KubeObject } from '../../api/types.js';
import type { PatchType, ResourceRef, WriteOptions } from '../../client/interface.js';
import { NODES, PODS } from '../../controllers/pods.js';
import { CountingClient, eventually, startInProcessCluster, type InProcessCluster } from '../../../test/harness/in-process.js';
import { SimulatedAgent } from './agent.js';
import { condition, createBoundPod, testPod } from './testing.js';

/** Counts pod status writes, and how many were in flight at once. */
class StatusWriteCounter extends CountingClient {
  statusWrites = 0;
  inFlight = 0;
  maxInFlight = 0;
  override async patch(ref: ResourceRef, namespace: string, name: string, type: PatchType, patch: unknown, opts?: WriteOptions) {
    if (ref.resource !== 'pods' || opts?.subresource !== 'status') return super.patch(ref, namespace, name, type, patch, opts);
    this.statusWrites++;
    this.maxInFlight = Math.max(this.maxInFlight, ++this.inFlight);
    try {
      return await super.patch(ref, namespace, name, type, patch, opts);
    } finally {
      this.inFlight--;
    }
  }
}

const PODS_TOTAL = 500;
const NODES_TOTAL = 20;

describe('simulated agent at scale', () => {
  let cluster: InProcessCluster;

  before(async () => {
    cluster = await startInProcessCluster('simscale');
  });
  after(async () => {
    await cluster.stop();
  });

  it(`runs ${PODS_TOTAL} pods on ${NODES_TOTAL} nodes, each with its own address, through a bounded writer`, async () => {
    const counter = new StatusWriteCounter(cluster.server);
    const agent = new SimulatedAgent(counter, { count: NODES_TOTAL, namePrefix: 'scale-', maxInFlightWrites: 16, renewIntervalMs: 3_600_000 });
    await agent.start();
    try {
      // A burst, as a scheduler binding a big Job would make it.
      const batch = 50;
      for (let i = 0; i < PODS_TOTAL; i += batch) {
        await Promise.all(
          Array.from({ length: Math.min(batch, PODS_TOTAL - i) }, (_, k) =>
            createBoundPod(cluster.client, 'default', `scale-${(i + k) % NODES_TOTAL}`, testPod(`burst-${i + k}`)),
          ),
        );
      }
      const pods = await eventually(
        'every pod Running and Ready',
        async () => {
          const items = (await cluster.client.list(PODS, 'default')).items;
          return items.length === PODS_TOTAL && items.every((p) => p.status?.phase === 'Running' && condition(p, 'Ready')?.status === 'True') && items;
        },
        2000,
      );

      const cidrs = new Map((await cluster.client.list(NODES, '')).items.map((n: KubeObject) => [n.metadata!.name!, String(n.spec!.podCIDR)]));
      const byNode = new Map<string, Set<string>>();
      for (const p of pods) {
        const node = p.spec!.nodeName as string;
        const ip = p.status!.podIP as string;
        const prefix = cidrs.get(node)!.replace(/0\/24$/, '');
        assert.ok(ip.startsWith(prefix), `${ip} of ${p.metadata!.name} is in ${node}'s ${cidrs.get(node)}`);
        const seen = byNode.get(node) ?? new Set<string>();
        assert.ok(!seen.has(ip), `${ip} is used twice on ${node}`);
        seen.add(ip);
        byNode.set(node, seen);
      }
      assert.equal([...byNode.values()].reduce((n, s) => n + s.size, 0), PODS_TOTAL);

      await agent.idle();
      assert.ok(counter.maxInFlight <= 16, `at most 16 status writes in flight (saw ${counter.maxInFlight})`);
      // Pending and Running may each be written once; coalescing keeps it from being more.
      assert.ok(counter.statusWrites <= 2 * PODS_TOTAL, `${counter.statusWrites} status writes for ${PODS_TOTAL} pods`);
    } finally {
      await agent.stop();
    }
  });

  it('gives the addresses of finished pods back: 300 short jobs fit on a node whose range holds 253', async () => {
    const agent = new SimulatedAgent(cluster.client, { count: 1, namePrefix: 'jobs-', runDurationMs: 0, startupMs: 0, events: false, renewIntervalMs: 3_600_000 });
    await agent.start();
    try {
      // Without addresses coming back, the third wave's last 47 pods would wait for a sandbox forever.
      for (let wave = 0; wave < 3; wave++) {
        const names = Array.from({ length: 100 }, (_, i) => `job-${wave}-${i}`);
        await Promise.all(names.map((n) => createBoundPod(cluster.client, 'default', 'jobs-0', testPod(n, { restartPolicy: 'Never' }))));
        await eventually(
          `wave ${wave} Succeeded`,
          async () => {
            const phases = await Promise.all(names.map(async (n) => (await cluster.client.get(PODS, 'default', n)).status?.phase));
            return phases.every((ph) => ph === 'Succeeded');
          },
          2000,
        );
      }
    } finally {
      await agent.stop();
    }
  });
});
