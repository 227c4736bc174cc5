/**
 * The RBAC authorizer, after upstream's plugin/pkg/auth/authorizer/rbac: Roles, ClusterRoles and
 * their bindings followed in the API server's watch cache, bindings indexed by subject, and the
 * rules a (user, groups, namespace) holds resolved once and kept until any RBAC object changes.
 * A decision is then a cache lookup and a scan of that user's few rules.
 */
import type { KubeObject } from '../../../api/types.js';
import type { UserInfo } from '../../auth/user.js';
import type { WatchCache } from '../../watch-cache.js';
import { ALLOW, NO_OPINION, type Attributes, type AuthorizationResult, type Authorizer, type NonResourceRule, type ResolvedRules, type ResourceRule, type RuleResolver } from '../types.js';
import { ruleAllows, rulesOf, type PolicyRule } from './rules.js';
import { aggregateMessage } from '../../admission/forbidden.js';

export const RBAC_GROUP = 'rbac.authorization.k8s.io';
const PREFIX = `/registry/${RBAC_GROUP}/`;
const CLUSTER_ROLES = `${PREFIX}clusterroles/`;
const ROLES = `${PREFIX}roles/`;
const CLUSTER_ROLE_BINDINGS = `${PREFIX}clusterrolebindings/`;
const ROLE_BINDINGS = `${PREFIX}rolebindings/`;

/** What a binding grants: a role (by kind and name) in a namespace ('' for a ClusterRoleBinding). */
interface Binding {
  namespace: string;
  roleKind: string;
  roleName: string;
  /** Index keys of its subjects: "u\0<username>" (users and service accounts) and "g\0<group>". */
  subjects: string[];
}

/** The rules one (user, groups, namespace) holds, and why the list may be short. */
export interface UserRules {
  rules: PolicyRule[];
  /** Upstream's resolution errors (a binding to a role that does not exist), in visiting order. */
  errors: string[];
}

/** How many distinct (user, groups, namespace) rule sets are kept before the cache starts over. */
const MAX_CACHED = 50_000;

const userKey = (name: string) => `u\0${name}`;
const groupKey = (name: string) => `g\0${name}`;

/** The username a service account authenticates as (upstream's serviceaccount.MakeUsername). */
export function serviceAccountUsername(namespace: string, name: string): string {
  return `system:serviceaccount:${namespace}:${name}`;
}

/** Index keys of a binding's subjects; a ServiceAccount without a namespace takes the binding's (none for ClusterRoleBindings). */
function subjectKeys(obj: KubeObject, namespace: string): string[] {
  const subjects = (obj as { subjects?: unknown }).subjects;
  if (!Array.isArray(subjects)) return [];
  const keys: string[] = [];
  for (const s of subjects) {
    if (s === null || typeof s !== 'object') continue;
    const { kind, name, namespace: ns } = s as { kind?: unknown; name?: unknown; namespace?: unknown };
    if (typeof name !== 'string') continue;
    if (kind === 'User') keys.push(userKey(name));
    else if (kind === 'Group') keys.push(groupKey(name));
    else if (kind === 'ServiceAccount') {
      const saNamespace = typeof ns === 'string' && ns !== '' ? ns : namespace;
      if (saNamespace) keys.push(userKey(serviceAccountUsername(saNamespace, name)));
    }
  }
  return keys;
}

function roleRefOf(obj: KubeObject): { kind: string; name: string } {
  const ref = (obj as { roleRef?: { kind?: unknown; name?: unknown } }).roleRef;
  return { kind: typeof ref?.kind === 'string' ? ref.kind : '', name: typeof ref?.name === 'string' ? ref.name : '' };
}

/** Subject key → binding keys, keeping each set's insertion order. */
class SubjectIndex {
  private readonly map = new Map<string, Set<string>>();
  add(keys: string[], binding: string): void {
    for (const k of keys) {
      let s = this.map.get(k);
      if (!s) this.map.set(k, (s = new Set()));
      s.add(binding);
    }
  }
  remove(keys: string[], binding: string): void {
    for (const k of keys) {
      const s = this.map.get(k);
      if (!s) continue;
      s.delete(binding);
      if (s.size === 0) this.map.delete(k);
    }
  }
  get(key: string): Set<string> | undefined {
    return this.map.get(key);
  }
}

interface CacheSlot {
  generation: number;
  byNamespace: Map<string, UserRules>;
}

