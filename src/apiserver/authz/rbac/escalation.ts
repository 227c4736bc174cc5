/**
 * RBAC's escalation prevention, after upstream's pkg/registry/rbac policy-based storage: a Role or
 * ClusterRole may only carry rules its writer holds (unless they may `escalate` it), and a binding
 * may only grant a role whose rules its writer holds (unless they may `bind` it). system:masters
 * is exempt, as the API server's own loopback client is. Runs in the validating admission phase.
 */
import { ApiError, errors, qualifiedResource } from '../../../api/errors.js';
import type { KubeObject } from '../../../api/types.js';
import type { UserInfo } from '../../auth/user.js';
import type { AdmissionPlugin, AdmissionRequest } from '../../admission/types.js';
import type { WatchCache } from '../../watch-cache.js';
import { SYSTEM_MASTERS, type Authorizer, type ResolvedRules, type RuleResolver } from '../types.js';
import { RBAC_GROUP } from './authorizer.js';
import { compactRules, compactString, covers, goQuoteList, rulesOf, type PolicyRule } from './rules.js';

/** Everything: what setting an aggregationRule requires (it can gather any rule). */
const FULL_AUTHORITY: PolicyRule[] = [
  { verbs: ['*'], apiGroups: ['*'], resources: ['*'] },
  { verbs: ['*'], nonResourceURLs: ['*'] },
];

const ROLE_RESOURCES = new Set(['roles', 'clusterroles']);
const BINDING_RESOURCES = new Set(['rolebindings', 'clusterrolebindings']);

export interface EscalationSources {
  authorizer(): Authorizer;
  /** Who holds which rules; without one nobody holds anything (only escalate/bind grants pass). */
  ruleResolver(): RuleResolver | undefined;
}

export class RbacEscalationAdmission implements AdmissionPlugin {
  readonly name = 'RBACEscalation';

  constructor(
    private readonly cache: WatchCache,
    private readonly sources: EscalationSources,
  ) {}

  async validate(a: AdmissionRequest): Promise<void> {
    if (a.operation !== 'CREATE' && a.operation !== 'UPDATE') return;
    if (a.entry.group !== RBAC_GROUP || a.subresource) return;
    const user = a.user;
    if (!user || user.groups.includes(SYSTEM_MASTERS)) return;
    const plural = a.entry.plural;
    if (!ROLE_RESOURCES.has(plural) && !BINDING_RESOURCES.has(plural)) return;
    // Only owner references and finalizers changing: what the garbage collector needs, never an escalation.
    if (a.operation === 'UPDATE' && a.old && onlyGcFieldsChange(a.obj, a.old)) return;
    const namespace = plural === 'roles' || plural === 'rolebindings' ? (a.namespace ?? '') : '';
    const name = a.obj.metadata?.name ?? '';
    if (ROLE_RESOURCES.has(plural)) this.checkRole(a.obj, a.operation === 'UPDATE' ? a.old : undefined, user, plural, namespace, a.operation === 'CREATE' ? '' : name);
    else this.checkBinding(a.obj, user, plural, namespace);
  }

  private checkRole(obj: KubeObject, old: KubeObject | undefined, user: UserInfo, plural: string, namespace: string, requestName: string): void {
    const escalate = this.sources.authorizer().authorize({
      user,
      verb: 'escalate',
      resourceRequest: true,
      path: '',
      apiGroup: RBAC_GROUP,
      apiVersion: '*',
      resource: plural,
      subresource: '',
      namespace,
      name: requestName,
    });
    if (escalate.decision === 'Allow') return;
    const name = obj.metadata?.name ?? '';
    this.confirmNoEscalation(user, namespace, rulesOf(obj as { rules?: unknown }), plural, name);
    if (plural !== 'clusterroles') return;
    const aggregation = (obj as { aggregationRule?: unknown }).aggregationRule;
    if (aggregation === undefined || aggregation === null) return;
    if (old && JSON.stringify((old as { aggregationRule?: unknown }).aggregationRule ?? null) === JSON.stringify(aggregation)) return;
    if (!covers(this.heldRules(user, '').rules, FULL_AUTHORITY).covered) {
      throw forbidden(plural, name, 'must have cluster-admin privileges to use the aggregationRule');
    }
  }

