/**
 * NodeRestriction (upstream's plugin/pkg/admission/noderestriction): what the Node authorizer lets
 * every node do (write Node objects, pods, pod status, leases), narrowed to the node's own. A
 * node may only:
 * - create and update its own Node, never setting node-restriction.kubernetes.io/ labels or
 *   kubernetes.io / k8s.io labels outside the kubelet's own set, nor changing its taints;
 * - create mirror pods bound to itself that reference no other objects, and delete pods bound to it;
 * - update the status of pods bound to it (not their labels);
 * - write its own Lease in kube-node-lease, and its own CSINode;
 * - update only status.capacity and status.conditions of claims.
 * Requests from anyone who is not a node pass untouched.
 *
 * TokenRequests and evictions do not go through admission in skiff: their handlers call
 * `admitNodeTokenRequest` and `admitNodeEviction`.
 */
import { isDeepStrictEqual } from 'node:util';
import type { KubeObject, ResourceEntry } from '../../api/types.js';
import type { UserInfo } from '../auth/user.js';
import type { WatchCache } from '../watch-cache.js';
import { nodeIdentity, NODE_LEASE_NAMESPACE } from '../authz/node/authorizer.js';
import { podConfigMapNames, podSecretNames } from '../authz/node/references.js';
import { admissionForbidden } from './forbidden.js';
import type { AdmissionPlugin, AdmissionRequest } from './types.js';
import { errors } from '../../api/errors.js';

const MIRROR_POD_ANNOTATION = 'kubernetes.io/config.mirror';
const NODE_RESTRICTION_LABEL_NAMESPACE = 'node-restriction.kubernetes.io';

/** Labels a kubelet may set on its own Node (upstream's kubeletapis.KubeletLabels). */
const KUBELET_LABELS = new Set([
  'kubernetes.io/hostname',
  'topology.kubernetes.io/zone',
  'topology.kubernetes.io/region',
  'failure-domain.beta.kubernetes.io/zone',
  'failure-domain.beta.kubernetes.io/region',
  'beta.kubernetes.io/instance-type',
  'node.kubernetes.io/instance-type',
  'kubernetes.io/os',
  'kubernetes.io/arch',
  'beta.kubernetes.io/os',
  'beta.kubernetes.io/arch',
]);
const KUBELET_LABEL_NAMESPACES = ['kubelet.kubernetes.io', 'node.kubernetes.io'];

function labelNamespace(label: string): string {
  const i = label.indexOf('/');
  return i === -1 ? '' : label.slice(0, i);
}

function inNamespace(ns: string, parent: string): boolean {
  return ns === parent || ns.endsWith(`.${parent}`);
}

function isKubeletLabel(label: string): boolean {
  if (KUBELET_LABELS.has(label)) return true;
  const ns = labelNamespace(label);
  return KUBELET_LABEL_NAMESPACES.some((p) => inNamespace(ns, p));
}

function isKubernetesLabel(label: string): boolean {
  const ns = labelNamespace(label);
  return inNamespace(ns, 'kubernetes.io') || inNamespace(ns, 'k8s.io');
}

/** Labels added, changed or removed between `old` and `next`. */
function modifiedLabels(next: Record<string, string> = {}, old: Record<string, string> = {}): string[] {
  const out = new Set<string>();
  for (const [k, v] of Object.entries(next)) if (old[k] !== v) out.add(k);
  for (const k of Object.keys(old)) if (!(k in next)) out.add(k);
  return [...out];
}

/** Sorted, as upstream's sets.String.List(). */
function forbiddenLabels(labels: string[]): string[] {
  return labels
    .filter((l) => inNamespace(labelNamespace(l), NODE_RESTRICTION_LABEL_NAMESPACE) || (isKubernetesLabel(l) && !isKubeletLabel(l)))
    .sort();
}

function pluralIs(entry: ResourceEntry, group: string, plural: string): boolean {
  return entry.group === group && entry.plural === plural;
}

export class NodeRestriction implements AdmissionPlugin {
  readonly name = 'NodeRestriction';

  constructor(private readonly cache: WatchCache) {}

  async mutate(a: AdmissionRequest): Promise<void> {
    if (!a.user || a.operation === 'CONNECT') return;
    const node = nodeIdentity(a.user);
    if (node === undefined) return;
    const forbid = (why: string) => admissionForbidden({ entry: a.entry, obj: a.obj ?? ({} as KubeObject) }, why);
    if (!node) throw forbid(`could not determine node from user ${JSON.stringify(a.user.name)}`);
    const e = a.entry;
    if (pluralIs(e, '', 'pods')) {
      switch (a.subresource ?? '') {
        case '':
          return this.pod(node, a, forbid);
        case 'status':
          return this.podStatus(node, a, forbid);
        case 'eviction':
          return;
        default:
          throw forbid(`unexpected pod subresource ${JSON.stringify(a.subresource)}, only 'status' and 'eviction' are allowed`);
      }
    }
    if (pluralIs(e, '', 'nodes')) return this.node(node, a, forbid);
    if (pluralIs(e, '', 'persistentvolumeclaims')) return this.claimStatus(node, a, forbid);
    if (pluralIs(e, 'coordination.k8s.io', 'leases')) {
      if ((a.namespace ?? '') !== NODE_LEASE_NAMESPACE) throw forbid(`can only access leases in the ${JSON.stringify(NODE_LEASE_NAMESPACE)} system namespace`);
      const name = a.operation === 'CREATE' ? a.obj.metadata?.name : a.name;
      if (name !== node) throw forbid('can only access node lease with the same name as the requesting node');
      return;
    }
    if (pluralIs(e, 'storage.k8s.io', 'csinodes')) {
      const name = a.operation === 'CREATE' ? a.obj.metadata?.name : a.name;
      if (name !== node) throw forbid('can only access CSINode with the same name as the requesting node');
    }
  }

