/**
 * The Job controller, after upstream's (kube-controller-manager 1.30, default feature gates):
 * runs a Job's pods to completion.
 *
 * - Pods are created from the template with the `batch.kubernetes.io/job-tracking` finalizer. A
 *   finished pod is first recorded by uid in status.uncountedTerminatedPods, then loses its
 *   finalizer, then moves into status.succeeded / status.failed: so a pod deleted by anyone at any
 *   time is counted exactly once, and never lost.
 * - parallelism and completions (NonIndexed, or Indexed with the completion index in an annotation,
 *   a label, the hostname, the generated name and JOB_COMPLETION_INDEX, and status.completedIndexes
 *   in interval form), backoffLimit (restarts count for restartPolicy OnFailure), the delay before
 *   failed pods are replaced (10 s · 2^n up to 6 min), backoffLimitPerIndex and maxFailedIndexes,
 *   podFailurePolicy (FailJob through the FailureTarget condition, Ignore, Count, FailIndex),
 *   podReplacementPolicy, activeDeadlineSeconds, suspend and resume, status.ready/terminating.
 * - Expectations keep a slow watch from over-creating; pod events are batched (1 s) as upstream.
 * - Pods are found through an index of the shared pod informer by controller uid: no list per sync.
 *   Orphans matching a Job's selector are adopted, owned pods that stop matching are released, and
 *   an orphaned pod still carrying the tracking finalizer loses it (queued as `pod:<ns>/<name>`).
 */
import type { KubeObject } from '../../api/types.js';
import { ApiError } from '../../api/errors.js';
import { labelSelectorFromObject, type LabelPredicate } from '../../api/selectors.js';
import type { EventRecorder } from '../../client/events.js';
import type { Informer } from '../../client/informer.js';
import type { Client } from '../../client/interface.js';
import type { ControllerContext } from '../context.js';
import { Expectations } from '../expectations.js';
import { InformerController, type ControllerOptions } from '../informer-controller.js';
import { PodControl, type PodOverrides } from '../pod-control.js';
import { JOBS, PODS, controllerRefOf, isPodActive, isPodReady, isPodTerminal, keyOf, newControllerRef, parseTime, rfc3339 } from '../pods.js';
import { compareActivePodsForRemoval } from './active-pods.js';
import { BackoffStore, podFinishedTime, remainingBackoff, type BackoffRecord } from './backoff.js';
import {
  JOB_COMPLETE,
  JOB_FAILED,
  JOB_FAILURE_TARGET,
  JOB_SUSPENDED,
  ensureCondition,
  findCondition,
  isJobFinished,
  jobConditions,
  newCondition,
  type JobCondition,
} from './conditions.js';
import { FinalizerExpectations } from './finalizer-expectations.js';
import { addIndexerOnce } from './indexer.js';
import {
  COMPLETION_INDEX_ANNOTATION,
  INDEX_FAILURE_COUNT_ANNOTATION,
  INDEX_IGNORED_FAILURE_COUNT_ANNOTATION,
  Intervals,
  UNKNOWN_INDEX,
  addCompletionIndexEnv,
  annotationCount,
  byCompletionIndex,
  completionIndexOf,
  duplicatedIndexPodsForRemoval,
  firstPendingIndexes,
  generateNameWithIndex,
  indexesOf,
} from './indexes.js';
import { matchPodFailurePolicy } from './pod-failure-policy.js';

export const JOB_TRACKING_FINALIZER = 'batch.kubernetes.io/job-tracking';
const PODS_BY_JOB = 'job-controller/pods-by-controller-uid';
const ORPHAN_PODS = 'job-controller/orphan-pods-by-namespace';
const JOBS_BY_NAMESPACE = 'job-controller/jobs-by-namespace';
const ORPHAN_POD_KEY = 'pod:';
/** At most this many pod uids wait in status.uncountedTerminatedPods (keeps the status near 20 KB). */
const MAX_UNCOUNTED_PODS = 500;
/** At most this many pods are created or deleted by one sync, so one big Job cannot starve the rest. */
const MAX_POD_CREATE_DELETE_PER_SYNC = 500;
const SLOW_START_INITIAL_BATCH = 1;

export interface JobControllerOptions extends ControllerOptions {
  /** Delay before replacing the first failed pod; doubles per consecutive failure (default 10 s). */
  podFailureBackoffBaseMs?: number;
  /** Cap of that delay (default 360 s). */
  podFailureBackoffMaxMs?: number;
  /** Pod events and status-only Job updates are gathered this long before a sync (default 1 s). */
  syncBatchPeriodMs?: number;
}

interface Uncounted {
  succeeded: Set<string>;
  failed: Set<string>;
}

/** Everything one sync of one Job computes, as upstream's syncJobCtx. */
interface SyncContext {
  key: string;
  job: KubeObject;
  pods: KubeObject[];
  activePods: KubeObject[];
  finished?: JobCondition;
  succeeded: number;
  failed: number;
  prevSucceededIndexes: Intervals;
  succeededIndexes: Intervals;
  failedIndexes?: Intervals;
  newBackoffRecord: BackoffRecord;
  expectedRmFinalizers: Set<string>;
  uncounted: Uncounted;
  podsWithDelayedDeletionPerIndex: Map<number, KubeObject>;
  terminating: number;
  ready: number;
}

function hasTrackingFinalizer(pod: KubeObject): boolean {
  return pod.metadata?.finalizers?.includes(JOB_TRACKING_FINALIZER) ?? false;
}

function isIndexed(job: KubeObject): boolean {
  return job.spec?.completionMode === 'Indexed';
}

function completionsOf(job: KubeObject): number | undefined {
  const c = job.spec?.completions;
  return typeof c === 'number' ? c : undefined;
}

function hasBackoffLimitPerIndex(job: KubeObject): boolean {
  return typeof job.spec?.backoffLimitPerIndex === 'number';
}

function isSuspended(job: KubeObject): boolean {
  return job.spec?.suspend === true;
}

/** podReplacementPolicy Failed (implied by a podFailurePolicy): terminating pods are not replaced yet. */
function onlyReplaceFailedPods(job: KubeObject): boolean {
  return job.spec?.podReplacementPolicy === 'Failed' || Boolean(job.spec?.podFailurePolicy);
}

/** Failed, or (unless only failed pods are replaced) deleted before it succeeded. */
function isPodFailed(pod: KubeObject, job: KubeObject): boolean {
  if (pod.status?.phase === 'Failed') return true;
  if (onlyReplaceFailedPods(job)) return false;
  return Boolean(pod.metadata?.deletionTimestamp) && pod.status?.phase !== 'Succeeded';
}

function isPodTerminating(pod: KubeObject): boolean {
  return !isPodTerminal(pod) && Boolean(pod.metadata?.deletionTimestamp);
}

