/**
 * Completion indexes of Indexed Jobs, after upstream's indexed_job_utils: the compressed interval
 * form of status.completedIndexes / status.failedIndexes ("1,3-5"; two neighbours are written
 * "1,2"), the index a pod carries, the indexes still to start, and which active pods repeat an
 * index.
 */
import type { KubeObject } from '../../api/types.js';
import { compareActivePodsForRemoval } from './active-pods.js';

export const COMPLETION_INDEX_ANNOTATION = 'batch.kubernetes.io/job-completion-index';
export const INDEX_FAILURE_COUNT_ANNOTATION = 'batch.kubernetes.io/job-index-failure-count';
export const INDEX_IGNORED_FAILURE_COUNT_ANNOTATION = 'batch.kubernetes.io/job-index-ignored-failure-count';
export const COMPLETION_INDEX_ENV = 'JOB_COMPLETION_INDEX';
export const UNKNOWN_INDEX = -1;
/** A generated name's prefix leaves room for the five random characters of a 63-character name. */
const MAX_GENERATED_NAME_LENGTH = 58;
const MAX_INT32 = 2147483647;

export interface Interval {
  first: number;
  last: number;
}

/** Sorted, disjoint, non-adjacent intervals of indexes. */
export class Intervals {
  constructor(readonly list: readonly Interval[] = []) {}

  /** Parses the status form, dropping what is at or beyond `completions` and what does not parse. */
  static parse(text: string | undefined | null, completions: number): Intervals {
    if (!text) return new Intervals();
    const out: Interval[] = [];
    for (const part of text.split(',')) {
      const limits = part.split('-');
      const first = parseGoInt(limits[0]);
      if (first === undefined) continue;
      if (first >= completions) break;
      let last = first;
      if (limits.length > 1) {
        const l = parseGoInt(limits[1]);
        if (l === undefined) continue;
        last = Math.min(l, completions - 1);
      }
      const prev = out[out.length - 1];
      if (prev && prev.last === first - 1) prev.last = last;
      else out.push({ first, last });
    }
    return new Intervals(out);
  }

  /** A new list that also holds `indexes` (given in increasing order). */
  withOrderedIndexes(indexes: readonly number[]): Intervals {
    return this.merge(new Intervals(indexes.map((i) => ({ first: i, last: i }))));
  }

  merge(other: Intervals): Intervals {
    const out: Interval[] = [];
    const push = (iv: Interval) => {
      const last = out[out.length - 1];
      if (!last || iv.first > last.last + 1) out.push({ ...iv });
      else if (last.last < iv.last) last.last = iv.last;
    };
    const a = this.list;
    const b = other.list;
    let i = 0;
    let j = 0;
    while (i < a.length && j < b.length) push(a[i].first < b[j].first ? a[i++] : b[j++]);
    while (i < a.length) push(a[i++]);
    while (j < b.length) push(b[j++]);
    return new Intervals(out);
  }

  total(): number {
    return this.list.reduce((n, iv) => n + iv.last - iv.first + 1, 0);
  }

  has(ix: number): boolean {
    let lo = 0;
    let hi = this.list.length;
    while (hi > lo) {
      const mid = lo + ((hi - lo) >> 1);
      if (this.list[mid].last >= ix) hi = mid;
      else lo = mid + 1;
    }
    return hi < this.list.length && this.list[hi].first <= ix;
  }

  toString(): string {
    return this.list.map((iv) => (iv.last === iv.first ? `${iv.first}` : `${iv.first}${iv.last === iv.first + 1 ? ',' : '-'}${iv.last}`)).join(',');
  }
}

/** Go's strconv.Atoi on the values we accept: an optional sign and decimal digits. */
function parseGoInt(s: string | undefined): number | undefined {
  if (s === undefined || !/^[+-]?\d+$/.test(s)) return undefined;
  return Number(s);
}

/** The index in a pod's completion-index annotation, or UNKNOWN_INDEX. */
export function completionIndexOf(pod: KubeObject): number {
  const n = parseGoInt(pod.metadata?.annotations?.[COMPLETION_INDEX_ANNOTATION]);
  return n === undefined || n < 0 ? UNKNOWN_INDEX : n;
}

