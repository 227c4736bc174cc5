/**
 * What kubeadm's bootstrap-token phase puts in a cluster so that nodes can join with a token:
 * the `cluster-info` ConfigMap in kube-public (a kubeconfig with the API server's URL and the
 * cluster CA, no credentials), readable by system:anonymous through the Role and RoleBinding
 * `kubeadm:bootstrap-signer-clusterinfo`, and the bindings that let token holders
 * (system:bootstrappers:kubeadm:default-node-token) ask for node client certificates and have them
 * approved, and nodes (system:nodes) renew theirs. The ClusterRoles bound are upstream's default
 * ones; they are created here only if nothing else has made them.
 */
import { stringify } from 'yaml';
import { isDeepStrictEqual } from 'node:util';
import type { KubeObject } from '../api/types.js';
import { ApiError } from '../api/errors.js';
import type { Client, ResourceRef } from '../client/interface.js';
import { CLUSTER_INFO, CLUSTER_INFO_NAMESPACE, DEFAULT_NODE_TOKEN_GROUP, KUBECONFIG_KEY } from '../cluster-bootstrap/token.js';

const CONFIG_MAPS: ResourceRef = { group: '', version: 'v1', resource: 'configmaps' };
const RBAC = 'rbac.authorization.k8s.io';
const ROLES: ResourceRef = { group: RBAC, version: 'v1', resource: 'roles' };
const ROLE_BINDINGS: ResourceRef = { group: RBAC, version: 'v1', resource: 'rolebindings' };
const CLUSTER_ROLE_BINDINGS: ResourceRef = { group: RBAC, version: 'v1', resource: 'clusterrolebindings' };

export const CLUSTER_INFO_ROLE = 'kubeadm:bootstrap-signer-clusterinfo';
const NODE_BOOTSTRAPPER = 'system:node-bootstrapper';
const NODE_CLIENT = 'system:certificates.k8s.io:certificatesigningrequests:nodeclient';
const SELF_NODE_CLIENT = 'system:certificates.k8s.io:certificatesigningrequests:selfnodeclient';

/** The kubeconfig kubeadm publishes: one unnamed cluster, nothing else. */
export function clusterInfoKubeconfig(server: string, caCert: string): string {
  return stringify({
    apiVersion: 'v1',
    clusters: [{ cluster: { 'certificate-authority-data': Buffer.from(caCert).toString('base64'), server }, name: '' }],
    contexts: null,
    'current-context': '',
    kind: 'Config',
    preferences: {},
    users: null,
  });
}

async function createIfMissing(client: Client, ref: ResourceRef, obj: KubeObject): Promise<void> {
  try {
    await client.create(ref, obj.metadata?.namespace ?? '', obj);
  } catch (err) {
    if (!(err instanceof ApiError && err.code === 409)) throw err;
  }
}

function clusterRoleBinding(name: string, role: string, group: string): KubeObject {
  return {
    apiVersion: `${RBAC}/v1`,
    kind: 'ClusterRoleBinding',
    metadata: { name },
    roleRef: { apiGroup: RBAC, kind: 'ClusterRole', name: role },
    subjects: [{ apiGroup: RBAC, kind: 'Group', name: group }],
  };
}

/** Creates or refreshes cluster-info (the server may have moved) and creates the join RBAC objects if missing. */
export async function ensureClusterInfo(client: Client, opts: { server: string; caCert: string }): Promise<void> {
  const data = { [KUBECONFIG_KEY]: clusterInfoKubeconfig(opts.server, opts.caCert) };
  try {
    const cur = await client.get(CONFIG_MAPS, CLUSTER_INFO_NAMESPACE, CLUSTER_INFO);
    if (cur.data?.[KUBECONFIG_KEY] !== data[KUBECONFIG_KEY]) {
      // The signatures belong to the old content; the bootstrap signer signs the new one.
      const kept = Object.fromEntries(Object.entries((cur.data ?? {}) as Record<string, string>).filter(([k]) => !k.startsWith('jws-kubeconfig-')));
      const next = { ...kept, ...data };
      if (!isDeepStrictEqual(next, cur.data)) await client.update(CONFIG_MAPS, CLUSTER_INFO_NAMESPACE, { ...cur, data: next });
    }
  } catch (err) {
    if (!(err instanceof ApiError && err.code === 404)) throw err;
    await createIfMissing(client, CONFIG_MAPS, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: CLUSTER_INFO, namespace: CLUSTER_INFO_NAMESPACE }, data });
  }
  await createIfMissing(client, ROLES, {
    apiVersion: `${RBAC}/v1`,
    kind: 'Role',
    metadata: { name: CLUSTER_INFO_ROLE, namespace: CLUSTER_INFO_NAMESPACE },
    rules: [{ apiGroups: [''], resources: ['configmaps'], resourceNames: [CLUSTER_INFO], verbs: ['get'] }],
  });
  await createIfMissing(client, ROLE_BINDINGS, {
    apiVersion: `${RBAC}/v1`,
    kind: 'RoleBinding',
    metadata: { name: CLUSTER_INFO_ROLE, namespace: CLUSTER_INFO_NAMESPACE },
    roleRef: { apiGroup: RBAC, kind: 'Role', name: CLUSTER_INFO_ROLE },
    subjects: [{ apiGroup: RBAC, kind: 'User', name: 'system:anonymous' }],
  });
  // The roles themselves are upstream's defaults, which the API server's bootstrap policy creates.
  await createIfMissing(client, CLUSTER_ROLE_BINDINGS, clusterRoleBinding('kubeadm:kubelet-bootstrap', NODE_BOOTSTRAPPER, DEFAULT_NODE_TOKEN_GROUP));
  await createIfMissing(client, CLUSTER_ROLE_BINDINGS, clusterRoleBinding('kubeadm:node-autoapprove-bootstrap', NODE_CLIENT, DEFAULT_NODE_TOKEN_GROUP));
  await createIfMissing(client, CLUSTER_ROLE_BINDINGS, clusterRoleBinding('kubeadm:node-autoapprove-certificate-rotation', SELF_NODE_CLIENT, 'system:nodes'));
}