function num(v: unknown): number {
  return typeof v === 'number' ? v : 0;
}

function uncountedOf(job: KubeObject): { succeeded: string[]; failed: string[] } {
  const u = job.status.uncountedTerminatedPods as { succeeded?: string[]; failed?: string[] };
  u.succeeded ??= [];
  u.failed ??= [];
  return u as { succeeded: string[]; failed: string[] };
}

/** The status as Go serializes it: zero counters, empty lists and an empty completedIndexes omitted. */
function normalizedStatus(status: Record<string, any>): Record<string, any> {
  const s = { ...status };
  for (const k of ['active', 'succeeded', 'failed']) if (!s[k]) delete s[k];
  if (!s.completedIndexes) delete s.completedIndexes;
  const u = { ...(s.uncountedTerminatedPods ?? {}) };
  if (!u.succeeded?.length) delete u.succeeded;
  if (!u.failed?.length) delete u.failed;
  s.uncountedTerminatedPods = u;
  if (Array.isArray(s.conditions) && s.conditions.length === 0) delete s.conditions;
  return s;
}

/** Upstream's pastBackoffLimitOnFailure: container restarts of running pods count as failures. */
function pastBackoffLimitOnFailure(job: KubeObject, pods: readonly KubeObject[]): boolean {
  if (job.spec?.template?.spec?.restartPolicy !== 'OnFailure') return false;
  let restarts = 0;
  for (const p of pods) {
    const phase = p.status?.phase;
    if (phase !== 'Running' && phase !== 'Pending') continue;
    for (const list of [p.status?.initContainerStatuses, p.status?.containerStatuses]) {
      if (Array.isArray(list)) for (const s of list) restarts += num(s?.restartCount);
    }
  }
  const limit = num(job.spec?.backoffLimit);
  return limit === 0 ? restarts > 0 : restarts >= limit;
}

export class JobController extends InformerController {
  private readonly client: Client;
  private readonly recorder: EventRecorder;
  private readonly podControl: PodControl;
  private readonly jobs: Informer;
  private readonly pods: Informer;
  private readonly now: () => number;
  private readonly expectations: Expectations;
  private readonly finalizerExpectations = new FinalizerExpectations();
  private readonly backoff = new BackoffStore();
  private readonly backoffBaseMs: number;
  private readonly backoffMaxMs: number;
  private readonly batchPeriodMs: number;
  private readonly selectors = new Map<string, LabelPredicate | undefined>();

  constructor(ctx: ControllerContext, opts: JobControllerOptions = {}) {
    // Upstream's concurrent-job-syncs defaults to 5; API errors back off from 1 s to 1 min.
    super('job controller', { workers: 5, retryBaseDelayMs: 1000, retryMaxDelayMs: 60_000, log: ctx.log, ...opts });
    this.client = ctx.client;
    this.now = ctx.now;
    this.recorder = ctx.recorder('job-controller');
    this.podControl = new PodControl(ctx.client, this.recorder);
    this.expectations = new Expectations(ctx.now);
    this.backoffBaseMs = opts.podFailureBackoffBaseMs ?? 10_000;
    this.backoffMaxMs = opts.podFailureBackoffMaxMs ?? 360_000;
    this.batchPeriodMs = opts.syncBatchPeriodMs ?? 1000;

    this.jobs = ctx.informers.informer(JOBS);
    this.pods = ctx.informers.informer(PODS);
    this.share(this.jobs, this.pods);
    addIndexerOnce(this.pods, PODS_BY_JOB, (pod) => {
      const ref = controllerRefOf(pod);
      return ref?.kind === 'Job' && ref.uid ? [ref.uid] : [];
    });
    addIndexerOnce(this.pods, ORPHAN_PODS, (pod) => (controllerRefOf(pod) ? [] : [pod.metadata?.namespace ?? '']));
    addIndexerOnce(this.jobs, JOBS_BY_NAMESPACE, (job) => [job.metadata?.namespace ?? '']);

    this.jobs
      .onAdd((job) => this.queue.add(keyOf(job)))
      .onUpdate((old, job) => this.jobUpdated(old, job))
      .onDelete((job) => {
        this.queue.add(keyOf(job));
        this.cleanupPodFinalizers(job);
        this.selectors.delete(job.metadata?.uid ?? '');
      });
    this.pods
      .onAdd((pod) => this.podAdded(pod))
      .onUpdate((old, pod) => this.podUpdated(old, pod))
      .onDelete((pod) => this.podDeleted(pod, true));
  }

  // ---- event handlers ----

  private enqueueBatched(key: string): void {
    this.queue.addAfter(key, this.batchPeriodMs);
  }

  private enqueueOrphanPod(pod: KubeObject): void {
    this.queue.add(ORPHAN_POD_KEY + keyOf(pod));
  }

  /** The Job a controller reference names, if it is still that Job (same uid). */
  private resolveControllerRef(namespace: string | undefined, ref: { kind?: string; name?: string; uid?: string } | undefined): KubeObject | undefined {
    if (ref?.kind !== 'Job') return undefined;
    const job = this.jobs.get(`${namespace}/${ref.name}`);
    return job?.metadata?.uid === ref.uid ? job : undefined;
  }

  /** Jobs in the pod's namespace whose selector matches it (for orphans). */
  private jobsSelecting(pod: KubeObject): KubeObject[] {
    return this.jobs.byIndex(JOBS_BY_NAMESPACE, pod.metadata?.namespace ?? '').filter((job) => this.selectorOf(job)?.matches(pod.metadata?.labels) ?? false);
  }

  /** The Job's selector, parsed once per Job: spec.selector is immutable. */
  private selectorOf(job: KubeObject): LabelPredicate | undefined {
    const uid = job.metadata?.uid ?? '';
    if (this.selectors.has(uid)) return this.selectors.get(uid);
    let selector: LabelPredicate | undefined;
    try {
      selector = labelSelectorFromObject(job.spec?.selector);
    } catch {
      selector = undefined;
    }
    this.selectors.set(uid, selector);
    return selector;
  }

  private jobUpdated(old: KubeObject, job: KubeObject): void {
    const key = keyOf(job);
    // A spec change is acted on at once; status updates (mostly our own) are batched with pod events.
    if (old.metadata?.generation === job.metadata?.generation) this.enqueueBatched(key);
    else this.queue.add(key);
    // A finished Job's pods must not keep their finalizers (a backup: syncs remove them first).
    if (isJobFinished(job)) this.cleanupPodFinalizers(job);
    const start = parseTime(job.status?.startTime);
    const ads = job.spec?.activeDeadlineSeconds;
    if (start !== undefined && typeof ads === 'number' && ads !== old.spec?.activeDeadlineSeconds) {
      this.queue.addAfter(key, ads * 1000 - (this.now() - start));
    }
  }

