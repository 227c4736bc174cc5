/**
 * Job conditions as upstream's job controller and its helpers (pkg/controller/job/util) read and
 * write them. Shared by the Job, CronJob and TTL-after-finished controllers.
 */
import type { KubeObject } from '../../api/types.js';
import { rfc3339 } from '../pods.js';

export interface JobCondition {
  type: string;
  status: 'True' | 'False' | 'Unknown';
  lastProbeTime?: string;
  lastTransitionTime?: string;
  reason?: string;
  message?: string;
}

export const JOB_COMPLETE = 'Complete';
export const JOB_FAILED = 'Failed';
export const JOB_SUSPENDED = 'Suspended';
export const JOB_FAILURE_TARGET = 'FailureTarget';

export function jobConditions(job: KubeObject): JobCondition[] {
  const c = job.status?.conditions;
  return Array.isArray(c) ? (c as JobCondition[]) : [];
}

export function findCondition(job: KubeObject, type: string): JobCondition | undefined {
  return jobConditions(job).find((c) => c.type === type);
}

/** The Complete or Failed condition with status True, if the Job has finished. */
export function finishedCondition(job: KubeObject): JobCondition | undefined {
  return jobConditions(job).find((c) => (c.type === JOB_COMPLETE || c.type === JOB_FAILED) && c.status === 'True');
}

export function isJobFinished(job: KubeObject): boolean {
  return finishedCondition(job) !== undefined;
}

export function isJobSucceeded(job: KubeObject): boolean {
  return jobConditions(job).some((c) => c.type === JOB_COMPLETE && c.status === 'True');
}

export function newCondition(type: string, status: JobCondition['status'], reason: string, message: string, nowMs: number): JobCondition {
  const t = rfc3339(nowMs);
  // Empty reason and message are omitted, as Go's omitempty does.
  const c: JobCondition = { type, status, lastProbeTime: t, lastTransitionTime: t };
  if (reason) c.reason = reason;
  if (message) c.message = message;
  return c;
}

/**
 * Sets the condition of `type` to status/reason/message, as upstream's ensureJobConditionStatus:
 * an existing one is replaced only if something differs; a missing one is added unless it would be
 * False (nothing to False says nothing). Returns whether the list changed.
 */
export function ensureCondition(
  conditions: JobCondition[],
  type: string,
  status: JobCondition['status'],
  reason: string,
  message: string,
  nowMs: number,
): boolean {
  const i = conditions.findIndex((c) => c.type === type);
  if (i >= 0) {
    const c = conditions[i];
    if (c.status === status && (c.reason ?? '') === reason && (c.message ?? '') === message) return false;
    conditions[i] = newCondition(type, status, reason, message, nowMs);
    return true;
  }
  if (status === 'False') return false;
  conditions.push(newCondition(type, status, reason, message, nowMs));
  return true;
}
