import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { KubeObject } from '../api/types.js';
import { ApiError } from '../api/errors.js';
import { ApiServer } from '../apiserver/server.js';
import { InProcessClient } from '../client/in-process.js';
import type { ResourceRef } from '../client/interface.js';
import { CountingClient, eventually, startInProcessCluster, type InProcessCluster } from '../../test/harness/in-process.js';
import { SYSTEM_NAMESPACES } from './bootstrap.js';
import { DESCRIPTION, DESCRIPTION_ANNOTATION, RootCaPublisher, ROOT_CA_CONFIG_MAP } from './root-ca-publisher.js';

const NAMESPACES: ResourceRef = { group: '', version: 'v1', resource: 'namespaces' };
const CM: ResourceRef = { group: '', version: 'v1', resource: 'configmaps' };
const CA = '-----BEGIN CERTIFICATE-----\nMIIBdummyrootcaforthetest\n-----END CERTIFICATE-----\n';

async function tryGet(client: InProcessClient, namespace: string): Promise<KubeObject | undefined> {
  try {
    return await client.get(CM, namespace, ROOT_CA_CONFIG_MAP);
  } catch (err) {
    if (err instanceof ApiError && err.code === 404) return undefined;
    throw err;
  }
}

describe('root CA publisher', () => {
  let cluster: InProcessCluster;
  let server: ApiServer;
  let client: InProcessClient;
  let counting: CountingClient;
  let publisher: RootCaPublisher;

  before(async () => {
    cluster = await startInProcessCluster('publisher');
    ({ server, client } = cluster);
    counting = new CountingClient(server);
    publisher = new RootCaPublisher(counting, { caCert: CA, retryBaseDelayMs: 5, retryMaxDelayMs: 200 });
    await publisher.start();
  });

  after(async () => {
    await publisher.stop();
    await cluster.stop();
  });

  /** The ConfigMap in `ns` once it holds exactly what it should. */
  function published(ns: string, other?: (cm: KubeObject) => boolean) {
    return eventually(`${ROOT_CA_CONFIG_MAP} in ${ns}`, async () => {
      const cm = await tryGet(client, ns);
      if (!cm || (other && !other(cm))) return undefined;
      try {
        assert.deepEqual(cm.data, { 'ca.crt': CA });
      } catch {
        return undefined;
      }
      return cm.metadata?.annotations?.[DESCRIPTION_ANNOTATION] === DESCRIPTION ? cm : undefined;
    });
  }

  it('publishes the CA in every existing namespace', async () => {
    for (const ns of SYSTEM_NAMESPACES) await published(ns);
  });

  it('publishes the CA in a new namespace', async () => {
    await client.create(NAMESPACES, '', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'ca-new' } });
    const cm = await published('ca-new');
    assert.equal(cm.kind, 'ConfigMap');
  });

  it('recreates a deleted ConfigMap', async () => {
    await client.create(NAMESPACES, '', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'ca-del' } });
    const first = await published('ca-del');
    await client.delete(CM, 'ca-del', ROOT_CA_CONFIG_MAP);
    await published('ca-del', (cm) => cm.metadata?.uid !== first.metadata?.uid);
  });

  it('reverts an edited ConfigMap', async () => {
    await client.create(NAMESPACES, '', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'ca-edit' } });
    const first = await published('ca-edit');
    const edited = await client.update(CM, 'ca-edit', { ...first, data: { 'ca.crt': 'not a CA', extra: 'x' } });
    const reverted = await published('ca-edit', (cm) => cm.metadata?.resourceVersion !== edited.metadata?.resourceVersion);
    assert.equal(reverted.metadata?.uid, first.metadata?.uid, 'updated in place, not recreated');
    // A removed description comes back as well.
    await client.patch(CM, 'ca-edit', ROOT_CA_CONFIG_MAP, 'application/merge-patch+json', { metadata: { annotations: { [DESCRIPTION_ANNOTATION]: null } } });
    await published('ca-edit');
  });

  it('writes nothing when the world is settled', async () => {
    const { items } = await client.list(NAMESPACES, '');
    const names = items.map((ns) => ns.metadata!.name!);
    const rvs = new Map<string, string | undefined>();
    for (const ns of names) rvs.set(ns, (await published(ns)).metadata?.resourceVersion);
    // The publisher's informer may trail the server. Its watch is in order: once it has seen the
    // marker's ConfigMap deleted (and recreated it), it has seen every write before.
    await client.create(NAMESPACES, '', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'ca-marker' } });
    const marker = await published('ca-marker');
    await client.delete(CM, 'ca-marker', ROOT_CA_CONFIG_MAP);
    const again = await published('ca-marker', (cm) => cm.metadata?.uid !== marker.metadata?.uid);
    rvs.set('ca-marker', again.metadata?.resourceVersion);
    const writes = counting.writes;
    for (const ns of rvs.keys()) await publisher.reconcile(ns);
    for (const [ns, rv] of rvs) assert.equal((await tryGet(client, ns))?.metadata?.resourceVersion, rv, `${ns} unchanged`);
    assert.equal(counting.writes, writes, 'no writes');
  });
});