  private checkBinding(obj: KubeObject, user: UserInfo, plural: string, namespace: string): void {
    const ref = (obj as { roleRef?: { kind?: unknown; name?: unknown; apiGroup?: unknown } }).roleRef ?? {};
    const kind = typeof ref.kind === 'string' ? ref.kind : '';
    const roleName = typeof ref.name === 'string' ? ref.name : '';
    if (kind !== 'Role' && kind !== 'ClusterRole') return; // validation has refused it already
    const bind = this.sources.authorizer().authorize({
      user,
      verb: 'bind',
      resourceRequest: true,
      path: '',
      apiGroup: typeof ref.apiGroup === 'string' ? ref.apiGroup : RBAC_GROUP,
      apiVersion: '',
      resource: kind === 'Role' ? 'roles' : 'clusterroles',
      subresource: '',
      namespace,
      name: roleName,
    });
    if (bind.decision === 'Allow') return;
    const rules = this.roleReferenceRules(kind, roleName, namespace);
    this.confirmNoEscalation(user, namespace, rules, plural, obj.metadata?.name ?? '');
  }

  /** The referenced role's rules, from the watch cache; upstream's NotFound when it does not exist. */
  private roleReferenceRules(kind: string, name: string, namespace: string): PolicyRule[] {
    const plural = kind === 'Role' ? 'roles' : 'clusterroles';
    const prefix = `/registry/${RBAC_GROUP}/${plural}/`;
    const key = kind === 'Role' ? `${prefix}${namespace}/${name}` : `${prefix}${name}`;
    const found = this.cache.resource(prefix).objects.get(key);
    if (!found) throw errors.notFound(RBAC_GROUP, plural, name);
    return rulesOf(found.obj as { rules?: unknown });
  }

  private heldRules(user: UserInfo, namespace: string): { rules: PolicyRule[]; evaluationError?: string } {
    const resolver = this.sources.ruleResolver();
    if (!resolver) return { rules: [] };
    return toPolicyRules(resolver.rulesFor(user, namespace));
  }

  /** Upstream's ConfirmNoEscalation, wrapped in NewForbidden for the object being written. */
  private confirmNoEscalation(user: UserInfo, namespace: string, rules: PolicyRule[], plural: string, name: string): void {
    const held = this.heldRules(user, namespace);
    const { covered, missing } = covers(held.rules, rules);
    if (covered) return;
    const descriptions = [...new Set(compactRules(missing).map(compactString))].sort();
    let msg = `user ${JSON.stringify(user.name)} (groups=${goQuoteList(user.groups)}) is attempting to grant RBAC permissions not currently held:\n${descriptions.join('\n')}`;
    if (held.evaluationError) msg += `; resolution errors: [${held.evaluationError}]`;
    throw forbidden(plural, name, msg);
  }
}

function toPolicyRules(r: ResolvedRules): { rules: PolicyRule[]; evaluationError?: string } {
  const rules: PolicyRule[] = [];
  for (const x of r.resourceRules) {
    const p: PolicyRule = { verbs: x.verbs, apiGroups: x.apiGroups ?? [], resources: x.resources ?? [] };
    if (x.resourceNames?.length) p.resourceNames = x.resourceNames;
    rules.push(p);
  }
  for (const x of r.nonResourceRules) rules.push({ verbs: x.verbs, nonResourceURLs: x.nonResourceURLs ?? [] });
  return { rules, evaluationError: r.evaluationError };
}

/** errors.NewForbidden(rbac GroupResource, name, err). */
function forbidden(plural: string, name: string, why: string): ApiError {
  return new ApiError(403, 'Forbidden', `${qualifiedResource(RBAC_GROUP, plural)} ${JSON.stringify(name)} is forbidden: ${why}`, {
    name: name || undefined,
    group: RBAC_GROUP,
    kind: plural,
  });
}

/** Upstream's IsOnlyMutatingGCFields: equal once owner references and finalizers are taken from the new object. */
function onlyGcFieldsChange(obj: KubeObject, old: KubeObject): boolean {
  const strip = (o: KubeObject) => {
    const { metadata, ...rest } = o as KubeObject & Record<string, unknown>;
    const { ownerReferences: _o, finalizers: _f, resourceVersion: _rv, managedFields: _mf, generation: _g, ...meta } = (metadata ?? {}) as Record<string, unknown>;
    return JSON.stringify(canonical({ ...rest, metadata: meta }));
  };
  return strip(obj) === strip(old);
}

function canonical(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(canonical);
  if (v === null || typeof v !== 'object') return v;
  return Object.fromEntries(
    Object.keys(v)
      .sort()
      .map((k) => [k, canonical((v as Record<string, unknown>)[k])]),
  );
}
