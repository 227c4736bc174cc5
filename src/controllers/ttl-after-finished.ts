/**
 * The TTL-after-finished controller, after upstream's ttlafterfinished controller: a Job with
 * spec.ttlSecondsAfterFinished is deleted (propagationPolicy Foreground, so its pods go first) once
 * that many seconds have passed since it finished (the lastTransitionTime of its Complete or Failed
 * condition). A Job not yet due is queued again for the exact moment it will be. Before deleting,
 * the Job is read live, so a TTL changed meanwhile is honoured; the delete is conditional on its uid.
 */
import type { KubeObject } from '../api/types.js';
import { ApiError } from '../api/errors.js';
import type { Informer } from '../client/informer.js';
import type { Client } from '../client/interface.js';
import type { ControllerContext } from './context.js';
import { InformerController, type ControllerOptions } from './informer-controller.js';
import { finishedCondition } from './job/conditions.js';
import { JOBS, keyOf, splitKey } from './pods.js';

export type TtlAfterFinishedControllerOptions = ControllerOptions;

function needsCleanup(job: KubeObject): boolean {
  return typeof job.spec?.ttlSecondsAfterFinished === 'number' && finishedCondition(job) !== undefined;
}

export class TtlAfterFinishedController extends InformerController {
  private readonly client: Client;
  private readonly jobs: Informer;
  private readonly now: () => number;
  private readonly logError: (m: string) => void;

  constructor(ctx: ControllerContext, opts: TtlAfterFinishedControllerOptions = {}) {
    // Upstream's concurrent-ttl-after-finished-syncs defaults to 5.
    super('ttl-after-finished controller', { workers: 5, log: ctx.log, ...opts });
    this.client = ctx.client;
    this.now = ctx.now;
    this.logError = opts.log ?? ctx.log ?? ((m) => console.error(`ttl-after-finished controller: ${m}`));
    this.jobs = ctx.informers.informer(JOBS);
    this.share(this.jobs);
    const enqueue = (job: KubeObject) => {
      if (!job.metadata?.deletionTimestamp && needsCleanup(job)) this.queue.add(keyOf(job));
    };
    this.jobs.onAdd(enqueue).onUpdate((_old, job) => enqueue(job));
  }

  override async reconcile(key: string): Promise<void> {
    const job = this.jobs.get(key);
    if (!job || !this.expired(job)) return;
    // The cached Job may be stale: decide on the live one.
    const { namespace, name } = splitKey(key);
    let fresh: KubeObject;
    try {
      fresh = await this.client.get(JOBS, namespace, name);
    } catch (err) {
      if (err instanceof ApiError && err.code === 404) return;
      throw err;
    }
    if (!this.expired(fresh)) return;
    try {
      await this.client.delete(JOBS, namespace, name, { propagationPolicy: 'Foreground', preconditions: { uid: fresh.metadata!.uid } });
    } catch (err) {
      if (err instanceof ApiError && err.code === 404) return;
      throw err;
    }
  }

  /** True when the Job's TTL has run out; otherwise it is queued again for when it will. */
  private expired(job: KubeObject): boolean {
    if (job.metadata?.deletionTimestamp || !needsCleanup(job)) return false;
    const finishedAt = Date.parse(finishedCondition(job)!.lastTransitionTime ?? '');
    if (!Number.isFinite(finishedAt)) {
      // Nothing to count from; a later update of the Job brings it back.
      this.logError(`unable to find the time when the Job ${keyOf(job)} finished`);
      return false;
    }
    const now = this.now();
    if (finishedAt > now) this.logError(`Found Job ${keyOf(job)} finished in the future. This is likely due to time skew in the cluster. Job cleanup will be deferred.`);
    const remaining = finishedAt + job.spec.ttlSecondsAfterFinished * 1000 - now;
    if (remaining <= 0) return true;
    this.queue.addAfter(keyOf(job), remaining);
    return false;
  }
}