  private podAdded(pod: KubeObject): void {
    if (pod.metadata?.deletionTimestamp) {
      // Seen first already terminating (after a restart): it is no creation to observe.
      this.podDeleted(pod, false);
      return;
    }
    const ref = controllerRefOf(pod);
    if (ref) {
      const job = this.resolveControllerRef(pod.metadata?.namespace, ref);
      if (!job) return;
      const key = keyOf(job);
      this.expectations.creationObserved(key);
      this.enqueueBatched(key);
      return;
    }
    if (hasTrackingFinalizer(pod)) this.enqueueOrphanPod(pod);
    // An orphan: a Job whose selector matches may adopt it.
    for (const job of this.jobsSelecting(pod)) this.enqueueBatched(keyOf(job));
  }

  private podUpdated(old: KubeObject, pod: KubeObject): void {
    if (old.metadata?.resourceVersion === pod.metadata?.resourceVersion) return;
    if (pod.metadata?.deletionTimestamp) {
      // A graceful deletion has begun: the Job can replace the pod now, not when the kubelet is done.
      this.podDeleted(pod, false);
      return;
    }
    const finalizerRemoved = !hasTrackingFinalizer(pod);
    const ref = controllerRefOf(pod);
    const oldRef = controllerRefOf(old);
    const refChanged = JSON.stringify(ref) !== JSON.stringify(oldRef);
    if (refChanged && oldRef) {
      const job = this.resolveControllerRef(old.metadata?.namespace, oldRef);
      if (job) {
        if (finalizerRemoved) this.finalizerExpectations.removalObserved(keyOf(job), pod.metadata!.uid!);
        this.enqueueBatched(keyOf(job));
      }
    }
    if (ref) {
      const job = this.resolveControllerRef(pod.metadata?.namespace, ref);
      if (!job) return;
      if (finalizerRemoved) this.finalizerExpectations.removalObserved(keyOf(job), pod.metadata!.uid!);
      this.enqueueBatched(keyOf(job));
      return;
    }
    if (hasTrackingFinalizer(pod)) this.enqueueOrphanPod(pod);
    const labelsChanged = JSON.stringify(pod.metadata?.labels ?? {}) !== JSON.stringify(old.metadata?.labels ?? {});
    if (labelsChanged || refChanged) for (const job of this.jobsSelecting(pod)) this.enqueueBatched(keyOf(job));
  }

  /** `final`: the pod is gone from the store; otherwise it has only been marked for deletion. */
  private podDeleted(pod: KubeObject, final: boolean): void {
    const ref = controllerRefOf(pod);
    const hasFinalizer = hasTrackingFinalizer(pod);
    if (!ref) {
      // The garbage collector may have removed the reference of a Job's pod.
      if (hasFinalizer) this.enqueueOrphanPod(pod);
      return;
    }
    const job = this.resolveControllerRef(pod.metadata?.namespace, ref);
    if (!job || isJobFinished(job)) {
      // No sync of a Job will remove this finalizer.
      if (hasFinalizer) this.enqueueOrphanPod(pod);
      return;
    }
    const key = keyOf(job);
    this.expectations.deletionObserved(key);
    if (final || !hasFinalizer) this.finalizerExpectations.removalObserved(key, pod.metadata!.uid!);
    this.enqueueBatched(key);
  }

  /** Queues the pods of `job` that still carry the tracking finalizer, to lose it. */
  private cleanupPodFinalizers(job: KubeObject): void {
    const uid = job.metadata?.uid;
    if (!uid) return;
    const selector = this.selectorOf(job);
    for (const pod of this.pods.byIndex(PODS_BY_JOB, uid)) {
      if (pod.metadata?.namespace === job.metadata?.namespace && hasTrackingFinalizer(pod) && selector?.matches(pod.metadata?.labels)) this.enqueueOrphanPod(pod);
    }
  }

  // ---- reconcile ----

  override async reconcile(key: string): Promise<void> {
    if (key.startsWith(ORPHAN_POD_KEY)) return this.syncOrphanPod(key.slice(ORPHAN_POD_KEY.length));
    return this.syncJob(key);
  }

  /** Removes the tracking finalizer of a pod no unfinished Job owns. */
  private async syncOrphanPod(podKey: string): Promise<void> {
    const pod = this.pods.get(podKey);
    if (!pod || !hasTrackingFinalizer(pod)) return;
    const ref = controllerRefOf(pod);
    if (ref) {
      // Not a batch/v1 Job's pod: not ours to touch.
      if (ref.kind !== 'Job' || ref.apiVersion !== 'batch/v1') return;
      const job = this.resolveControllerRef(pod.metadata?.namespace, ref);
      if (job && !isJobFinished(job)) return;
    }
    await this.removeTrackingFinalizer(pod);
  }

  private async removeTrackingFinalizer(pod: KubeObject): Promise<void> {
    try {
      await this.client.patch(PODS, pod.metadata!.namespace!, pod.metadata!.name!, 'application/strategic-merge-patch+json', {
        metadata: { [`$deleteFromPrimitiveList/finalizers`]: [JOB_TRACKING_FINALIZER] },
      });
    } catch (err) {
      if (err instanceof ApiError && err.code === 404) return;
      throw err;
    }
  }

