/**
 * The Node authorizer (upstream's plugin/pkg/auth/authorizer/node): a kubelet, identified as
 * `system:node:<name>` in group `system:nodes`, may read the secrets, config maps, claims and
 * volumes its own pods use, request tokens for their service accounts, and keep its own Node and
 * Lease; everything else a node does is judged by the static system:node rules. Anyone who is not
 * a node gets NoOpinion, so the next authorizer (RBAC) decides.
 *
 * Decisions read the graph (graph.ts), which follows the API server's watch cache: start() after
 * the cache has started.
 */
import { ALLOW, NO_OPINION, type Attributes, type AuthorizationResult, type Authorizer, type ResolvedRules, type RuleResolver } from '../types.js';
import type { UserInfo } from '../../auth/user.js';
import type { WatchCache, CacheEvent, EventType } from '../../watch-cache.js';
import { NodeGraph } from './graph.js';
import { nodeRulesAllow } from './rules.js';
import type { VertexType } from './references.js';

export const NODES_GROUP = 'system:nodes';
export const NODE_USER_PREFIX = 'system:node:';
/** The namespace of node heartbeat leases (upstream's api.NamespaceNodeLease). */
export const NODE_LEASE_NAMESPACE = 'kube-node-lease';

/** Upstream's nodeidentifier: the node's name, or undefined when the user is not a node. */
export function nodeIdentity(user: UserInfo): string | undefined {
  if (!user.name.startsWith(NODE_USER_PREFIX) || !user.groups.includes(NODES_GROUP)) return undefined;
  return user.name.slice(NODE_USER_PREFIX.length);
}

const PODS = '/registry/pods/';
const PVS = '/registry/persistentvolumes/';
const ATTACHMENTS = '/registry/storage.k8s.io/volumeattachments/';

function noOpinion(reason: string): AuthorizationResult {
  return { decision: 'NoOpinion', reason };
}

/** The values a field selector requires of `field` with = or == (a list of requirements joined by commas). */
function selectorRequires(selector: string | undefined, field: string, value: string): boolean {
  if (!selector) return false;
  for (const term of selector.split(',')) {
    const m = /^\s*([^!=\s]+)\s*==?\s*(.*?)\s*$/.exec(term);
    if (m && m[1] === field && m[2] === value) return true;
  }
  return false;
}

export class NodeAuthorizer implements Authorizer, RuleResolver {
  readonly graph = new NodeGraph();
  private stops: (() => void)[] = [];

  constructor(private readonly cache: WatchCache) {}

  start(): void {
    if (this.stops.length) return;
    const follow = (prefix: string, on: (type: EventType, ev: CacheEvent) => void) => {
      const w = this.cache.watch(prefix, { keyPrefix: prefix, matches: () => true, onEvent: on }, undefined);
      this.stops.push(w.stop);
    };
    follow(PODS, (type, ev) => {
      const key = ev.key.slice(PODS.length);
      if (type === 'DELETED') this.graph.deletePod(key);
      else this.graph.setPod(key, ev.obj);
    });
    follow(PVS, (type, ev) => {
      if (type === 'DELETED') this.graph.deletePersistentVolume(ev.obj.metadata?.name ?? '');
      else this.graph.setPersistentVolume(ev.obj);
    });
    follow(ATTACHMENTS, (type, ev) => {
      if (type === 'DELETED') this.graph.deleteVolumeAttachment(ev.obj.metadata?.name ?? '');
      else this.graph.setVolumeAttachment(ev.obj);
    });
  }

  stop(): void {
    for (const s of this.stops) s();
    this.stops = [];
  }

  /** Upstream's RulesFor: a node's permissions depend on the graph, so they are never fully listed. */
  rulesFor(user: UserInfo): ResolvedRules {
    if (nodeIdentity(user) === undefined) return { resourceRules: [], nonResourceRules: [], incomplete: false };
    return { resourceRules: [], nonResourceRules: [], incomplete: true, evaluationError: 'node authorizer does not support user rule resolution' };
  }

  authorize(a: Attributes): AuthorizationResult {
    const node = nodeIdentity(a.user);
    if (node === undefined) return NO_OPINION;
    if (!node) return noOpinion(`unknown node for user ${JSON.stringify(a.user.name)}`);
    if (a.resourceRequest) {
      switch (`${a.apiGroup}/${a.resource}`) {
        case '/secrets':
          return this.readNamespacedObject(node, 'secret', a);
        case '/configmaps':
          return this.readNamespacedObject(node, 'configmap', a);
        case '/persistentvolumeclaims':
          return a.subresource === 'status' ? this.statusUpdate(node, 'pvc', a) : this.get(node, 'pvc', a);
        case '/persistentvolumes':
          return this.get(node, 'pv', a);
        case 'storage.k8s.io/volumeattachments':
          return this.get(node, 'volumeattachment', a);
        case '/serviceaccounts':
          return this.createToken(node, a);
        case 'coordination.k8s.io/leases':
          return this.ownObject(node, a, 'a node lease', 'node lease', NODE_LEASE_NAMESPACE);
        case 'storage.k8s.io/csinodes':
          if (a.subresource) return noOpinion('cannot authorize CSINode subresources');
          return this.ownObject(node, a, 'a CSINode', 'CSINode');
        case '/nodes':
          return this.nodeObject(node, a);
        case '/pods':
          return this.pod(node, a);
      }
    }
    return nodeRulesAllow(a) ? ALLOW : NO_OPINION;
  }

