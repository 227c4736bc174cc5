/**
 * The access reviews (authorization.k8s.io/v1) and SelfSubjectReview (authentication.k8s.io/v1):
 * create-only kinds that ask the API server's authorizer a question and answer in `status`,
 * storing nothing (upstream's pkg/registry/authorization/* and authentication/selfsubjectreview).
 *
 * - SubjectAccessReview: may `spec.user`/`spec.groups` do this? (what webhooks and kubelets ask)
 * - LocalSubjectAccessReview: the same, confined to the request's namespace
 * - SelfSubjectAccessReview: may I? (`kubectl auth can-i`)
 * - SelfSubjectRulesReview: what may I do in this namespace? (`kubectl auth can-i --list`)
 * - SelfSubjectReview: who am I? (`kubectl auth whoami`)
 *
 * Reviews are judged as a request would be (ApiServer.decide: system:masters first, then the authorizer).
 */
import { causes, errors, type StatusCause } from '../../api/errors.js';
import type { KubeObject } from '../../api/types.js';
import type { UserInfo } from '../auth/user.js';
import type { CreateOnlyRequest } from '../create-only.js';
import type { ApiServer } from '../server.js';
import { alwaysAllow, SYSTEM_MASTERS, type Attributes, type ResolvedRules } from './types.js';

type Obj = Record<string, any>;

interface ReviewStatus {
  allowed: boolean;
  denied?: boolean;
  reason?: string;
  evaluationError?: string;
}