  private async syncJob(key: string): Promise<void> {
    const shared = this.jobs.get(key);
    if (!shared) {
      this.expectations.delete(key);
      this.finalizerExpectations.delete(key);
      this.backoff.remove(key);
      return;
    }
    // A finished Job stays finished.
    if (isJobFinished(shared)) {
      this.backoff.remove(key);
      return;
    }
    const mode = shared.spec?.completionMode;
    if (mode !== undefined && mode !== null && mode !== 'NonIndexed' && mode !== 'Indexed') {
      this.recorder.event(shared, 'Warning', 'UnknownCompletionMode', 'Skipped Job sync because completion mode is unknown');
      return;
    }
    const job = structuredClone(shared);
    job.status ??= {};
    job.status.uncountedTerminatedPods ??= {};
    const now = this.now();

    // Expectations first: a pod that arrives after this check waits for the next sync.
    const satisfied = this.expectations.satisfied(key);
    const pods = await this.podsForJob(job);
    const activePods = pods.filter(isPodActive);
    const u = job.status.uncountedTerminatedPods;
    const ctx: SyncContext = {
      key,
      job,
      pods,
      activePods,
      succeeded: 0,
      failed: 0,
      prevSucceededIndexes: new Intervals(),
      succeededIndexes: new Intervals(),
      newBackoffRecord: { key, failuresAfterLastSuccess: 0 },
      expectedRmFinalizers: this.finalizerExpectations.expected(key),
      uncounted: { succeeded: new Set(u.succeeded ?? []), failed: new Set(u.failed ?? []) },
      podsWithDelayedDeletionPerIndex: new Map(),
      terminating: pods.filter(isPodTerminating).length,
      ready: activePods.filter(isPodReady).length,
    };
    let active = activePods.length;
    const newSucceeded = this.validPods(ctx, ctx.uncounted.succeeded, (p) => p.status?.phase === 'Succeeded');
    const newFailed = this.validPods(ctx, ctx.uncounted.failed, (p) => isPodFailed(p, job));
    ctx.succeeded = num(job.status.succeeded) + newSucceeded.length + ctx.uncounted.succeeded.size;
    ctx.failed = num(job.status.failed) + this.countedFailures(job, newFailed) + ctx.uncounted.failed.size;

    // The first start; a Job created suspended starts when resumed.
    if (!job.status.startTime && !isSuspended(job)) job.status.startTime = rfc3339(now);
    ctx.newBackoffRecord = this.backoff.newRecord(key, newSucceeded, newFailed);

    const failureTarget = findCondition(job, JOB_FAILURE_TARGET);
    if (failureTarget?.status === 'True') {
      ctx.finished = newCondition(JOB_FAILED, 'True', failureTarget.reason ?? '', failureTarget.message ?? '', now);
    } else {
      const message = this.failJobMessage(job, pods);
      // The reason is recorded before the pods' finalizers go, so it survives them.
      if (message) ctx.finished = newCondition(JOB_FAILURE_TARGET, 'True', 'PodFailurePolicy', message, now);
    }
    if (!ctx.finished) {
      if (ctx.failed > num(job.spec?.backoffLimit ?? 6) || pastBackoffLimitOnFailure(job, pods)) {
        ctx.finished = newCondition(JOB_FAILED, 'True', 'BackoffLimitExceeded', 'Job has reached the specified backoff limit', now);
      } else if (this.pastActiveDeadline(job, now)) {
        ctx.finished = newCondition(JOB_FAILED, 'True', 'DeadlineExceeded', 'Job was active longer than specified deadline', now);
      } else if (typeof job.spec?.activeDeadlineSeconds === 'number' && !isSuspended(job)) {
        const start = parseTime(job.status.startTime) ?? now;
        this.queue.addAfter(key, job.spec.activeDeadlineSeconds * 1000 - (now - start));
      }
    }

    const completions = completionsOf(job);
    if (isIndexed(job) && completions !== undefined) {
      ctx.prevSucceededIndexes = Intervals.parse(job.status.completedIndexes, completions);
      const fresh = new Set<number>();
      for (const p of pods) {
        const ix = completionIndexOf(p);
        if (p.status?.phase === 'Succeeded' && ix !== UNKNOWN_INDEX && ix < completions && hasTrackingFinalizer(p)) fresh.add(ix);
      }
      ctx.succeededIndexes = ctx.prevSucceededIndexes.withOrderedIndexes([...fresh].sort((a, b) => a - b));
      ctx.succeeded = ctx.succeededIndexes.total();
      if (hasBackoffLimitPerIndex(job)) {
        ctx.failedIndexes = this.failedIndexes(job, pods, completions);
        if (!ctx.finished) {
          const maxFailed = job.spec?.maxFailedIndexes;
          if (typeof maxFailed === 'number' && ctx.failedIndexes.total() > maxFailed) {
            ctx.finished = newCondition(JOB_FAILED, 'True', 'MaxFailedIndexesExceeded', 'Job has exceeded the specified maximal number of failed indexes', now);
          } else if (ctx.failedIndexes.total() > 0 && ctx.failedIndexes.total() + ctx.succeededIndexes.total() >= completions) {
            ctx.finished = newCondition(JOB_FAILED, 'True', 'FailedIndexes', 'Job has failed indexes', now);
          }
        }
        ctx.podsWithDelayedDeletionPerIndex = this.podsWithDelayedDeletionPerIndex(ctx, completions);
      }
    }

    let suspendChanged = false;
    let manageError: unknown;
    if (ctx.finished) {
      // A failing Job stops its pods; it is not finished until all are gone from the active count.
      const r = await this.deleteActivePods(job, activePods);
      if (r.deleted !== active || !satisfied) ctx.finished = undefined;
      active -= r.deleted;
      ctx.terminating += r.deleted;
      ctx.ready -= r.deletedReady;
      manageError = r.error;
    } else {
      let managed = false;
      if (satisfied && !job.metadata?.deletionTimestamp) {
        const r = await this.manageJob(ctx);
        active = r.active;
        manageError = r.error;
        managed = true;
      }
      const complete = completions === undefined ? ctx.succeeded > 0 && active === 0 : ctx.succeeded >= completions && active === 0;
      if (complete) {
        ctx.finished = newCondition(JOB_COMPLETE, 'True', '', '', now);
      } else if (managed) {
        job.status.conditions = jobConditions(job);
        if (isSuspended(job)) {
          if (ensureCondition(job.status.conditions, JOB_SUSPENDED, 'True', 'JobSuspended', 'Job suspended', now)) {
            suspendChanged = true;
            this.recorder.event(job, 'Normal', 'Suspended', 'Job suspended');
          }
        } else if (ensureCondition(job.status.conditions, JOB_SUSPENDED, 'False', 'JobResumed', 'Job resumed', now)) {
          suspendChanged = true;
          this.recorder.event(job, 'Normal', 'Resumed', 'Job resumed');
          // activeDeadlineSeconds counts the time a Job runs without a break: resuming restarts it.
          job.status.startTime = rfc3339(now);
        }
      }
    }

    const needsUpdate =
      suspendChanged || active !== num(job.status.active) || ctx.ready !== job.status.ready || ctx.terminating !== job.status.terminating;
    job.status.active = active;
    job.status.ready = ctx.ready;
    job.status.terminating = ctx.terminating;
    await this.trackJobStatusAndRemoveFinalizers(ctx, needsUpdate);
    if (manageError) throw manageError;
  }

  private pastActiveDeadline(job: KubeObject, now: number): boolean {
    const ads = job.spec?.activeDeadlineSeconds;
    const start = parseTime(job.status?.startTime);
    if (typeof ads !== 'number' || start === undefined || isSuspended(job)) return false;
    return now - start >= ads * 1000;
  }

  /** The message of the first failed pod matching a FailJob rule, if any. */
  private failJobMessage(job: KubeObject, pods: readonly KubeObject[]): string | undefined {
    const policy = job.spec?.podFailurePolicy;
    if (!policy) return undefined;
    for (const p of pods) {
      if (!isPodFailed(p, job)) continue;
      const m = matchPodFailurePolicy(policy, p).failJobMessage;
      if (m) return m;
    }
    return undefined;
  }

