/**
 * The arithmetic of Deployments, after upstream's deployment/util: names of annotations and labels,
 * maxSurge/maxUnavailable resolution, replica counts over ReplicaSets, the orders ReplicaSets are
 * scaled in, which ReplicaSet is "new", and how many replicas it may have.
 */
import type { KubeObject } from '../../api/types.js';
import { semanticEqual } from '../controller-utils.js';

export const DEFAULT_DEPLOYMENT_UNIQUE_LABEL_KEY = 'pod-template-hash';
export const REVISION_ANNOTATION = 'deployment.kubernetes.io/revision';
export const REVISION_HISTORY_ANNOTATION = 'deployment.kubernetes.io/revision-history';
export const DESIRED_REPLICAS_ANNOTATION = 'deployment.kubernetes.io/desired-replicas';
export const MAX_REPLICAS_ANNOTATION = 'deployment.kubernetes.io/max-replicas';
export const CHANGE_CAUSE_ANNOTATION = 'kubernetes.io/change-cause';
export const LAST_APPLIED_ANNOTATION = 'kubectl.kubernetes.io/last-applied-configuration';
/** extensions/v1beta1's spec.rollbackTo, carried as an annotation by apps/v1. */
export const DEPRECATED_ROLLBACK_TO_ANNOTATION = 'deprecated.deployment.rollback.to';

/** Go's math.MaxInt32: "no limit" for revisionHistoryLimit and progressDeadlineSeconds. */
const MAX_INT32 = 2147483647;

export type Deployment = KubeObject;
export type ReplicaSet = KubeObject;

/** spec.replicas of a Deployment or ReplicaSet (defaulted to 1 by the API). */
export function specReplicas(o: KubeObject | undefined): number {
  const r = o?.spec?.replicas;
  return typeof r === 'number' ? r : 1;
}

export function isRollingUpdate(d: Deployment): boolean {
  return d.spec?.strategy?.type === 'RollingUpdate';
}

export function hasProgressDeadline(d: Deployment): boolean {
  const p = d.spec?.progressDeadlineSeconds;
  return typeof p === 'number' && p !== MAX_INT32;
}

export function hasRevisionHistoryLimit(d: Deployment): boolean {
  const l = d.spec?.revisionHistoryLimit;
  return typeof l === 'number' && l !== MAX_INT32;
}

// ---- maxSurge and maxUnavailable ----

/**
 * An int-or-percent against `total`, as upstream's GetScaledValueFromIntOrPercent: percentages are
 * rounded up (surge) or down (unavailable). Throws on what is neither.
 */
export function scaledValueFromIntOrPercent(v: unknown, total: number, roundUp: boolean): number {
  if (v === undefined || v === null) return 0;
  if (typeof v === 'number') return Math.trunc(v);
  if (typeof v === 'string') {
    const m = /^(-?\d+)%$/.exec(v);
    if (!m) throw new Error(`invalid value for IntOrString: invalid type: string is not a percentage`);
    const x = (Number(m[1]) * total) / 100;
    return roundUp ? Math.ceil(x) : Math.floor(x);
  }
  throw new Error(`invalid value for IntOrString: invalid type: ${typeof v}`);
}

/**
 * Upstream's ResolveFenceposts: maxSurge rounded up and maxUnavailable rounded down, and when both
 * come to zero, one unavailable (validation forbids 0/0, but rounding can still reach it).
 */
export function resolveFenceposts(maxSurge: unknown, maxUnavailable: unknown, desired: number): { surge: number; unavailable: number } {
  const surge = scaledValueFromIntOrPercent(maxSurge ?? 0, desired, true);
  let unavailable = scaledValueFromIntOrPercent(maxUnavailable ?? 0, desired, false);
  if (surge === 0 && unavailable === 0) unavailable = 1;
  return { surge, unavailable };
}

export function maxSurge(d: Deployment): number {
  if (!isRollingUpdate(d)) return 0;
  const ru = d.spec?.strategy?.rollingUpdate ?? {};
  return resolveFenceposts(ru.maxSurge, ru.maxUnavailable, specReplicas(d)).surge;
}

export function maxUnavailable(d: Deployment): number {
  const replicas = specReplicas(d);
  if (!isRollingUpdate(d) || replicas === 0) return 0;
  const ru = d.spec?.strategy?.rollingUpdate ?? {};
  return Math.min(resolveFenceposts(ru.maxSurge, ru.maxUnavailable, replicas).unavailable, replicas);
}