export class RbacAuthorizer implements Authorizer, RuleResolver {
  private readonly clusterRoles = new Map<string, PolicyRule[]>();
  /** "namespace/name" → rules. */
  private readonly roles = new Map<string, PolicyRule[]>();
  private readonly clusterBindings = new Map<string, Binding>();
  private readonly clusterBindingsBySubject = new SubjectIndex();
  /** "namespace/name" → binding. */
  private readonly roleBindings = new Map<string, Binding>();
  /** namespace → subject index of that namespace's RoleBindings. */
  private readonly roleBindingsBySubject = new Map<string, SubjectIndex>();
  /** Bumped by every RBAC change; cached rule sets of an older generation are stale. */
  private generation = 0;
  /** Fast path: the same UserInfo object (a connection's, an in-process client's) asks again. */
  private readonly byUser = new WeakMap<UserInfo, CacheSlot>();
  /** Slow path: a user rebuilt per request (bearer tokens), by name, groups and namespace. */
  private byKey = new Map<string, UserRules>();
  private byKeyGeneration = 0;
  private stops: (() => void)[] = [];

  constructor(private readonly cache: WatchCache) {}

  /** Call once the watch cache is filled: replays the current RBAC objects, then follows changes. */
  start(): void {
    if (this.stops.length > 0) return;
    const follow = (prefix: string, apply: (obj: KubeObject, deleted: boolean) => void) => {
      const w = this.cache.watch(
        prefix,
        {
          keyPrefix: prefix,
          matches: () => true,
          onEvent: (type, ev) => {
            apply(type === 'DELETED' ? (ev.prev ?? ev.obj) : ev.obj, type === 'DELETED');
            this.generation++;
          },
        },
        undefined,
      );
      this.stops.push(w.stop);
    };
    follow(CLUSTER_ROLES, (obj, deleted) => this.setClusterRole(obj, deleted));
    follow(ROLES, (obj, deleted) => this.setRole(obj, deleted));
    follow(CLUSTER_ROLE_BINDINGS, (obj, deleted) => this.setClusterBinding(obj, deleted));
    follow(ROLE_BINDINGS, (obj, deleted) => this.setRoleBinding(obj, deleted));
  }

  stop(): void {
    for (const s of this.stops) s();
    this.stops = [];
  }

  private setClusterRole(obj: KubeObject, deleted: boolean): void {
    const name = obj.metadata?.name ?? '';
    if (deleted) this.clusterRoles.delete(name);
    else this.clusterRoles.set(name, rulesOf(obj as { rules?: unknown }));
  }

  private setRole(obj: KubeObject, deleted: boolean): void {
    const key = `${obj.metadata?.namespace ?? ''}/${obj.metadata?.name ?? ''}`;
    if (deleted) this.roles.delete(key);
    else this.roles.set(key, rulesOf(obj as { rules?: unknown }));
  }

  private setClusterBinding(obj: KubeObject, deleted: boolean): void {
    const key = obj.metadata?.name ?? '';
    const before = this.clusterBindings.get(key);
    if (before) this.clusterBindingsBySubject.remove(before.subjects, key);
    this.clusterBindings.delete(key);
    if (deleted) return;
    const ref = roleRefOf(obj);
    // A ClusterRoleBinding can only grant a ClusterRole (validation refuses anything else).
    const b: Binding = { namespace: '', roleKind: ref.kind, roleName: ref.name, subjects: subjectKeys(obj, '') };
    this.clusterBindings.set(key, b);
    this.clusterBindingsBySubject.add(b.subjects, key);
  }

  private setRoleBinding(obj: KubeObject, deleted: boolean): void {
    const ns = obj.metadata?.namespace ?? '';
    const key = `${ns}/${obj.metadata?.name ?? ''}`;
    let index = this.roleBindingsBySubject.get(ns);
    const before = this.roleBindings.get(key);
    if (before && index) index.remove(before.subjects, key);
    this.roleBindings.delete(key);
    if (deleted) return;
    const ref = roleRefOf(obj);
    const b: Binding = { namespace: ns, roleKind: ref.kind, roleName: ref.name, subjects: subjectKeys(obj, ns) };
    this.roleBindings.set(key, b);
    if (!index) this.roleBindingsBySubject.set(ns, (index = new SubjectIndex()));
    index.add(b.subjects, key);
  }

  /** Upstream's RBACAuthorizer.Authorize: Allow when a rule allows, else NoOpinion ("RBAC: <errors>" when some roles were missing). */
  authorize(a: Attributes): AuthorizationResult {
    const held = this.userRules(a.user, a.namespace);
    const rules = held.rules;
    for (let i = 0; i < rules.length; i++) if (ruleAllows(a, rules[i])) return ALLOW;
    if (held.errors.length === 0) return NO_OPINION;
    return { decision: 'NoOpinion', reason: `RBAC: ${aggregateMessage(held.errors)}` };
  }

