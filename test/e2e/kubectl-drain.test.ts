/**
 * `kubectl drain` with the real kubectl against `skiff up --simulated-nodes 2`: the node is cordoned,
 * its pods are evicted through pods/eviction one at a time as their PodDisruptionBudget allows, and
 * the Deployment's pods end up on the other node.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { kubectl } from '../harness/skiff.js';
import { kubectlSuite, poll } from './kubectl-helpers.js';


describe('kubectl drain on sqlite', () => {
  const { server, k, kIn, getJson, newNamespace } = kubectlSuite('sqlite', ['--simulated-nodes', '2']);

  it('drains a node past a PodDisruptionBudget, and the pods end on the other node', async () => {
    const ns = 'drain';
    await newNamespace(ns);
    // Both replicas start on sim-0: sim-1 is cordoned until they run.
    await k('cordon', 'sim-1');
    const labels = { app: 'web' };
    await kIn(
      JSON.stringify({
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        metadata: { name: 'web', namespace: ns },
        spec: { replicas: 2, selector: { matchLabels: labels }, template: { metadata: { labels }, spec: { containers: [{ name: 'c', image: 'busybox' }] } } },
      }),
      'apply',
      '-f',
      '-',
    );
    await kIn(
      JSON.stringify({ apiVersion: 'policy/v1', kind: 'PodDisruptionBudget', metadata: { name: 'web', namespace: ns }, spec: { minAvailable: 1, selector: { matchLabels: labels } } }),
      'apply',
      '-f',
      '-',
    );
    await k('rollout', 'status', 'deployment/web', '-n', ns, '--timeout=60s');
    const before = await getJson('pods', '-n', ns);
    assert.deepEqual(
      before.items.map((p: any) => p.spec.nodeName),
      ['sim-0', 'sim-0'],
    );
    await poll('the budget to allow one disruption', async () => (await getJson('pdb', 'web', '-n', ns)).status?.disruptionsAllowed === 1);
    await k('uncordon', 'sim-1');

    const drain = await kubectl(server(), ['drain', 'sim-0', '--ignore-daemonsets', '--delete-emptydir-data', '--timeout=60s']);
    assert.equal(drain.code, 0, drain.stderr);
    // The budget lets one pod go at a time: the other is refused until its replacement is ready.
    assert.match(drain.stderr, /error when evicting pods\/"web-[a-z0-9-]+" -n "drain" \(will retry after 5s\): Cannot evict pod as it would violate the pod's disruption budget\./);
    const out = drain.stdout;
    assert.match(out, /node\/sim-0 cordoned/);
    assert.match(out, /pod\/web-[a-z0-9]+-[a-z0-9]+ evicted/);
    assert.match(out, /node\/sim-0 drained/);

    assert.equal((await getJson('node', 'sim-0')).spec.unschedulable, true);
    const after = await poll('both replicas running on sim-1', async () => {
      const pods = (await getJson('pods', '-n', ns)).items;
      return pods.length === 2 && pods.every((p: any) => p.spec.nodeName === 'sim-1' && p.status?.phase === 'Running' && !p.metadata.deletionTimestamp) && pods;
    });
    assert.equal(after.length, 2);
  });
});