  private pod(node: string, a: AdmissionRequest, forbid: (why: string) => Error): void {
    if (a.operation === 'DELETE') {
      if (a.old.spec?.nodeName !== node) throw forbid(`node ${JSON.stringify(node)} can only delete pods with spec.nodeName set to itself`);
      return;
    }
    if (a.operation !== 'CREATE') throw forbid(`unexpected operation ${JSON.stringify(a.operation)}, node ${JSON.stringify(node)} can only create and delete mirror pods`);
    const pod = a.obj;
    const q = JSON.stringify(node);
    if (pod.metadata?.annotations?.[MIRROR_POD_ANNOTATION] === undefined) {
      throw forbid(`pod does not have ${JSON.stringify(MIRROR_POD_ANNOTATION)} annotation, node ${q} can only create mirror pods`);
    }
    if (pod.spec?.nodeName !== node) throw forbid(`node ${q} can only create pods with spec.nodeName set to itself`);
    const owners = (pod.metadata?.ownerReferences ?? []) as { apiVersion?: string; kind?: string; name?: string; uid?: string; controller?: boolean; blockOwnerDeletion?: boolean }[];
    if (owners.length > 1) throw forbid(`node ${q} can only create pods with a single owner reference set to itself`);
    if (owners.length === 0) throw forbid(`node ${q} can only create pods with an owner reference set to itself`);
    const owner = owners[0];
    if (owner.apiVersion !== 'v1' || owner.kind !== 'Node' || owner.name !== node) throw forbid(`node ${q} can only create pods with an owner reference set to itself`);
    if (!owner.controller) throw forbid(`node ${q} can only create pods with a controller owner reference set to itself`);
    if (owner.blockOwnerDeletion) throw forbid(`node ${q} must not set blockOwnerDeletion on an owner reference`);
    const self = this.cache.resource('/registry/nodes/').objects.get(`/registry/nodes/${node}`)?.obj;
    if (!self) throw errors.notFound('', 'nodes', node);
    if (owner.uid !== self.metadata?.uid) throw forbid(`node ${node} UID mismatch: expected ${self.metadata?.uid ?? ''} got ${owner.uid ?? ''}`);
    const spec = (pod.spec ?? {}) as Record<string, any>;
    if (spec.serviceAccountName) throw forbid(`node ${q} can not create pods that reference a service account`);
    if (podSecretNames(spec).length > 0) throw forbid(`node ${q} can not create pods that reference secrets`);
    if (podConfigMapNames(spec).length > 0) throw forbid(`node ${q} can not create pods that reference configmaps`);
    if ((Array.isArray(spec.volumes) ? spec.volumes : []).some((v: any) => v?.persistentVolumeClaim)) throw forbid(`node ${q} can not create pods that reference persistentvolumeclaims`);
    if (Array.isArray(spec.resourceClaims) && spec.resourceClaims.length > 0) throw forbid(`node ${q} can not create pods that reference resourceclaims`);
  }

  private podStatus(node: string, a: AdmissionRequest, forbid: (why: string) => Error): void {
    if (a.operation !== 'UPDATE') throw forbid(`unexpected operation ${JSON.stringify(a.operation)}`);
    const old = a.old!;
    if (old.spec?.nodeName !== node) throw forbid(`node ${JSON.stringify(node)} can only update pod status for pods with spec.nodeName set to itself`);
    if (!isDeepStrictEqual(old.metadata?.labels ?? {}, a.obj.metadata?.labels ?? {})) throw forbid(`node ${JSON.stringify(node)} cannot update labels through pod status`);
  }

