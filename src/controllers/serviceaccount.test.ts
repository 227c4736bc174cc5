import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { KubeObject } from '../api/types.js';
import { ApiError } from '../api/errors.js';
import { ApiServer } from '../apiserver/server.js';
import { InProcessClient } from '../client/in-process.js';
import type { ResourceRef } from '../client/interface.js';
import { CountingClient, eventually, startInProcessCluster, type InProcessCluster } from '../../test/harness/in-process.js';
import { SYSTEM_NAMESPACES } from './bootstrap.js';
import { ServiceAccountController } from './serviceaccount.js';

const NAMESPACES: ResourceRef = { group: '', version: 'v1', resource: 'namespaces' };
const SA: ResourceRef = { group: '', version: 'v1', resource: 'serviceaccounts' };

async function tryGet(client: InProcessClient, namespace: string): Promise<KubeObject | undefined> {
  try {
    return await client.get(SA, namespace, 'default');
  } catch (err) {
    if (err instanceof ApiError && err.code === 404) return undefined;
    throw err;
  }
}

describe('service account controller', () => {
  let cluster: InProcessCluster;
  let server: ApiServer;
  let client: InProcessClient;
  let counting: CountingClient;
  let controller: ServiceAccountController;

  before(async () => {
    cluster = await startInProcessCluster('controller');
    ({ server, client } = cluster);
    counting = new CountingClient(server);
    controller = new ServiceAccountController(counting, { retryBaseDelayMs: 5, retryMaxDelayMs: 200 });
    await controller.start();
  });

  after(async () => {
    await controller.stop();
    await cluster.stop();
  });

  it('gives every existing namespace its default service account', async () => {
    for (const ns of SYSTEM_NAMESPACES) {
      const sa = await eventually(`default SA in ${ns}`, () => tryGet(client, ns));
      assert.equal(sa.kind, 'ServiceAccount');
      assert.equal(sa.metadata?.namespace, ns);
    }
  });

  it('gives a new namespace its default service account', async () => {
    await client.create(NAMESPACES, '', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'sa-new' } });
    await eventually('default SA in sa-new', () => tryGet(client, 'sa-new'));
  });

  it('brings a deleted default service account back', async () => {
    await client.create(NAMESPACES, '', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'sa-del' } });
    const first = await eventually('default SA in sa-del', () => tryGet(client, 'sa-del'));
    await client.delete(SA, 'sa-del', 'default');
    const second = await eventually('a new default SA in sa-del', async () => {
      const sa = await tryGet(client, 'sa-del');
      return sa && sa.metadata?.uid !== first.metadata?.uid ? sa : undefined;
    });
    assert.equal(second.metadata?.name, 'default');
  });

  it('leaves a terminating namespace alone', async () => {
    await client.create(NAMESPACES, '', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'sa-term' } });
    await eventually('default SA in sa-term', () => tryGet(client, 'sa-term'));
    // No namespace controller runs here: the namespace stays Terminating, held by its finalizer.
    await client.delete(NAMESPACES, '', 'sa-term');
    assert.ok((await client.get(NAMESPACES, '', 'sa-term')).metadata?.deletionTimestamp);
    // A marker namespace created after it: once the controller served the marker, its namespace
    // informer has seen sa-term terminate (one watch stream, in revision order).
    await client.create(NAMESPACES, '', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'sa-marker' } });
    const marker = await eventually('default SA in sa-marker', () => tryGet(client, 'sa-marker'));
    await client.delete(SA, 'sa-term', 'default');
    // The same for the service account informer: the marker's SA comes back only after it saw both deletions.
    await client.delete(SA, 'sa-marker', 'default');
    await eventually('a new default SA in sa-marker', async () => {
      const sa = await tryGet(client, 'sa-marker');
      return sa && sa.metadata?.uid !== marker.metadata?.uid;
    });
    assert.equal(await tryGet(client, 'sa-term'), undefined, 'not recreated by the controller');
    // The server refuses creates in a terminating namespace (403); the controller does not even try.
    const attempts = counting.attempts;
    await controller.reconcile('sa-term');
    assert.equal(await tryGet(client, 'sa-term'), undefined);
    assert.equal(counting.attempts, attempts, 'no create tried in a terminating namespace');
  });

  it('writes nothing when the world is settled', async () => {
    const { items } = await client.list(NAMESPACES, '');
    const active = items.filter((ns) => !ns.metadata?.deletionTimestamp).map((ns) => ns.metadata!.name!);
    const rvs = new Map<string, string | undefined>();
    for (const ns of active) {
      const sa = await eventually(`default SA in ${ns}`, () => tryGet(client, ns));
      rvs.set(ns, sa.metadata?.resourceVersion);
    }
    const writes = counting.writes;
    for (const ns of items.map((n) => n.metadata!.name!)) await controller.reconcile(ns);
    for (const ns of active) assert.equal((await tryGet(client, ns))?.metadata?.resourceVersion, rvs.get(ns), `${ns} unchanged`);
    assert.equal(counting.writes, writes, 'no writes');
  });
});
