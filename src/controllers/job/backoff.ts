/**
 * The delay before a Job replaces failed pods, after upstream's backoff_utils: a record per Job of
 * the failures since the last success and when the last one happened, advanced from the pods each
 * sync newly counts; the delay is base · 2^(failures-1), capped, measured from the last failure.
 */
import type { KubeObject } from '../../api/types.js';
import { parseTime, podCondition } from '../pods.js';

export interface BackoffRecord {
  key: string;
  failuresAfterLastSuccess: number;
  lastFailureTime?: number;
}

/**
 * When a pod finished: its last container's finish, else when it stopped being ready, else when it
 * was deleted (less its grace period), else (never with a kubelet) its creation.
 */
export function podFinishedTime(pod: KubeObject): number {
  let fromContainers: number | undefined;
  let allTerminated = true;
  for (const s of (pod.status?.containerStatuses as { state?: { terminated?: { finishedAt?: string } } }[] | undefined) ?? []) {
    const finished = parseTime(s.state?.terminated?.finishedAt);
    if (finished === undefined) {
      allTerminated = false;
      break;
    }
    if (fromContainers === undefined || finished > fromContainers) fromContainers = finished;
  }
  if (allTerminated && fromContainers !== undefined) return fromContainers;
  const ready = podCondition(pod, 'Ready');
  const readyFalse = ready?.status === 'False' ? parseTime(ready.lastTransitionTime) : undefined;
  if (readyFalse !== undefined) return readyFalse;
  const deleted = parseTime(pod.metadata?.deletionTimestamp);
  if (deleted !== undefined) return deleted - (pod.metadata?.deletionGracePeriodSeconds ?? 0) * 1000;
  return parseTime(pod.metadata?.creationTimestamp) ?? 0;
}

function byFinishedTime(pods: readonly KubeObject[]): KubeObject[] {
  return [...pods].sort((a, b) => podFinishedTime(a) - podFinishedTime(b));
}

/** base · 2^(failures-1) capped at max, less what has passed since the last failure; 0 when due. */
export function remainingBackoff(nowMs: number, baseMs: number, maxMs: number, failures: number, lastFailureMs: number | undefined): number {
  if (failures === 0 || lastFailureMs === undefined) return 0;
  let delay = baseMs;
  for (let i = 1; i < failures; i++) {
    delay *= 2;
    if (delay >= maxMs) {
      delay = maxMs;
      break;
    }
  }
  const elapsed = nowMs - lastFailureMs;
  return delay < elapsed ? 0 : delay - elapsed;
}

export class BackoffStore {
  private readonly records = new Map<string, BackoffRecord>();

  /** The record `key` would have once the given pods are counted (stored later, with the status). */
  newRecord(key: string, newSucceeded: readonly KubeObject[], newFailed: readonly KubeObject[]): BackoffRecord {
    const old = this.records.get(key);
    const r: BackoffRecord = { key, failuresAfterLastSuccess: old?.failuresAfterLastSuccess ?? 0, lastFailureTime: old?.lastFailureTime };
    const failed = byFinishedTime(newFailed);
    if (newSucceeded.length === 0) {
      if (failed.length === 0) return r;
      r.failuresAfterLastSuccess += failed.length;
      r.lastFailureTime = podFinishedTime(failed[failed.length - 1]);
      return r;
    }
    r.failuresAfterLastSuccess = 0;
    r.lastFailureTime = undefined;
    if (failed.length === 0) return r;
    // Only failures after the last success count.
    const succeeded = byFinishedTime(newSucceeded);
    const lastSuccess = podFinishedTime(succeeded[succeeded.length - 1]);
    for (let i = failed.length - 1; i >= 0; i--) {
      const t = podFinishedTime(failed[i]);
      if (t <= lastSuccess) break;
      r.lastFailureTime ??= t;
      r.failuresAfterLastSuccess++;
    }
    return r;
  }

  update(record: BackoffRecord): void {
    this.records.set(record.key, { ...record });
  }

  remove(key: string): void {
    this.records.delete(key);
  }
}
