/**
 * Two `skiff server`s on one etcd: exactly one runs the controller manager; when it dies (SIGKILL,
 * so it releases nothing), the other takes the Lease once it expires and the controllers work again.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startEtcd } from '../harness/etcd.js';
import { startSkiff, type SkiffProcess } from '../harness/skiff.js';
import { eventually } from '../harness/in-process.js';
import { HttpsClient } from '../../src/client/https.js';
import { LEASES } from '../../src/client/leader-election.js';
import type { KubeObject } from '../../src/api/types.js';

const TIMING = ['--leader-elect-lease-duration', '3s', '--leader-elect-renew-deadline', '2s', '--leader-elect-retry-period', '500ms'];
const NAMESPACES = { group: '', version: 'v1', resource: 'namespaces' };
const CONFIG_MAPS = { group: '', version: 'v1', resource: 'configmaps' };

function leaderOf(s: SkiffProcess): string | undefined {
  return /kube-controller-manager: became leader \(([^)]+)\)/.exec(s.output())?.[1];
}

test('leader failover: two servers on one etcd run one controller manager; the survivor takes over', async () => {
  const etcd = await startEtcd();
  const dataDir = await mkdtemp(join(tmpdir(), 'skiff-ha-'));
  const servers: SkiffProcess[] = [];
  const clients: HttpsClient[] = [];
  const clientFor = async (s: SkiffProcess) => {
    const c = await HttpsClient.fromKubeconfig(join(dataDir, 'kubeconfig'), s.url);
    clients.push(c);
    return c;
  };
  try {
    const first = await startSkiff({ command: 'server', etcd, dataDir, extraArgs: TIMING });
    servers.push(first);
    // Same data dir: both servers serve with the same cluster CA, as an HA control plane must.
    const second = await startSkiff({ command: 'server', etcd, dataDir, extraArgs: TIMING });
    servers.push(second);
    const leaderId = await eventually('a controller-manager leader', async () => leaderOf(first) ?? leaderOf(second), 1000);
    const [leader, follower] = leaderOf(first) === leaderId ? [first, second] : [second, first];
    const c = await clientFor(follower);
    const lease = await c.get(LEASES, 'kube-system', 'kube-controller-manager');
    assert.equal(lease.spec.holderIdentity, leaderId);
    assert.equal(leaderOf(follower), undefined, 'only one server leads');

    await leader.kill();
    const newId = await eventually('the survivor to take over', async () => leaderOf(follower), 2000);
    assert.notEqual(newId, leaderId);
    const taken = await c.get(LEASES, 'kube-system', 'kube-controller-manager');
    assert.equal(taken.spec.holderIdentity, newId);
    assert.equal(taken.spec.leaseTransitions, (lease.spec.leaseTransitions ?? 0) + 1);

    // The survivor's controllers act: a new namespace gets its kube-root-ca.crt.
    await c.create(NAMESPACES, '', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'after-failover' } } as KubeObject);
    await eventually('kube-root-ca.crt in the new namespace', async () => c.get(CONFIG_MAPS, 'after-failover', 'kube-root-ca.crt').catch(() => undefined), 1000);
  } finally {
    for (const c of clients) c.close();
    for (const s of servers) await s.stop();
    await etcd.stop();
    await rm(dataDir, { recursive: true, force: true });
  }
});