  private countedFailures(job: KubeObject, failed: readonly KubeObject[]): number {
    const policy = job.spec?.podFailurePolicy;
    if (!policy) return failed.length;
    return failed.filter((p) => matchPodFailurePolicy(policy, p).countFailed).length;
  }

  /**
   * Pods not yet counted (they have the finalizer, are not in `uncounted`, and their finalizer
   * removal is not pending) with a valid index for Indexed Jobs, that pass `filter`.
   */
  private validPods(ctx: SyncContext, uncounted: Set<string> | undefined, filter: (p: KubeObject) => boolean): KubeObject[] {
    const completions = completionsOf(ctx.job) ?? 0;
    const indexed = isIndexed(ctx.job);
    return ctx.pods.filter((p) => {
      const uid = p.metadata?.uid ?? '';
      if (!hasTrackingFinalizer(p) || uncounted?.has(uid) || ctx.expectedRmFinalizers.has(uid)) return false;
      if (indexed) {
        const ix = completionIndexOf(p);
        if (ix === UNKNOWN_INDEX || ix >= completions) return false;
      }
      return filter(p);
    });
  }

  // ---- backoffLimitPerIndex ----

  private isIndexFailed(job: KubeObject, pod: KubeObject): boolean {
    let counted = false;
    if (isPodFailed(pod, job)) {
      if (job.spec?.podFailurePolicy) {
        const m = matchPodFailurePolicy(job.spec.podFailurePolicy, pod);
        if (m.action === 'FailIndex') return true;
        counted = m.countFailed;
      } else {
        counted = true;
      }
    }
    return counted && annotationCount(pod, INDEX_FAILURE_COUNT_ANNOTATION) >= num(job.spec?.backoffLimitPerIndex);
  }

  private failedIndexes(job: KubeObject, pods: readonly KubeObject[], completions: number): Intervals {
    const prev = Intervals.parse(job.status?.failedIndexes, completions);
    const fresh = new Set<number>();
    for (const p of pods) {
      const ix = completionIndexOf(p);
      if (ix !== UNKNOWN_INDEX && ix < completions && hasTrackingFinalizer(p) && this.isIndexFailed(job, p)) fresh.add(ix);
    }
    return prev.withOrderedIndexes([...fresh].sort((a, b) => a - b));
  }

  /**
   * Per index, the last failed pod whose deletion waits for its replacement: the replacement
   * carries its failure count on, so the failed pod keeps its finalizer until then.
   */
  private podsWithDelayedDeletionPerIndex(ctx: SyncContext, completions: number): Map<number, KubeObject> {
    const activeIndexes = indexesOf(ctx.activePods);
    const out = new Map<number, KubeObject>();
    const absoluteCount = (p: KubeObject) => annotationCount(p, INDEX_FAILURE_COUNT_ANNOTATION) + annotationCount(p, INDEX_IGNORED_FAILURE_COUNT_ANNOTATION);
    this.validPods(ctx, undefined, (p) => {
      if (!isPodFailed(p, ctx.job)) return false;
      const ix = completionIndexOf(p);
      if (ix === UNKNOWN_INDEX || ix >= completions) return false;
      if (ctx.succeededIndexes.has(ix) || ctx.failedIndexes?.has(ix) || activeIndexes.has(ix)) return false;
      const last = out.get(ix);
      if (!last || (absoluteCount(last) <= absoluteCount(p) && podFinishedTime(p) >= podFinishedTime(last))) out.set(ix, p);
      return false;
    });
    return out;
  }

  // ---- pods of a Job ----

  /**
   * The pods the Job owns, after adopting matching orphans and releasing owned pods that no longer
   * match (upstream's ClaimPods). Adopted pods are given the tracking finalizer.
   */
  private async podsForJob(job: KubeObject): Promise<KubeObject[]> {
    const selector = this.selectorOf(job);
    // Validation keeps this from happening; claiming nothing would release every pod.
    if (!selector) throw new Error(`couldn't convert Job selector of ${keyOf(job)}`);
    const ns = job.metadata!.namespace!;
    const uid = job.metadata!.uid!;
    const claimed: KubeObject[] = [];
    const beingDeleted = Boolean(job.metadata?.deletionTimestamp);
    for (const pod of this.pods.byIndex(PODS_BY_JOB, uid)) {
      if (pod.metadata?.namespace !== ns) continue;
      if (selector.matches(pod.metadata?.labels)) {
        claimed.push(pod);
        continue;
      }
      if (beingDeleted) continue;
      await this.releasePod(job, pod);
    }
    if (!beingDeleted && !selector.nothing) {
      let canAdopt: Promise<void> | undefined;
      for (const pod of this.pods.byIndex(ORPHAN_PODS, ns)) {
        if (pod.metadata?.deletionTimestamp || !selector.matches(pod.metadata?.labels)) continue;
        // Adopting needs the live Job, not being deleted: checked once, when there is something to adopt.
        canAdopt ??= this.recheckNotDeleted(job);
        await canAdopt;
        const adopted = await this.adoptPod(job, pod);
        if (adopted) claimed.push(adopted);
      }
    }
    return claimed;
  }

  private async recheckNotDeleted(job: KubeObject): Promise<void> {
    const fresh = await this.client.get(JOBS, job.metadata!.namespace!, job.metadata!.name!);
    if (fresh.metadata?.uid !== job.metadata?.uid) {
      throw new Error(`original Job ${job.metadata?.namespace}/${job.metadata?.name} is gone: got uid ${fresh.metadata?.uid}, wanted ${job.metadata?.uid}`);
    }
    if (fresh.metadata?.deletionTimestamp) {
      throw new Error(`${job.metadata?.namespace}/${job.metadata?.name} has just been deleted at ${fresh.metadata.deletionTimestamp}`);
    }
  }

  private async adoptPod(job: KubeObject, pod: KubeObject): Promise<KubeObject | undefined> {
    try {
      return await this.client.patch(PODS, pod.metadata!.namespace!, pod.metadata!.name!, 'application/strategic-merge-patch+json', {
        metadata: { ownerReferences: [newControllerRef(job, 'batch/v1', 'Job')], uid: pod.metadata!.uid, finalizers: [JOB_TRACKING_FINALIZER] },
      });
    } catch (err) {
      if (err instanceof ApiError && err.code === 404) return undefined;
      throw err;
    }
  }

  private async releasePod(job: KubeObject, pod: KubeObject): Promise<void> {
    try {
      await this.client.patch(PODS, pod.metadata!.namespace!, pod.metadata!.name!, 'application/strategic-merge-patch+json', {
        metadata: {
          ownerReferences: [{ $patch: 'delete', uid: job.metadata!.uid }],
          uid: pod.metadata!.uid,
          [`$deleteFromPrimitiveList/finalizers`]: [JOB_TRACKING_FINALIZER],
        },
      });
    } catch (err) {
      if (err instanceof ApiError && err.code === 404) return;
      throw err;
    }
  }

