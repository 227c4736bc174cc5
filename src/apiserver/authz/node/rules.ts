/**
 * The rules every node holds regardless of the graph: upstream's bootstrappolicy.NodeRules() (the
 * system:node role), which the node authorizer evaluates itself for the resources it does not
 * subdivide. Feature-gated rules that are off by default in v1.32 (DRA, ClusterTrustBundles) are left out.
 */
import type { Attributes } from '../types.js';

export interface NodeRule {
  verbs: string[];
  apiGroups: string[];
  /** `resource` or `resource/subresource`. */
  resources: string[];
}

const READ = ['get', 'list', 'watch'];

export const NODE_RULES: readonly NodeRule[] = [
  // Needed to check API access. These creates are non-mutating.
  { verbs: ['create'], apiGroups: ['authentication.k8s.io'], resources: ['tokenreviews'] },
  { verbs: ['create'], apiGroups: ['authorization.k8s.io'], resources: ['subjectaccessreviews', 'localsubjectaccessreviews'] },
  // Services populate pods' environment variables.
  { verbs: READ, apiGroups: [''], resources: ['services'] },
  // Nodes register their Node object and report its status (NodeRestriction limits them to their own).
  { verbs: ['create', 'get', 'list', 'watch'], apiGroups: [''], resources: ['nodes'] },
  { verbs: ['update', 'patch'], apiGroups: [''], resources: ['nodes/status'] },
  { verbs: ['update', 'patch'], apiGroups: [''], resources: ['nodes'] },
  { verbs: ['create', 'update', 'patch'], apiGroups: [''], resources: ['events'] },
  { verbs: READ, apiGroups: [''], resources: ['pods'] },
  // Mirror pods, pod status and evictions (NodeRestriction limits them to the node's own pods).
  { verbs: ['create', 'delete'], apiGroups: [''], resources: ['pods'] },
  { verbs: ['update', 'patch'], apiGroups: [''], resources: ['pods/status'] },
  { verbs: ['create'], apiGroups: [''], resources: ['pods/eviction'] },
  // The node authorizer's graph narrows these to what the node's pods use.
  { verbs: READ, apiGroups: [''], resources: ['secrets', 'configmaps'] },
  { verbs: ['get'], apiGroups: [''], resources: ['persistentvolumeclaims', 'persistentvolumes'] },
  { verbs: ['get'], apiGroups: [''], resources: ['endpoints'] },
  // Client certificate rotation.
  { verbs: ['create', 'get', 'list', 'watch'], apiGroups: ['certificates.k8s.io'], resources: ['certificatesigningrequests'] },
  { verbs: ['get', 'create', 'update', 'patch', 'delete'], apiGroups: ['coordination.k8s.io'], resources: ['leases'] },
  { verbs: ['get'], apiGroups: ['storage.k8s.io'], resources: ['volumeattachments'] },
  { verbs: ['get', 'update', 'patch'], apiGroups: [''], resources: ['persistentvolumeclaims/status'] },
  { verbs: ['create'], apiGroups: [''], resources: ['serviceaccounts/token'] },
  { verbs: ['get', 'watch', 'list'], apiGroups: ['storage.k8s.io'], resources: ['csidrivers'] },
  { verbs: ['get', 'create', 'update', 'patch', 'delete'], apiGroups: ['storage.k8s.io'], resources: ['csinodes'] },
  { verbs: ['get', 'list', 'watch'], apiGroups: ['node.k8s.io'], resources: ['runtimeclasses'] },
];

/** Upstream's rbac.RulesAllow for resource requests (these rules name no resourceNames and no URLs). */
export function nodeRulesAllow(a: Attributes): boolean {
  if (!a.resourceRequest) return false;
  const resource = a.subresource ? `${a.resource}/${a.subresource}` : a.resource;
  return NODE_RULES.some((r) => r.verbs.includes(a.verb) && r.apiGroups.includes(a.apiGroup) && r.resources.includes(resource));
}
