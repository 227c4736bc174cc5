/**
 * Authorization, as upstream's k8s.io/apiserver/pkg/authorization/authorizer: what a request asks
 * to do (Attributes), who answers (Authorizer), and which rules a user holds (RuleResolver, for
 * SelfSubjectRulesReview and RBAC's escalation check).
 *
 * Authorizers are synchronous: they answer from indexes kept in step with the watch cache, so a
 * decision costs a few map lookups on the request path and never a store round trip.
 */
import type { UserInfo } from '../auth/user.js';
import { ApiError, qualifiedResource } from '../../api/errors.js';

export interface Attributes {
  user: UserInfo;
  /** get, list, watch, create, update, patch, delete, deletecollection, or a special verb (impersonate, bind, escalate, approve, sign, use); the lower-cased HTTP method for non-resource requests. */
  verb: string;
  resourceRequest: boolean;
  /** The request path (what non-resource rules match). */
  path: string;
  apiGroup: string;
  apiVersion: string;
  resource: string;
  subresource: string;
  namespace: string;
  name: string;
  /** A list's or watch's raw fieldSelector (the Node authorizer lets a node list pods with spec.nodeName=<itself>). */
  fieldSelector?: string;
}

export type Decision = 'Allow' | 'Deny' | 'NoOpinion';

export interface AuthorizationResult {
  decision: Decision;
  /** Why, when there is something to say (appended to the Forbidden message). */
  reason: string;
}

export interface Authorizer {
  authorize(a: Attributes): AuthorizationResult;
}

export interface ResourceRule {
  verbs: string[];
  apiGroups?: string[];
  resources?: string[];
  resourceNames?: string[];
}

export interface NonResourceRule {
  verbs: string[];
  nonResourceURLs?: string[];
}

export interface ResolvedRules {
  resourceRules: ResourceRule[];
  nonResourceRules: NonResourceRule[];
  /** True when some rules could not be resolved (a binding to a missing role): the list may be short. */
  incomplete: boolean;
  evaluationError?: string;
}

export interface RuleResolver {
  /** The rules `user` holds in `namespace` (cluster-wide rules included); '' for cluster-wide only. */
  rulesFor(user: UserInfo, namespace: string): ResolvedRules;
}

export const ALLOW: AuthorizationResult = Object.freeze({ decision: 'Allow', reason: '' }) as AuthorizationResult;
export const NO_OPINION: AuthorizationResult = Object.freeze({ decision: 'NoOpinion', reason: '' }) as AuthorizationResult;

/** Upstream's --authorization-mode=AlwaysAllow: every request is allowed (in-process tests of the API machinery). */
export const alwaysAllow: Authorizer = { authorize: () => ALLOW };

/** Asks each authorizer in turn; the first that is not NoOpinion decides (upstream's union authorizer). */
export class UnionAuthorizer implements Authorizer {
  constructor(private readonly authorizers: Authorizer[]) {}

  authorize(a: Attributes): AuthorizationResult {
    const reasons: string[] = [];
    for (const z of this.authorizers) {
      const r = z.authorize(a);
      if (r.decision !== 'NoOpinion') return r;
      if (r.reason) reasons.push(r.reason);
    }
    return reasons.length ? { decision: 'NoOpinion', reason: reasons.join('\n') } : NO_OPINION;
  }
}

/** system:masters is allowed everything before any other authorizer is asked (upstream's privileged group). */
export const SYSTEM_MASTERS = 'system:masters';

/** Upstream's responsewriters.forbiddenMessage. */
export function forbiddenMessage(a: Attributes): string {
  const user = a.user.name;
  if (!a.resourceRequest) return `User ${JSON.stringify(user)} cannot ${a.verb} path ${JSON.stringify(a.path)}`;
  const resource = a.subresource ? `${a.resource}/${a.subresource}` : a.resource;
  if (a.namespace) return `User ${JSON.stringify(user)} cannot ${a.verb} resource ${JSON.stringify(resource)} in API group ${JSON.stringify(a.apiGroup)} in the namespace ${JSON.stringify(a.namespace)}`;
  return `User ${JSON.stringify(user)} cannot ${a.verb} resource ${JSON.stringify(resource)} in API group ${JSON.stringify(a.apiGroup)} at the cluster scope`;
}

/** The 403 a denied request gets: upstream's responsewriters.Forbidden through errors.NewForbidden. */
export function forbiddenError(a: Attributes, reason: string): ApiError {
  const why = reason ? `${forbiddenMessage(a)}: ${reason}` : forbiddenMessage(a);
  if (!a.resourceRequest || !a.resource) return new ApiError(403, 'Forbidden', `forbidden: ${why}`, {});
  const gr = qualifiedResource(a.apiGroup, a.resource);
  const message = a.name ? `${gr} ${JSON.stringify(a.name)} is forbidden: ${why}` : `${gr} is forbidden: ${why}`;
  return new ApiError(403, 'Forbidden', message, { name: a.name || undefined, group: a.apiGroup || undefined, kind: a.resource });
}