function isObj(v: unknown): v is Obj {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

function str(v: unknown): string {
  return typeof v === 'string' ? v : '';
}

function strings(v: unknown): string[] {
  return Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : [];
}

function apiVersion(r: CreateOnlyRequest): string {
  return r.entry.group ? `${r.entry.group}/${r.entry.version}` : r.entry.version;
}

function bodyObject(r: CreateOnlyRequest, body: unknown): Obj {
  if (!isObj(body)) throw errors.badRequest(`not a ${r.entry.kind}`);
  return body;
}

/** Upstream's authorizationutil.ResourceAttributesFrom / NonResourceAttributesFrom. */
function attributesFrom(user: UserInfo, spec: Obj): Attributes {
  const res = isObj(spec.resourceAttributes) ? spec.resourceAttributes : undefined;
  if (res) {
    const fieldSelector = isObj(res.fieldSelector) ? str(res.fieldSelector.rawSelector) : '';
    return {
      user,
      verb: str(res.verb),
      resourceRequest: true,
      path: '',
      apiGroup: str(res.group),
      apiVersion: str(res.version) || '*',
      resource: str(res.resource),
      subresource: str(res.subresource),
      namespace: str(res.namespace),
      name: str(res.name),
      ...(fieldSelector ? { fieldSelector } : {}),
    };
  }
  const non = isObj(spec.nonResourceAttributes) ? spec.nonResourceAttributes : {};
  return { user, verb: str(non.verb), resourceRequest: false, path: str(non.path), apiGroup: '', apiVersion: '', resource: '', subresource: '', namespace: '', name: '' };
}

/** Upstream's ValidateSelfSubjectAccessReviewSpec (the part every review shares). */
function specCauses(spec: Obj): StatusCause[] {
  const out: StatusCause[] = [];
  const hasRes = spec.resourceAttributes != null;
  const hasNon = spec.nonResourceAttributes != null;
  if (hasRes && hasNon) out.push(causes.invalid('spec.nonResourceAttributes', spec.nonResourceAttributes, 'cannot be specified in combination with resourceAttributes'));
  if (!hasRes && !hasNon) out.push(causes.invalid('spec.resourceAttributes', null, 'exactly one of nonResourceAttributes or resourceAttributes must be specified'));
  return out;
}

function subjectCauses(spec: Obj): StatusCause[] {
  const out = specCauses(spec);
  if (!str(spec.user) && strings(spec.groups).length === 0) out.push(causes.invalid('spec.user', str(spec.user), 'at least one of user or group must be specified'));
  return out;
}

function metadataCauses(meta: Obj, allowNamespace: boolean): StatusCause[] {
  const rest = Object.entries(meta).filter(([k, v]) => k !== 'managedFields' && !(allowNamespace && k === 'namespace') && v != null && !(k === 'creationTimestamp' && v === null));
  if (rest.length === 0) return [];
  return [causes.invalid('metadata', meta, allowNamespace ? 'must be empty except for namespace' : 'must be empty')];
}

function invalid(kind: string, list: StatusCause[]): void {
  if (list.length > 0) throw errors.invalid('authorization.k8s.io', kind, '', list);
}

function subjectOf(spec: Obj): UserInfo {
  const extra: Record<string, string[]> = {};
  if (isObj(spec.extra)) for (const [k, v] of Object.entries(spec.extra)) extra[k] = strings(v);
  return { name: str(spec.user), groups: strings(spec.groups), ...(str(spec.uid) ? { uid: str(spec.uid) } : {}), ...(Object.keys(extra).length ? { extra } : {}) };
}

/** Decides `a` as a request would be decided, reporting the authorizer's own words. */
export function reviewDecision(server: ApiServer, a: Attributes): ReviewStatus {
  try {
    const r = server.decide(a);
    return { allowed: r.decision === 'Allow', ...(r.decision === 'Deny' ? { denied: true } : {}), ...(r.reason ? { reason: r.reason } : {}) };
  } catch (err) {
    return { allowed: false, evaluationError: err instanceof Error ? err.message : String(err) };
  }
}

function answer(r: CreateOnlyRequest, obj: Obj, status: unknown): KubeObject {
  return { ...obj, kind: r.entry.kind, apiVersion: apiVersion(r), metadata: isObj(obj.metadata) ? obj.metadata : { creationTimestamp: null }, spec: isObj(obj.spec) ? obj.spec : {}, status } as KubeObject;
}

function subjectAccessReview(server: ApiServer) {
  return (r: CreateOnlyRequest, body: unknown): KubeObject => {
    const sar = bodyObject(r, body);
    const spec = isObj(sar.spec) ? sar.spec : {};
    invalid(r.entry.kind, [...subjectCauses(spec), ...metadataCauses(isObj(sar.metadata) ? sar.metadata : {}, false)]);
    return answer(r, sar, reviewDecision(server, attributesFrom(subjectOf(spec), spec)));
  };
}

function localSubjectAccessReview(server: ApiServer) {
  return (r: CreateOnlyRequest, body: unknown): KubeObject => {
    const sar = bodyObject(r, body);
    const meta: Obj = isObj(sar.metadata) ? { ...sar.metadata } : {};
    // The generic create path: an object without a namespace takes the request's; another one is refused.
    if (!str(meta.namespace)) meta.namespace = r.namespace;
    else if (meta.namespace !== r.namespace) throw errors.badRequest('the namespace of the provided object does not match the namespace sent on the request');
    const spec = isObj(sar.spec) ? sar.spec : {};
    const list = [...subjectCauses(spec), ...metadataCauses(meta, true)];
    if (isObj(spec.resourceAttributes) && str(spec.resourceAttributes.namespace) !== meta.namespace) {
      list.push(causes.invalid('spec.resourceAttributes.namespace', str(spec.resourceAttributes.namespace), 'must match metadata.namespace'));
    }
    if (spec.nonResourceAttributes != null) list.push(causes.invalid('spec.nonResourceAttributes', spec.nonResourceAttributes, 'disallowed on this kind of request'));
    invalid(r.entry.kind, list);
    if (!r.namespace) throw errors.badRequest(`namespace is required on this type: ${r.namespace}`);
    return answer(r, { ...sar, metadata: meta }, reviewDecision(server, attributesFrom(subjectOf(spec), spec)));
  };
}

function selfSubjectAccessReview(server: ApiServer) {
  return (r: CreateOnlyRequest, body: unknown): KubeObject => {
    const sar = bodyObject(r, body);
    const spec = isObj(sar.spec) ? sar.spec : {};
    invalid(r.entry.kind, specCauses(spec));
    return answer(r, sar, reviewDecision(server, attributesFrom(r.user, spec)));
  };
}

/** What upstream's AlwaysAllow authorizer (and cluster-admin) hold: everything. */
const EVERYTHING: ResolvedRules = {
  resourceRules: [{ verbs: ['*'], apiGroups: ['*'], resources: ['*'] }],
  nonResourceRules: [{ verbs: ['*'], nonResourceURLs: ['*'] }],
  incomplete: false,
};

function selfSubjectRulesReview(server: ApiServer) {
  return (r: CreateOnlyRequest, body: unknown): KubeObject => {
    const review = bodyObject(r, body);
    const namespace = isObj(review.spec) ? str(review.spec.namespace) : '';
    if (!namespace) throw errors.badRequest('no namespace on request');
    let rules: ResolvedRules;
    if (server.ruleResolver) rules = server.ruleResolver.rulesFor(r.user, namespace);
    else if (server.authorizer === alwaysAllow || r.user.groups.includes(SYSTEM_MASTERS)) rules = EVERYTHING;
    else rules = { resourceRules: [], nonResourceRules: [], incomplete: true, evaluationError: 'no rule resolver is configured' };
    const status: Obj = {
      resourceRules: rules.resourceRules.map((x) => ({
        verbs: x.verbs,
        ...(x.apiGroups?.length ? { apiGroups: x.apiGroups } : {}),
        ...(x.resources?.length ? { resources: x.resources } : {}),
        ...(x.resourceNames?.length ? { resourceNames: x.resourceNames } : {}),
      })),
      nonResourceRules: rules.nonResourceRules.map((x) => ({ verbs: x.verbs, ...(x.nonResourceURLs?.length ? { nonResourceURLs: x.nonResourceURLs } : {}) })),
      incomplete: rules.incomplete,
      ...(rules.evaluationError ? { evaluationError: rules.evaluationError } : {}),
    };
    // Upstream answers with a new review: the status alone.
    return { kind: r.entry.kind, apiVersion: apiVersion(r), metadata: { creationTimestamp: null }, spec: {}, status } as unknown as KubeObject;
  };
}

function selfSubjectReview(r: CreateOnlyRequest, body: unknown): KubeObject {
  bodyObject(r, body);
  const u = r.user;
  const userInfo: Obj = { username: u.name };
  if (u.uid) userInfo.uid = u.uid;
  if (u.groups.length) userInfo.groups = [...u.groups];
  if (u.extra && Object.keys(u.extra).length) userInfo.extra = { ...u.extra };
  return { kind: r.entry.kind, apiVersion: apiVersion(r), metadata: { creationTimestamp: new Date().toISOString().replace(/\.\d+Z$/, 'Z') }, status: { userInfo } } as KubeObject;
}

/** Registers the review handlers on the server's create-only table. */
export function registerAccessReviews(server: ApiServer): void {
  server.createOnly.register('authorization.k8s.io', 'subjectaccessreviews', '', subjectAccessReview(server));
  server.createOnly.register('authorization.k8s.io', 'localsubjectaccessreviews', '', localSubjectAccessReview(server));
  server.createOnly.register('authorization.k8s.io', 'selfsubjectaccessreviews', '', selfSubjectAccessReview(server));
  server.createOnly.register('authorization.k8s.io', 'selfsubjectrulesreviews', '', selfSubjectRulesReview(server));
  server.createOnly.register('authentication.k8s.io', 'selfsubjectreviews', '', selfSubjectReview);
}