  private statusUpdate(node: string, type: VertexType, a: Attributes): AuthorizationResult {
    if (a.verb !== 'update' && a.verb !== 'patch') return noOpinion('can only get/update/patch this type');
    if (a.subresource !== 'status') return noOpinion('can only update status subresource');
    return this.related(node, type, a);
  }

  private get(node: string, type: VertexType, a: Attributes): AuthorizationResult {
    if (a.verb !== 'get') return noOpinion('can only get individual resources of this type');
    if (a.subresource) return noOpinion('cannot get subresource');
    return this.related(node, type, a);
  }

  private readNamespacedObject(node: string, type: VertexType, a: Attributes): AuthorizationResult {
    if (a.verb !== 'get' && a.verb !== 'list' && a.verb !== 'watch') return noOpinion('can only read resources of this type');
    if (a.subresource) return noOpinion('cannot read subresource');
    if (!a.namespace) return noOpinion('can only read namespaced object of this type');
    return this.related(node, type, a);
  }

  private related(node: string, type: VertexType, a: Attributes): AuthorizationResult {
    if (!a.name) return noOpinion('No Object name found');
    if (this.graph.hasPathFrom(node, type, a.namespace, a.name)) return ALLOW;
    return noOpinion(`no relationship found between node '${node}' and this object`);
  }

  private createToken(node: string, a: Attributes): AuthorizationResult {
    if (a.verb !== 'create' || !a.name) return noOpinion('can only create tokens for individual service accounts');
    if (a.subresource !== 'token') return noOpinion('can only create token subresource of serviceaccount');
    if (this.graph.hasPathFrom(node, 'serviceaccount', a.namespace, a.name)) return ALLOW;
    return noOpinion(`no relationship found between node '${node}' and this object`);
  }

  /** Leases and CSINodes: the node's own, by name (on create the name is checked by NodeRestriction). */
  private ownObject(node: string, a: Attributes, what: string, kind: string, namespace?: string): AuthorizationResult {
    if (!['get', 'create', 'update', 'patch', 'delete'].includes(a.verb)) return noOpinion(`can only get, create, update, patch, or delete ${what}`);
    if (namespace !== undefined && a.namespace !== namespace) return noOpinion(`can only access leases in the ${JSON.stringify(namespace)} system namespace`);
    if (a.verb !== 'create' && a.name !== node) return noOpinion(`can only access ${kind} with the same name as the requesting node`);
    return ALLOW;
  }

  /** v1.32's AuthorizeNodeWithSelectors (beta, on): a node reads only its own Node object. */
  private nodeObject(node: string, a: Attributes): AuthorizationResult {
    if (!a.subresource) {
      if (a.verb === 'create' || a.verb === 'update' || a.verb === 'patch') return ALLOW;
      if (a.verb === 'get' || a.verb === 'list' || a.verb === 'watch') {
        if (a.name === node) return ALLOW;
        if (!a.name) return noOpinion(`node '${node}' cannot read all nodes, only its own Node object`);
        return noOpinion(`node '${node}' cannot read '${a.name}', only its own Node object`);
      }
    } else if (a.subresource === 'status' && (a.verb === 'update' || a.verb === 'patch')) {
      return ALLOW;
    }
    return NO_OPINION;
  }

  /** Pods: its own (by the graph, or listed with a spec.nodeName selector); mirror pods, status and evictions go on to NodeRestriction. */
  private pod(node: string, a: Attributes): AuthorizationResult {
    switch (a.subresource) {
      case '':
        if (a.verb === 'get') return this.get(node, 'pod', a);
        if (a.verb === 'list' || a.verb === 'watch') {
          if (selectorRequires(a.fieldSelector, 'spec.nodeName', node)) return ALLOW;
          if (a.name) return this.related(node, 'pod', a);
          return noOpinion('can only list/watch pods with spec.nodeName field selector');
        }
        if (a.verb === 'create' || a.verb === 'delete') return ALLOW;
        break;
      case 'status':
        if (a.verb === 'update' || a.verb === 'patch') return ALLOW;
        break;
      case 'eviction':
        if (a.verb === 'create') return ALLOW;
        break;
    }
    return NO_OPINION;
  }
}