  /** The rules `user` holds in `namespace` (cluster-wide ones included), as SelfSubjectRulesReview reports them. */
  rulesFor(user: UserInfo, namespace: string): ResolvedRules {
    const held = this.userRules(user, namespace);
    const resourceRules: ResourceRule[] = [];
    const nonResourceRules: NonResourceRule[] = [];
    for (const r of held.rules) {
      if (r.resources?.length) {
        const rr: ResourceRule = { verbs: [...r.verbs], apiGroups: [...(r.apiGroups ?? [])], resources: [...r.resources] };
        if (r.resourceNames?.length) rr.resourceNames = [...r.resourceNames];
        resourceRules.push(rr);
      }
      if (r.nonResourceURLs?.length) nonResourceRules.push({ verbs: [...r.verbs], nonResourceURLs: [...r.nonResourceURLs] });
    }
    const out: ResolvedRules = { resourceRules, nonResourceRules, incomplete: held.errors.length > 0 };
    if (held.errors.length > 0) out.evaluationError = aggregateMessage(held.errors);
    return out;
  }

  /** The policy rules `user` holds in `namespace` ('' for cluster-wide only); shared, do not change them. */
  userRules(user: UserInfo, namespace: string): UserRules {
    let slot = this.byUser.get(user);
    if (slot === undefined || slot.generation !== this.generation) {
      slot = { generation: this.generation, byNamespace: new Map() };
      this.byUser.set(user, slot);
    }
    let held = slot.byNamespace.get(namespace);
    if (held === undefined) {
      held = this.cachedByKey(user, namespace);
      slot.byNamespace.set(namespace, held);
    }
    return held;
  }

  private cachedByKey(user: UserInfo, namespace: string): UserRules {
    if (this.byKeyGeneration !== this.generation || this.byKey.size >= MAX_CACHED) {
      this.byKey = new Map();
      this.byKeyGeneration = this.generation;
    }
    const key = `${namespace}\0${user.name}\0${user.groups.join('\0')}`;
    let held = this.byKey.get(key);
    if (held === undefined) {
      held = this.resolve(user, namespace);
      this.byKey.set(key, held);
    }
    return held;
  }

  /** Upstream's VisitRulesFor: ClusterRoleBindings first, then the namespace's RoleBindings. */
  private resolve(user: UserInfo, namespace: string): UserRules {
    const rules: PolicyRule[] = [];
    const errors: string[] = [];
    const keys = [userKey(user.name), ...user.groups.map(groupKey)];
    const grant = (b: Binding) => {
      const got = b.roleKind === 'ClusterRole' ? this.clusterRoles.get(b.roleName) : b.roleKind === 'Role' ? this.roles.get(`${b.namespace}/${b.roleName}`) : undefined;
      if (got) rules.push(...got);
      else errors.push(`${b.roleKind === 'Role' ? 'role' : 'clusterrole'}.${RBAC_GROUP} ${JSON.stringify(b.roleName)} not found`);
    };
    for (const b of matching(keys, this.clusterBindingsBySubject, this.clusterBindings)) grant(b);
    if (namespace) {
      const index = this.roleBindingsBySubject.get(namespace);
      if (index) for (const b of matching(keys, index, this.roleBindings)) grant(b);
    }
    return { rules, errors };
  }

  /** The rules a role reference grants in `namespace` (what a binding to it would give); undefined when the role does not exist. */
  roleReferenceRules(kind: string, name: string, namespace: string): PolicyRule[] | undefined {
    if (kind === 'ClusterRole') return this.clusterRoles.get(name);
    if (kind === 'Role') return this.roles.get(`${namespace}/${name}`);
    return undefined;
  }
}

/** The bindings any of `keys` appears in, each once, in a stable order. */
function matching(keys: string[], index: SubjectIndex, bindings: Map<string, Binding>): Binding[] {
  let found: Set<string> | undefined;
  let only: Set<string> | undefined;
  for (const k of keys) {
    const s = index.get(k);
    if (!s) continue;
    if (!only && !found) {
      only = s;
      continue;
    }
    found ??= new Set(only);
    for (const b of s) found.add(b);
  }
  const names = found ?? only;
  if (!names) return [];
  const out: Binding[] = [];
  for (const n of [...names].sort()) {
    const b = bindings.get(n);
    if (b) out.push(b);
  }
  return out;
}