  // ---- creating and deleting pods ----

  /** Upstream's manageJob: creates or deletes pods towards the wanted number of active pods. */
  private async manageJob(ctx: SyncContext): Promise<{ active: number; error?: unknown }> {
    const job = ctx.job;
    const key = ctx.key;
    let active = ctx.activePods.length;
    const parallelism = num(job.spec?.parallelism);

    if (isSuspended(job)) {
      const toDelete = this.activePodsForRemoval(job, ctx.activePods, active);
      this.expectations.expectDeletions(key, toDelete.length);
      const r = await this.deleteJobPods(job, key, toDelete);
      ctx.terminating += r.deleted;
      ctx.ready -= r.deletedReady;
      return { active: active - r.deleted, error: r.error };
    }

    const completions = completionsOf(job);
    let wantActive: number;
    if (completions === undefined) {
      // Without completions, once any pod succeeded the rest are left to finish.
      wantActive = ctx.succeeded > 0 ? active : parallelism;
    } else {
      wantActive = Math.max(0, Math.min(completions - ctx.succeeded, parallelism));
    }

    const rmAtLeast = Math.max(0, active - wantActive);
    const toDelete = this.activePodsForRemoval(job, ctx.activePods, rmAtLeast).slice(0, MAX_POD_CREATE_DELETE_PER_SYNC);
    if (toDelete.length > 0) {
      // One sync either deletes or creates; deleting (repeated indexes, scale down) comes first.
      this.expectations.expectDeletions(key, toDelete.length);
      const r = await this.deleteJobPods(job, key, toDelete);
      ctx.terminating += r.deleted;
      ctx.ready -= r.deletedReady;
      return { active: active - r.deleted, error: r.error };
    }

    const terminating = onlyReplaceFailedPods(job) ? ctx.terminating : 0;
    let diff = wantActive - terminating - active;
    if (diff <= 0) return { active };

    if (!hasBackoffLimitPerIndex(job)) {
      const r = ctx.newBackoffRecord;
      const remaining = remainingBackoff(this.now(), this.backoffBaseMs, this.backoffMaxMs, r.failuresAfterLastSuccess, r.lastFailureTime);
      if (remaining > 0) {
        // Upstream 1.30 reports 0 active pods while it waits here; the pods still running are counted instead.
        this.queue.addAfter(key, Math.max(remaining, this.batchPeriodMs));
        return { active };
      }
    }
    diff = Math.min(diff, MAX_POD_CREATE_DELETE_PER_SYNC);

    let indexesToAdd: number[] = [];
    if (isIndexed(job) && completions !== undefined) {
      const terminatingPods = onlyReplaceFailedPods(job) ? ctx.pods.filter(isPodTerminating) : undefined;
      indexesToAdd = firstPendingIndexes(diff, completions, ctx.succeededIndexes, ctx.activePods, terminatingPods, ctx.failedIndexes);
      if (hasBackoffLimitPerIndex(job)) {
        const r = this.indexesReadyForCreation(indexesToAdd, ctx.podsWithDelayedDeletionPerIndex);
        if (r.remaining > 0) {
          this.queue.addAfter(key, Math.max(r.remaining, this.batchPeriodMs));
          return { active };
        }
        indexesToAdd = r.indexes;
      }
      diff = indexesToAdd.length;
    }
    if (diff <= 0) return { active };

    this.expectations.expectCreations(key, diff);
    active += diff;
    const template = structuredClone(job.spec?.template ?? {}) as KubeObject;
    template.spec ??= {};
    if (isIndexed(job)) addCompletionIndexEnv(template.spec);
    template.metadata ??= {};
    const finalizers: string[] = template.metadata.finalizers ?? [];
    if (!finalizers.includes(JOB_TRACKING_FINALIZER)) template.metadata.finalizers = [...finalizers, JOB_TRACKING_FINALIZER];
    const controllerRef = newControllerRef(job, 'batch/v1', 'Job');

    let firstError: unknown;
    const createOne = async (index: number): Promise<boolean> => {
      const o: PodOverrides = {};
      if (index !== UNKNOWN_INDEX) {
        o.annotations = { [COMPLETION_INDEX_ANNOTATION]: String(index) };
        o.labels = { [COMPLETION_INDEX_ANNOTATION]: String(index) };
        o.spec = { hostname: `${job.metadata!.name}-${index}` };
        o.generateName = generateNameWithIndex(job.metadata!.name!, index);
        if (hasBackoffLimitPerIndex(job)) this.addIndexFailureCounts(o.annotations, job, ctx.podsWithDelayedDeletionPerIndex.get(index));
      }
      try {
        await this.podControl.create(job, template, controllerRef, o);
        return true;
      } catch (err) {
        // A namespace being torn down refuses everything; nothing to retry or to wait for.
        if (err instanceof ApiError && err.code === 403 && err.details?.causes?.some((c) => c.reason === 'NamespaceTerminating')) return true;
        this.expectations.creationObserved(key);
        active--;
        firstError ??= err;
        return false;
      }
    };
    // Slow start: batches of 1, 2, 4, ... so a quota or admission failure costs a few requests, not hundreds.
    let remaining = diff;
    for (let batch = Math.min(remaining, SLOW_START_INITIAL_BATCH); remaining > 0; batch = Math.min(2 * batch, remaining)) {
      const indexes = Array.from({ length: batch }, () => (indexesToAdd.length > 0 ? indexesToAdd.shift()! : UNKNOWN_INDEX));
      const results = await Promise.all(indexes.map(createOne));
      remaining -= batch;
      if (results.includes(false) && remaining > 0) {
        // The pods never tried are not expected either; the next sync tries again.
        active -= remaining;
        for (let i = 0; i < remaining; i++) this.expectations.creationObserved(key);
        break;
      }
    }
    return { active, error: firstError };
  }

  private addIndexFailureCounts(annotations: Record<string, string>, job: KubeObject, replaced: KubeObject | undefined): void {
    let failures = 0;
    let ignored = 0;
    if (replaced) {
      failures = annotationCount(replaced, INDEX_FAILURE_COUNT_ANNOTATION);
      ignored = annotationCount(replaced, INDEX_IGNORED_FAILURE_COUNT_ANNOTATION);
      if (!job.spec?.podFailurePolicy || matchPodFailurePolicy(job.spec.podFailurePolicy, replaced).countFailed) failures++;
      else ignored++;
    }
    annotations[INDEX_FAILURE_COUNT_ANNOTATION] = String(failures);
    if (ignored > 0) annotations[INDEX_IGNORED_FAILURE_COUNT_ANNOTATION] = String(ignored);
  }