// ---- counting over ReplicaSets ----

type MaybeRS = ReplicaSet | undefined;

export function replicaCount(rss: readonly MaybeRS[]): number {
  return rss.reduce((n, rs) => n + (rs ? specReplicas(rs) : 0), 0);
}

function statusSum(rss: readonly MaybeRS[], field: string): number {
  return rss.reduce((n, rs) => n + Number(rs?.status?.[field] ?? 0), 0);
}

export const actualReplicaCount = (rss: readonly MaybeRS[]) => statusSum(rss, 'replicas');
export const readyReplicaCount = (rss: readonly MaybeRS[]) => statusSum(rss, 'readyReplicas');
export const availableReplicaCount = (rss: readonly MaybeRS[]) => statusSum(rss, 'availableReplicas');

/** ReplicaSets with replicas > 0 (upstream's FilterActiveReplicaSets). */
export function filterActive(rss: readonly MaybeRS[]): ReplicaSet[] {
  return rss.filter((rs): rs is ReplicaSet => !!rs && specReplicas(rs) > 0);
}

// ---- orders ----

function createdMs(rs: ReplicaSet): number {
  const t = Date.parse(rs.metadata?.creationTimestamp ?? '');
  return Number.isFinite(t) ? t : 0;
}

/** Oldest first, ties by name (upstream's ReplicaSetsByCreationTimestamp). */
export function byCreationTimestamp(a: ReplicaSet, b: ReplicaSet): number {
  const d = createdMs(a) - createdMs(b);
  if (d !== 0) return d;
  const an = a.metadata?.name ?? '';
  const bn = b.metadata?.name ?? '';
  return an < bn ? -1 : an > bn ? 1 : 0;
}

/** Largest first; among equals the newer first (upstream's ReplicaSetsBySizeNewer: who scales up first). */
export function bySizeNewer(a: ReplicaSet, b: ReplicaSet): number {
  const d = specReplicas(b) - specReplicas(a);
  return d !== 0 ? d : byCreationTimestamp(b, a);
}

/** Largest first; among equals the older first (upstream's ReplicaSetsBySizeOlder: who scales down first). */
export function bySizeOlder(a: ReplicaSet, b: ReplicaSet): number {
  const d = specReplicas(b) - specReplicas(a);
  return d !== 0 ? d : byCreationTimestamp(a, b);
}

/** The revision annotation as a number: 0 when missing, NaN when unreadable. */
export function revisionOf(o: KubeObject | undefined): number {
  const v = o?.metadata?.annotations?.[REVISION_ANNOTATION];
  if (v === undefined) return 0;
  return /^[+-]?\d+$/.test(v) ? Number(v) : NaN;
}

/** Lowest revision first; unreadable or equal revisions by age (upstream's ReplicaSetsByRevision). */
export function byRevision(a: ReplicaSet, b: ReplicaSet): number {
  const ra = revisionOf(a);
  const rb = revisionOf(b);
  if (Number.isNaN(ra) || Number.isNaN(rb) || ra === rb) return byCreationTimestamp(a, b);
  return ra - rb;
}

// ---- new and old ReplicaSets ----

function withoutHashLabel(template: KubeObject | undefined): KubeObject {
  const t = { ...(template ?? {}) };
  const labels = { ...(t.metadata?.labels ?? {}) };
  delete labels[DEFAULT_DEPLOYMENT_UNIQUE_LABEL_KEY];
  t.metadata = { ...(t.metadata ?? {}), labels };
  return t;
}

/** Templates equal but for the pod-template-hash label (upstream's EqualIgnoreHash). */
export function equalIgnoreHash(t1: KubeObject | undefined, t2: KubeObject | undefined): boolean {
  return semanticEqual(withoutHashLabel(t1), withoutHashLabel(t2));
}

/** The oldest ReplicaSet whose template is the Deployment's (upstream's FindNewReplicaSet). Sorts `rsList`. */
export function findNewReplicaSet(d: Deployment, rsList: ReplicaSet[]): ReplicaSet | undefined {
  rsList.sort(byCreationTimestamp);
  return rsList.find((rs) => equalIgnoreHash(rs.spec?.template, d.spec?.template));
}

