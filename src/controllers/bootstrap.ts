/**
 * What kube-apiserver creates for itself at start: the system namespaces and the `kubernetes`
 * Service in `default` that lets pods find the API (its ClusterIP is the first of the service range).
 */
import type { KubeObject } from '../api/types.js';
import type { Client, ResourceRef } from '../client/interface.js';
import { ApiError } from '../api/errors.js';
import { NAMESPACES } from './pods.js';

export const SYSTEM_NAMESPACES = ['default', 'kube-system', 'kube-public', 'kube-node-lease'];


const SERVICES: ResourceRef = { group: '', version: 'v1', resource: 'services' };
const ENDPOINTS: ResourceRef = { group: '', version: 'v1', resource: 'endpoints' };

async function createIfMissing(client: Client, ref: ResourceRef, namespace: string, obj: KubeObject): Promise<void> {
  try {
    await client.create(ref, namespace, obj);
  } catch (err) {
    if (!(err instanceof ApiError && err.code === 409)) throw err;
  }
}

export async function ensureSystemNamespaces(client: Client): Promise<void> {
  for (const name of SYSTEM_NAMESPACES) {
    await createIfMissing(client, NAMESPACES, '', { apiVersion: 'v1', kind: 'Namespace', metadata: { name } });
  }
}

export async function bootstrapCluster(client: Client, apiserver: { address: string; port: number; serviceIp: string }): Promise<void> {
  await ensureSystemNamespaces(client);
  const labels = { component: 'apiserver', provider: 'kubernetes' };
  const port = { name: 'https', port: 443, protocol: 'TCP', targetPort: apiserver.port };
  await ensure(client, SERVICES, {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: 'kubernetes', namespace: 'default', labels },
    spec: { type: 'ClusterIP', clusterIP: apiserver.serviceIp, clusterIPs: [apiserver.serviceIp], ports: [port], sessionAffinity: 'None' },
  }, (cur) => ({ ...cur, spec: { ...cur.spec, ports: [port] } }));
  const subsets = [{ addresses: [{ ip: apiserver.address }], ports: [{ name: 'https', port: apiserver.port, protocol: 'TCP' }] }];
  await ensure(client, ENDPOINTS, {
    apiVersion: 'v1',
    kind: 'Endpoints',
    metadata: { name: 'kubernetes', namespace: 'default', labels: { 'endpointslice.kubernetes.io/skip-mirror': 'true' } },
    subsets,
  }, (cur) => ({ ...cur, subsets }));
}

/**
 * Creates the object, or brings an existing one up to date with `update` (skiff may restart on
 * another port or address). An unchanged object is not written: the server ignores no-op updates.
 */
async function ensure(client: Client, ref: ResourceRef, desired: KubeObject, update: (cur: KubeObject) => KubeObject): Promise<void> {
  const ns = desired.metadata?.namespace ?? '';
  try {
    const cur = await client.get(ref, ns, desired.metadata!.name!);
    await client.update(ref, ns, update(cur));
  } catch (err) {
    if (!(err instanceof ApiError && err.code === 404)) throw err;
    await createIfMissing(client, ref, ns, desired);
  }
}