  /** Of the indexes to start, those whose own backoff has passed; else how long until the first is due. */
  private indexesReadyForCreation(indexes: number[], delayed: Map<number, KubeObject>): { indexes: number[]; remaining: number } {
    const now = this.now();
    const ready: number[] = [];
    let min: number | undefined;
    for (const ix of indexes) {
      const last = delayed.get(ix);
      let remaining = 0;
      if (last) {
        const failures = annotationCount(last, INDEX_FAILURE_COUNT_ANNOTATION) + annotationCount(last, INDEX_IGNORED_FAILURE_COUNT_ANNOTATION) + 1;
        remaining = remainingBackoff(now, this.backoffBaseMs, this.backoffMaxMs, failures, podFinishedTime(last));
      }
      if (remaining === 0) ready.push(ix);
      else if (min === undefined || remaining < min) min = remaining;
    }
    return ready.length > 0 ? { indexes: ready, remaining: 0 } : { indexes: [], remaining: min ?? 0 };
  }

  /**
   * Active pods to remove: for Indexed Jobs every pod with no, an out-of-range or a repeated index,
   * then (for all Jobs) the least progressed pods until at least `rmAtLeast`.
   */
  private activePodsForRemoval(job: KubeObject, pods: readonly KubeObject[], rmAtLeast: number): KubeObject[] {
    let remove: KubeObject[] = [];
    let left: KubeObject[];
    if (isIndexed(job)) {
      const split = duplicatedIndexPodsForRemoval(pods, completionsOf(job) ?? 0);
      remove = split.remove;
      left = split.keep;
    } else {
      left = [...pods];
    }
    if (remove.length < rmAtLeast) {
      left.sort(compareActivePodsForRemoval);
      remove = remove.concat(left.slice(0, rmAtLeast - remove.length));
    }
    return remove;
  }

  /**
   * Deletes pods the Job no longer wants (scale down, suspension): their finalizer goes first, so
   * they are not counted as failures.
   */
  private async deleteJobPods(job: KubeObject, key: string, pods: readonly KubeObject[]): Promise<{ deleted: number; deletedReady: number; error?: unknown }> {
    let deleted = pods.length;
    let deletedReady = 0;
    let error: unknown;
    const failDelete = (err: unknown) => {
      // The informer will not see this deletion.
      this.expectations.deletionObserved(key);
      if (err instanceof ApiError && err.code === 404) return;
      deleted--;
      error ??= err;
    };
    await Promise.all(
      pods.map(async (pod) => {
        if (hasTrackingFinalizer(pod)) {
          try {
            await this.client.patch(PODS, pod.metadata!.namespace!, pod.metadata!.name!, 'application/strategic-merge-patch+json', {
              metadata: { [`$deleteFromPrimitiveList/finalizers`]: [JOB_TRACKING_FINALIZER] },
            });
          } catch (err) {
            failDelete(err);
            return;
          }
        }
        try {
          await this.podControl.delete(job, pod);
        } catch (err) {
          failDelete(err);
        }
        if (isPodReady(pod)) deletedReady++;
      }),
    );
    return { deleted, deletedReady, error };
  }

  /** Deletes the active pods of a failing Job, keeping their finalizers so they are counted as failed. */
  private async deleteActivePods(job: KubeObject, pods: readonly KubeObject[]): Promise<{ deleted: number; deletedReady: number; error?: unknown }> {
    let deleted = pods.length;
    let deletedReady = 0;
    let error: unknown;
    await Promise.all(
      pods.map(async (pod) => {
        try {
          await this.podControl.delete(job, pod);
        } catch (err) {
          deleted--;
          error ??= err;
        }
        if (isPodReady(pod)) deletedReady++;
      }),
    );
    return { deleted, deletedReady, error };
  }

  // ---- status and finalizers ----

  /**
   * Upstream's trackJobStatusAndRemoveFinalizers: records newly finished pods in
   * uncountedTerminatedPods (or completedIndexes), writes that, removes their finalizers, moves the
   * uids whose finalizer is gone into the counters, and adds the terminal condition once nothing
   * is left uncounted. At most MAX_UNCOUNTED_PODS per sync.
   */
  private async trackJobStatusAndRemoveFinalizers(ctx: SyncContext, needsFlush: boolean): Promise<void> {
    const indexed = isIndexed(ctx.job);
    const completions = completionsOf(ctx.job) ?? 0;
    const pods = indexed ? [...ctx.pods].sort(byCompletionIndex) : ctx.pods;
    const uidsWithFinalizer = new Set<string>();
    for (const p of pods) {
      const uid = p.metadata!.uid!;
      if (hasTrackingFinalizer(p) && !ctx.expectedRmFinalizers.has(uid)) uidsWithFinalizer.add(uid);
    }
    if (cleanUncountedPodsWithoutFinalizers(ctx.job.status, uidsWithFinalizer)) needsFlush = true;

    const uncountedStatus = uncountedOf(ctx.job);
    const toRemoveFinalizer: KubeObject[] = [];
    const newSucceededIndexes: number[] = [];
    let reachedMaxUncounted = false;
    for (const pod of pods) {
      const uid = pod.metadata!.uid!;
      // Counted in an earlier sync.
      if (!hasTrackingFinalizer(pod) || ctx.expectedRmFinalizers.has(uid)) continue;
      const considerFailed = isPodFailed(pod, ctx.job);
      if (!this.canRemoveFinalizer(ctx, pod, considerFailed)) continue;
      toRemoveFinalizer.push(pod);
      if (pod.status?.phase === 'Succeeded' && !ctx.uncounted.failed.has(uid)) {
        if (indexed) {
          // The index alone keeps a success from counting twice.
          const ix = completionIndexOf(pod);
          if (ix !== UNKNOWN_INDEX && ix < completions && !ctx.prevSucceededIndexes.has(ix)) {
            newSucceededIndexes.push(ix);
            needsFlush = true;
          }
        } else if (!ctx.uncounted.succeeded.has(uid)) {
          needsFlush = true;
          uncountedStatus.succeeded.push(uid);
        }
      } else if (considerFailed || ctx.finished) {
        // Once the Job is finished, every pod not terminated counts as failed.
        const ix = completionIndexOf(pod);
        if (!ctx.uncounted.failed.has(uid) && (!indexed || (ix !== UNKNOWN_INDEX && ix < completions))) {
          if (!ctx.job.spec?.podFailurePolicy || matchPodFailurePolicy(ctx.job.spec.podFailurePolicy, pod).countFailed) {
            needsFlush = true;
            uncountedStatus.failed.push(uid);
          }
        }
      }
      if (newSucceededIndexes.length + uncountedStatus.succeeded.length + uncountedStatus.failed.length >= MAX_UNCOUNTED_PODS) {
        // The rest waits for the syncs this one's writes will cause.
        reachedMaxUncounted = true;
        break;
      }
    }
    const status = ctx.job.status;
    if (indexed) {
      ctx.succeededIndexes = ctx.succeededIndexes.withOrderedIndexes(newSucceededIndexes);
      const text = ctx.succeededIndexes.toString();
      if (text !== (status.completedIndexes ?? '')) needsFlush = true;
      status.succeeded = ctx.succeededIndexes.total();
      status.completedIndexes = text;
      const failedText = ctx.failedIndexes?.toString();
      if (failedText !== status.failedIndexes) {
        if (failedText === undefined) delete status.failedIndexes;
        else status.failedIndexes = failedText;
        needsFlush = true;
      }
    }
    if (ctx.finished?.type === JOB_FAILURE_TARGET) {
      // The interim condition is written before finalizers go; Failed follows once they are gone.
      status.conditions = [...jobConditions(ctx.job), ctx.finished];
      needsFlush = true;
      ctx.finished = newCondition(JOB_FAILED, 'True', ctx.finished.reason ?? '', ctx.finished.message ?? '', this.now());
    }

    const flushed = await this.flushUncountedAndRemoveFinalizers(ctx, toRemoveFinalizer, uidsWithFinalizer, needsFlush);
    needsFlush = flushed.needsFlush;
    if (flushed.error) throw flushed.error;
    const finished = !reachedMaxUncounted && this.enactJobFinished(ctx);
    if (finished) needsFlush = true;
    if (needsFlush) {
      ctx.job = await this.updateStatus(ctx.job);
      if (finished) this.recordJobFinished(ctx.job, ctx.finished!);
    }
  }