export function indexesOf(pods: readonly KubeObject[]): Set<number> {
  const out = new Set<number>();
  for (const p of pods) {
    const ix = completionIndexOf(p);
    if (ix !== UNKNOWN_INDEX) out.add(ix);
  }
  return out;
}

function sortedNumbers(s: Iterable<number>): number[] {
  return [...s].sort((a, b) => a - b);
}

/**
 * The first `count` indexes below `completions` that are neither succeeded, nor active, nor (when
 * given) terminating or failed.
 */
export function firstPendingIndexes(
  count: number,
  completions: number,
  succeeded: Intervals,
  active: readonly KubeObject[],
  terminating: readonly KubeObject[] | undefined,
  failed: Intervals | undefined,
): number[] {
  if (count <= 0) return [];
  let nonPending = succeeded.withOrderedIndexes(sortedNumbers(indexesOf(active)));
  if (terminating) nonPending = nonPending.withOrderedIndexes(sortedNumbers(indexesOf(terminating)));
  if (failed) nonPending = nonPending.merge(failed);
  const out: number[] = [];
  let candidate = 0;
  for (const iv of nonPending.list) {
    for (; candidate < completions && out.length < count && candidate < iv.first; candidate++) out.push(candidate);
    if (candidate < iv.last + 1) candidate = iv.last + 1;
  }
  for (; candidate < completions && out.length < count; candidate++) out.push(candidate);
  return out;
}

/** Sorts by completion index, pods without one first. */
export function byCompletionIndex(a: KubeObject, b: KubeObject): number {
  return completionIndexOf(a) - completionIndexOf(b);
}

/**
 * Splits active pods of an Indexed Job into those to remove (no index, an index at or beyond
 * `completions`, or all but the best-placed pod of a repeated index) and those to keep.
 */
export function duplicatedIndexPodsForRemoval(pods: readonly KubeObject[], completions: number): { remove: KubeObject[]; keep: KubeObject[] } {
  const remove: KubeObject[] = [];
  const keep: KubeObject[] = [];
  const sorted = [...pods].sort(byCompletionIndex);
  let i = 0;
  while (i < sorted.length) {
    const ix = completionIndexOf(sorted[i]);
    if (ix >= completions) {
      remove.push(...sorted.slice(i));
      break;
    }
    let j = i;
    while (j < sorted.length && completionIndexOf(sorted[j]) === ix) j++;
    const same = sorted.slice(i, j);
    if (ix === UNKNOWN_INDEX) remove.push(...same);
    else if (same.length === 1) keep.push(same[0]);
    else {
      // The pod furthest along stays; the others (earlier in removal order) go.
      same.sort(compareActivePodsForRemoval);
      remove.push(...same.slice(0, -1));
      keep.push(same[same.length - 1]);
    }
    i = j;
  }
  return { remove, keep };
}

/** `<job>-<index>-`, the job name cut so the prefix leaves room for the random suffix. */
export function generateNameWithIndex(jobName: string, index: number): string {
  const suffix = `-${index}-`;
  const prefix = jobName + suffix;
  return prefix.length > MAX_GENERATED_NAME_LENGTH ? jobName.slice(0, MAX_GENERATED_NAME_LENGTH - suffix.length) + suffix : prefix;
}

/** Gives every container (and init container) JOB_COMPLETION_INDEX from the pod's annotation, unless it sets it. */
export function addCompletionIndexEnv(podSpec: Record<string, any>): void {
  for (const list of [podSpec.initContainers, podSpec.containers]) {
    if (!Array.isArray(list)) continue;
    for (const c of list) {
      if (typeof c !== 'object' || c === null) continue;
      const env: any[] = Array.isArray(c.env) ? c.env : (c.env = []);
      if (env.some((e) => e?.name === COMPLETION_INDEX_ENV)) continue;
      env.push({ name: COMPLETION_INDEX_ENV, valueFrom: { fieldRef: { fieldPath: `metadata.annotations['${COMPLETION_INDEX_ANNOTATION}']` } } });
    }
  }
}

/** An int32 annotation (a failure count), 0 when absent or not a valid non-negative int32. */
export function annotationCount(pod: KubeObject, key: string): number {
  const n = parseGoInt(pod.metadata?.annotations?.[key]);
  return n === undefined || n < 0 || n > MAX_INT32 ? 0 : n;
}