/** Every ReplicaSet but the new one (upstream's FindOldReplicaSets, its second result). */
export function findOldReplicaSets(d: Deployment, rsList: ReplicaSet[]): ReplicaSet[] {
  const newRS = findNewReplicaSet(d, rsList);
  return rsList.filter((rs) => !newRS || rs.metadata?.uid !== newRS.metadata?.uid);
}

/**
 * The only active ReplicaSet, or the newest when none is active; undefined when several are
 * active and must be scaled in proportion (upstream's FindActiveOrLatest).
 */
export function findActiveOrLatest(newRS: MaybeRS, oldRSs: readonly ReplicaSet[]): ReplicaSet | undefined {
  if (!newRS && oldRSs.length === 0) return undefined;
  const newestFirst = [...oldRSs].sort((a, b) => byCreationTimestamp(b, a));
  const active = filterActive([...newestFirst, newRS]);
  if (active.length === 0) return newRS ?? newestFirst[0];
  return active.length === 1 ? active[0] : undefined;
}

// ---- sizes ----

function intAnnotation(rs: ReplicaSet, key: string): number | undefined {
  const v = rs.metadata?.annotations?.[key];
  if (v === undefined || !/^[+-]?\d+$/.test(v)) return undefined;
  return Number(v);
}

export const desiredReplicasAnnotation = (rs: ReplicaSet) => intAnnotation(rs, DESIRED_REPLICAS_ANNOTATION);
export const maxReplicasAnnotation = (rs: ReplicaSet) => intAnnotation(rs, MAX_REPLICAS_ANNOTATION);

/**
 * How many replicas the new ReplicaSet should have now (upstream's NewRSNewReplicas): a rolling
 * update grows it up to replicas + maxSurge pods in all; Recreate makes it whole at once.
 */
export function newRSNewReplicas(d: Deployment, allRSs: readonly MaybeRS[], newRS: ReplicaSet): number {
  const strategy = d.spec?.strategy?.type;
  if (strategy === 'Recreate') return specReplicas(d);
  if (strategy !== 'RollingUpdate') throw new Error(`deployment type ${strategy} isn't supported`);
  const surge = scaledValueFromIntOrPercent(d.spec?.strategy?.rollingUpdate?.maxSurge, specReplicas(d), true);
  const current = replicaCount(allRSs);
  const maxTotal = specReplicas(d) + surge;
  if (current >= maxTotal) return specReplicas(newRS);
  const up = Math.min(maxTotal - current, specReplicas(d) - specReplicas(newRS));
  return specReplicas(newRS) + up;
}

/** The new ReplicaSet holds every desired replica, and all are available (upstream's IsSaturated). */
export function isSaturated(d: Deployment, rs: MaybeRS): boolean {
  if (!rs) return false;
  const desired = desiredReplicasAnnotation(rs);
  if (desired === undefined) return false;
  const want = specReplicas(d);
  return specReplicas(rs) === want && desired === want && Number(rs.status?.availableReplicas ?? 0) === want;
}

/** Go's math.Round: halves away from zero. */
function goRound(x: number): number {
  return Math.sign(x) * Math.round(Math.abs(x));
}

/**
 * The share of a scaling event one ReplicaSet takes (upstream's GetProportion): its size in the
 * proportion its max-replicas annotation says it had, bounded by what is left to add or remove.
 */
export function getProportion(rs: MaybeRS, d: Deployment, toAdd: number, added: number): number {
  if (!rs || specReplicas(rs) === 0 || toAdd === 0 || toAdd === added) return 0;
  const fraction = replicaSetFraction(rs, d);
  const allowed = toAdd - added;
  return toAdd > 0 ? Math.min(fraction, allowed) : Math.max(fraction, allowed);
}

function replicaSetFraction(rs: ReplicaSet, d: Deployment): number {
  if (specReplicas(d) === 0) return -specReplicas(rs);
  const deploymentReplicas = specReplicas(d) + maxSurge(d);
  // Without the annotation, the Deployment's current size is the best guess (upstream's fallback).
  const annotated = maxReplicasAnnotation(rs) ?? Number(d.status?.replicas ?? 0);
  if (annotated === 0) return 0;
  const newSize = (specReplicas(rs) * deploymentReplicas) / annotated;
  return goRound(newSize) - specReplicas(rs);
}