  private canRemoveFinalizer(ctx: SyncContext, pod: KubeObject, considerFailed: boolean): boolean {
    if (ctx.job.metadata?.deletionTimestamp || ctx.finished || pod.status?.phase === 'Succeeded') return true;
    if (!considerFailed) return false;
    if (hasBackoffLimitPerIndex(ctx.job)) {
      const ix = completionIndexOf(pod);
      if (ix !== UNKNOWN_INDEX && ctx.podsWithDelayedDeletionPerIndex.get(ix)?.metadata?.uid === pod.metadata?.uid) return false;
    }
    return true;
  }

  private async flushUncountedAndRemoveFinalizers(
    ctx: SyncContext,
    pods: readonly KubeObject[],
    uidsWithFinalizer: Set<string>,
    needsFlush: boolean,
  ): Promise<{ needsFlush: boolean; error?: unknown }> {
    if (needsFlush) {
      ctx.job = await this.updateStatus(ctx.job);
      // The backoff advances with what the status now counts.
      this.backoff.update(ctx.newBackoffRecord);
      needsFlush = false;
    }
    let error: unknown;
    if (pods.length > 0) {
      const removed = await this.removeTrackingFinalizers(ctx.key, pods);
      removed.done.forEach((ok, i) => {
        if (ok) uidsWithFinalizer.delete(pods[i].metadata!.uid!);
      });
      error = removed.error;
    }
    if (cleanUncountedPodsWithoutFinalizers(ctx.job.status, uidsWithFinalizer)) needsFlush = true;
    if (error && needsFlush) {
      // Keep what succeeded.
      ctx.job = await this.updateStatus(ctx.job);
      needsFlush = false;
    }
    return { needsFlush, error };
  }

  private async removeTrackingFinalizers(key: string, pods: readonly KubeObject[]): Promise<{ done: boolean[]; error?: unknown }> {
    this.finalizerExpectations.expectRemovals(
      key,
      pods.map((p) => p.metadata!.uid!),
    );
    let error: unknown;
    const done = await Promise.all(
      pods.map(async (pod) => {
        if (!hasTrackingFinalizer(pod)) return true;
        try {
          await this.client.patch(PODS, pod.metadata!.namespace!, pod.metadata!.name!, 'application/strategic-merge-patch+json', {
            metadata: { [`$deleteFromPrimitiveList/finalizers`]: [JOB_TRACKING_FINALIZER] },
          });
          return true;
        } catch (err) {
          // No update will show this removal.
          this.finalizerExpectations.removalObserved(key, pod.metadata!.uid!);
          if (err instanceof ApiError && err.code === 404) return true;
          error ??= err;
          return false;
        }
      }),
    );
    return { done, error };
  }

  /** Adds the terminal condition once no pod is left uncounted. */
  private enactJobFinished(ctx: SyncContext): boolean {
    const finished = ctx.finished;
    if (!finished) return false;
    const u = ctx.job.status.uncountedTerminatedPods ?? {};
    if ((u.succeeded?.length ?? 0) + (u.failed?.length ?? 0) > 0) return false;
    const conditions = jobConditions(ctx.job).map((c) => ({ ...c }));
    const now = this.now();
    ensureCondition(conditions, finished.type, finished.status, finished.reason ?? '', finished.message ?? '', now);
    ctx.job.status.conditions = conditions;
    if (finished.type === JOB_COMPLETE) ctx.job.status.completionTime = conditions.find((c) => c.type === JOB_COMPLETE)!.lastTransitionTime;
    return true;
  }

  private recordJobFinished(job: KubeObject, finished: JobCondition): void {
    if (finished.type === JOB_COMPLETE) {
      const completions = completionsOf(job);
      if (completions !== undefined && num(job.status?.succeeded) > completions) {
        this.recorder.event(job, 'Warning', 'TooManySucceededPods', 'Too many succeeded pods running after completion count reached');
      }
      this.recorder.event(job, 'Normal', 'Completed', 'Job completed');
    } else {
      this.recorder.event(job, 'Warning', finished.reason ?? '', finished.message ?? '');
    }
  }

  private async updateStatus(job: KubeObject): Promise<KubeObject> {
    const body = { ...job, status: normalizedStatus(job.status ?? {}) };
    const updated = await this.client.update(JOBS, job.metadata!.namespace!, body, { subresource: 'status' });
    // Keep working on a mutable copy with the counters the rest of the sync reads.
    const next = structuredClone(updated);
    next.status ??= {};
    next.status.uncountedTerminatedPods ??= {};
    return next;
  }
}

/**
 * Moves the uncounted uids whose pods no longer have the finalizer into the counters. Returns
 * whether the status changed.
 */
function cleanUncountedPodsWithoutFinalizers(status: Record<string, any>, uidsWithFinalizer: Set<string>): boolean {
  const u = (status.uncountedTerminatedPods ??= {});
  let changed = false;
  for (const [list, counter] of [
    ['succeeded', 'succeeded'],
    ['failed', 'failed'],
  ] as const) {
    const before: string[] = u[list] ?? [];
    const kept = before.filter((uid) => uidsWithFinalizer.has(uid));
    if (kept.length !== before.length) {
      changed = true;
      status[counter] = num(status[counter]) + before.length - kept.length;
      u[list] = kept;
    }
  }
  return changed;
}