  private node(node: string, a: AdmissionRequest, forbid: (why: string) => Error): void {
    const requested = a.operation === 'CREATE' ? (a.obj.metadata?.name ?? '') : (a.name ?? '');
    const q = JSON.stringify(node);
    if (requested !== node) throw forbid(`node ${q} is not allowed to modify node ${JSON.stringify(requested)}`);
    if (a.operation === 'CREATE') {
      if (a.obj.spec?.configSource != null) throw forbid(`node ${q} is not allowed to create pods with a non-nil configSource`);
      const bad = forbiddenLabels(modifiedLabels(a.obj.metadata?.labels));
      if (bad.length) throw forbid(`node ${q} is not allowed to set the following labels: ${bad.join(', ')}`);
    } else if (a.operation === 'UPDATE') {
      const old = a.old!;
      if (a.obj.spec?.configSource != null && !isDeepStrictEqual(a.obj.spec.configSource, old.spec?.configSource)) {
        throw forbid(`node ${q} is not allowed to update configSource to a new non-nil configSource`);
      }
      if (!isDeepStrictEqual(a.obj.spec?.taints ?? [], old.spec?.taints ?? [])) throw forbid(`node ${q} is not allowed to modify taints`);
      const bad = forbiddenLabels(modifiedLabels(a.obj.metadata?.labels, old.metadata?.labels));
      if (bad.length) throw forbid(`is not allowed to modify labels: ${bad.join(', ')}`);
    }
  }

  private claimStatus(node: string, a: AdmissionRequest, forbid: (why: string) => Error): void {
    if (a.subresource !== 'status') throw forbid('may only update PVC status');
    if (a.operation !== 'UPDATE') throw forbid(`unexpected operation ${JSON.stringify(a.operation)}`);
    const strip = (o: KubeObject) => {
      const { resourceVersion: _rv, managedFields: _mf, ...meta } = o.metadata ?? {};
      const { capacity: _c, conditions: _cond, allocatedResources: _ar, allocatedResourceStatuses: _ars, ...status } = (o.status ?? {}) as Record<string, unknown>;
      return { ...o, metadata: meta, status };
    };
    if (!isDeepStrictEqual(strip(a.old!), strip(a.obj))) throw forbid(`node ${JSON.stringify(node)} is not allowed to update fields other than status.capacity and status.conditions`);
  }
}

export function nodeRestriction(cache: WatchCache): AdmissionPlugin {
  return new NodeRestriction(cache);
}

function forbidden(group: string, resource: string, name: string, why: string): Error {
  return admissionForbidden({ entry: { group, plural: resource } as ResourceEntry, obj: { metadata: { name } } as KubeObject }, why);
}

/**
 * A node's TokenRequest must be bound to a pod on that node (upstream's admitServiceAccount).
 * `tokenRequest` is the request body; `name` what the Forbidden names (upstream: the TokenRequest's own name, often empty).
 */
export function admitNodeTokenRequest(cache: WatchCache, user: UserInfo, namespace: string, tokenRequest: KubeObject): void {
  const node = nodeIdentity(user);
  if (node === undefined) return;
  const forbid = (why: string) => forbidden('', 'serviceaccounts', tokenRequest.metadata?.name || 'Unknown', why);
  if (!node) throw forbid(`could not determine node from user ${JSON.stringify(user.name)}`);
  const ref = (tokenRequest.spec?.boundObjectRef ?? undefined) as { apiVersion?: string; kind?: string; name?: string; uid?: string } | undefined;
  if (!ref || ref.apiVersion !== 'v1' || ref.kind !== 'Pod' || !ref.name) throw forbid('node requested token not bound to a pod');
  if (!ref.uid) throw forbid('node requested token with a pod binding without a uid');
  const pod = cache.resource('/registry/pods/').objects.get(`/registry/pods/${namespace}/${ref.name}`)?.obj;
  if (!pod) throw errors.notFound('', 'pods', ref.name);
  if (ref.uid !== pod.metadata?.uid) {
    throw forbid(`the UID in the bound object reference (${ref.uid}) does not match the UID in record. The object might have been deleted and then recreated`);
  }
  if (pod.spec?.nodeName !== node) throw forbid('node requested token bound to a pod scheduled on a different node');
}

/** A node may evict only pods bound to itself (upstream's admitPodEviction), the pod looked up in the cache. */
export function admitNodeEviction(cache: WatchCache, user: UserInfo, namespace: string, podName: string, evictionName = podName): void {
  const node = nodeIdentity(user);
  if (node === undefined) return;
  if (node && podName) {
    const pod = cache.resource('/registry/pods/').objects.get(`/registry/pods/${namespace}/${podName}`)?.obj;
    if (!pod) throw errors.notFound('', 'pods', podName);
    return admitNodeEvictionOf(user, pod, evictionName);
  }
  admitNodeEvictionOf(user, { metadata: { name: podName } } as KubeObject, evictionName);
}

/** The same, for the pod the eviction handler already read. */
export function admitNodeEvictionOf(user: UserInfo, pod: KubeObject, evictionName = pod.metadata?.name ?? ''): void {
  const node = nodeIdentity(user);
  if (node === undefined) return;
  const forbid = (why: string) => forbidden('', 'pods', evictionName || 'Unknown', why);
  if (!node) throw forbid(`could not determine node from user ${JSON.stringify(user.name)}`);
  if (!pod.metadata?.name) throw forbid('could not determine pod from request data');
  if (pod.spec?.nodeName !== node) throw forbid(`node ${node} can only evict pods with spec.nodeName set to itself`);
}
