/**
 * The CronJob controller, after upstream's cronjob controller v2 (kube-controller-manager 1.30):
 * each CronJob is reconciled when it or one of its Jobs changes, and again at its next scheduled
 * time (plus 100 ms), through the work queue's delayed adds rather than a polling loop.
 *
 * A reconcile deletes finished Jobs beyond the history limits, brings status.active and
 * status.lastSuccessfulTime in line with the Jobs, and, if a scheduled time is due (within
 * startingDeadlineSeconds) and not yet handled, starts the Job `<cronjob>-<minutes since the epoch>`
 * as concurrencyPolicy allows. Schedules are read in spec.timeZone, or the controller's own zone
 * as upstream reads them in kube-controller-manager's. Events and their texts are upstream's.
 */
import type { KubeObject } from '../../api/types.js';
import { ApiError } from '../../api/errors.js';
import { isKnownTimeZone, parseCronSchedule, type CronSchedule } from '../../api/validation/cron.js';
import type { EventRecorder } from '../../client/events.js';
import type { Informer } from '../../client/informer.js';
import type { ControllerContext } from '../context.js';
import { InformerController, type ControllerOptions } from '../informer-controller.js';
import { CRON_JOBS, JOBS, controllerRefOf, keyOf, newControllerRef, parseTime, rfc3339 } from '../pods.js';
import { finishedCondition, isJobFinished, isJobSucceeded } from '../job/conditions.js';
import { addIndexerOnce } from '../job/indexer.js';
import { nextActivation, nextScheduleDelay, unmetScheduleTime, type ScheduleState } from './schedule.js';
import { formatRFC1123Z, formatRFC3339, localZone, zoneOf, type Zone } from './zoned-time.js';

export const SCHEDULED_TIMESTAMP_ANNOTATION = 'batch.kubernetes.io/cronjob-scheduled-timestamp';
const JOBS_BY_CRONJOB = 'cronjob-controller/jobs-by-controller-uid';

export interface CronJobControllerOptions extends ControllerOptions {
  /** The clock schedules are read against (default: the context's). */
  now?: () => number;
  /**
   * The zone of schedules without spec.timeZone. Upstream uses kube-controller-manager's local
   * zone; so does this controller unless told otherwise.
   */
  defaultTimeZone?: string;
}

interface ObjectReference {
  kind?: string;
  namespace?: string;
  name?: string;
  uid?: string;
  apiVersion?: string;
  resourceVersion?: string;
}

interface SyncResult {
  requeueAfterMs?: number;
  updateStatus: boolean;
  error?: unknown;
}

function activeRefs(cj: KubeObject): ObjectReference[] {
  const a = cj.status?.active;
  return Array.isArray(a) ? (a as ObjectReference[]) : [];
}

function inActiveList(cj: KubeObject, uid: string | undefined): boolean {
  return activeRefs(cj).some((r) => r.uid === uid);
}

function deleteFromActiveList(cj: KubeObject, uid: string | undefined): void {
  const left = activeRefs(cj).filter((r) => r.uid !== uid);
  cj.status ??= {};
  if (left.length > 0) cj.status.active = left;
  else delete cj.status.active;
}

/** The Job name for a scheduled time: the time in minutes since the epoch, so one time makes one Job. */
export function jobNameFor(cronJobName: string, scheduledMs: number): string {
  return `${cronJobName}-${Math.floor(scheduledMs / 60000)}`;
}

/** Oldest first by status.startTime, Jobs that never started last, then by name: upstream's byJobStartTime. */
function byJobStartTime(a: KubeObject, b: KubeObject): number {
  const sa = parseTime(a.status?.startTime);
  const sb = parseTime(b.status?.startTime);
  if (sa === undefined && sb !== undefined) return 1;
  if (sa !== undefined && sb === undefined) return -1;
  if (sa === sb) {
    const na = a.metadata?.name ?? '';
    const nb = b.metadata?.name ?? '';
    return na < nb ? -1 : na > nb ? 1 : 0;
  }
  return sa! - sb!;
}

export class CronJobController extends InformerController {
  private readonly client: ControllerContext['client'];
  private readonly recorder: EventRecorder;
  private readonly jobs: Informer;
  private readonly cronJobs: Informer;
  private readonly now: () => number;
  private readonly defaultZone: Zone;

  constructor(ctx: ControllerContext, opts: CronJobControllerOptions = {}) {
    // Upstream's concurrent-cron-job-syncs defaults to 5.
    super('cronjob controller', { workers: 5, log: ctx.log, ...opts });
    this.client = ctx.client;
    this.recorder = ctx.recorder('cronjob-controller');
    this.now = opts.now ?? ctx.now;
    this.defaultZone = opts.defaultTimeZone ? zoneOf(opts.defaultTimeZone) : localZone();
    this.jobs = ctx.informers.informer(JOBS);
    this.cronJobs = ctx.informers.informer(CRON_JOBS);
    this.share(this.jobs, this.cronJobs);
    addIndexerOnce(this.jobs, JOBS_BY_CRONJOB, (job) => {
      const ref = controllerRefOf(job);
      return ref?.kind === 'CronJob' && ref.uid ? [ref.uid] : [];
    });

    this.cronJobs
      .onAdd((cj) => this.queue.add(keyOf(cj)))
      .onUpdate((old, cj) => this.cronJobUpdated(old, cj))
      .onDelete((cj) => this.queue.add(keyOf(cj)));
    this.jobs
      .onAdd((job) => this.enqueueOwner(job))
      .onUpdate((old, job) => {
        if (old.metadata?.resourceVersion === job.metadata?.resourceVersion) return;
        const oldRef = controllerRefOf(old);
        const ref = controllerRefOf(job);
        if (oldRef && (oldRef.uid !== ref?.uid || oldRef.name !== ref?.name)) this.enqueueOwner(old);
        this.enqueueOwner(job);
      })
      .onDelete((job) => this.enqueueOwner(job));
  }

  /** Queues the CronJob that controls `job`, if it is the one the reference names. */
  private enqueueOwner(job: KubeObject): void {
    const ref = controllerRefOf(job);
    if (ref?.kind !== 'CronJob') return;
    const key = `${job.metadata?.namespace}/${ref.name}`;
    if (this.cronJobs.get(key)?.metadata?.uid === ref.uid) this.queue.add(key);
  }

  /** A changed schedule or zone is looked at when it next fires; any other change at once. */
  private cronJobUpdated(old: KubeObject, cj: KubeObject): void {
    const key = keyOf(cj);
    if (old.spec?.schedule === cj.spec?.schedule && old.spec?.timeZone === cj.spec?.timeZone) {
      this.queue.add(key);
      return;
    }
    let sched: CronSchedule;
    try {
      sched = parseCronSchedule(this.formatSchedule(cj, false));
    } catch {
      this.recorder.event(cj, 'Warning', 'UnParseableCronJobSchedule', `unparseable schedule for cronjob: ${cj.spec?.schedule}`);
      return;
    }
    const delay = nextScheduleDelay(this.scheduleState(cj), this.now(), this.nextFn(sched));
    if (delay !== undefined) this.queue.addAfter(key, delay);
  }

  override async reconcile(key: string): Promise<void> {
    const shared = this.cronJobs.get(key);
    if (!shared) return;
    const jobs = this.jobs.byIndex(JOBS_BY_CRONJOB, shared.metadata!.uid!).filter((j) => j.metadata?.namespace === shared.metadata?.namespace);
    // One copy collects every status change, written at most once.
    const cj = structuredClone(shared);
    const cleaned = await this.cleanupFinishedJobs(cj, jobs);
    const r = await this.syncCronJob(cj, jobs);
    if (cleaned || r.updateStatus) {
      await this.client.update(CRON_JOBS, cj.metadata!.namespace!, cj, { subresource: 'status' });
    }
    if (r.requeueAfterMs !== undefined) {
      this.queue.addAfter(key, r.requeueAfterMs);
      return;
    }
    if (r.error) throw r.error;
  }

  private scheduleState(cj: KubeObject): ScheduleState {
    const s: ScheduleState = { createdAt: parseTime(cj.metadata?.creationTimestamp) ?? this.now() };
    const last = parseTime(cj.status?.lastScheduleTime);
    if (last !== undefined) s.lastScheduleTime = last;
    if (typeof cj.spec?.startingDeadlineSeconds === 'number') s.startingDeadlineSeconds = cj.spec.startingDeadlineSeconds;
    return s;
  }

  private nextFn(sched: CronSchedule): (t: number) => number | undefined {
    const zone = sched.location ? zoneOf(sched.location) : this.defaultZone;
    return (t) => nextActivation(sched, t, zone);
  }

  /** Upstream's formatSchedule: spec.timeZone becomes a TZ= prefix; a TZ in the schedule itself is warned about. */
  private formatSchedule(cj: KubeObject, warn: boolean): string {
    const schedule = String(cj.spec?.schedule ?? '');
    if (schedule.includes('TZ')) {
      if (warn) {
        this.recorder.event(
          cj,
          'Warning',
          'UnsupportedSchedule',
          `CRON_TZ or TZ used in schedule ${JSON.stringify(schedule)} is not officially supported, see https://kubernetes.io/docs/concepts/workloads/controllers/cron-jobs/ for more details`,
        );
      }
      return schedule;
    }
    const tz = cj.spec?.timeZone;
    if (typeof tz === 'string' && isKnownTimeZone(tz)) return `TZ=${tz} ${schedule}`;
    return schedule;
  }

  private async cleanupFinishedJobs(cj: KubeObject, jobs: KubeObject[]): Promise<boolean> {
    const successLimit = cj.spec?.successfulJobsHistoryLimit;
    const failedLimit = cj.spec?.failedJobsHistoryLimit;
    if (typeof successLimit !== 'number' && typeof failedLimit !== 'number') return false;
    const succeeded: KubeObject[] = [];
    const failed: KubeObject[] = [];
    for (const job of jobs) {
      const c = finishedCondition(job);
      if (c?.type === 'Complete') succeeded.push(job);
      else if (c?.type === 'Failed') failed.push(job);
    }
    let update = false;
    if (typeof successLimit === 'number' && (await this.removeOldestJobs(cj, succeeded, successLimit))) update = true;
    if (typeof failedLimit === 'number' && (await this.removeOldestJobs(cj, failed, failedLimit))) update = true;
    return update;
  }

  private async removeOldestJobs(cj: KubeObject, jobs: KubeObject[], max: number): Promise<boolean> {
    const n = jobs.length - max;
    if (n <= 0) return false;
    let update = false;
    for (const job of [...jobs].sort(byJobStartTime).slice(0, n)) if (await this.deleteJob(cj, job)) update = true;
    return update;
  }

  /** Deletes a Job (its pods in the background) and forgets it from status.active. */
  private async deleteJob(cj: KubeObject, job: KubeObject): Promise<boolean> {
    try {
      await this.client.delete(JOBS, job.metadata!.namespace!, job.metadata!.name!, { propagationPolicy: 'Background' });
    } catch (err) {
      this.recorder.event(cj, 'Warning', 'FailedDelete', `Deleted job: ${(err as Error).message}`);
      return false;
    }
    deleteFromActiveList(cj, job.metadata?.uid);
    this.recorder.event(cj, 'Normal', 'SuccessfulDelete', `Deleted job ${job.metadata!.name}`);
    return true;
  }

  private async syncCronJob(cj: KubeObject, jobs: KubeObject[]): Promise<SyncResult> {
    const now = this.now();
    let updateStatus = false;
    const ns = cj.metadata!.namespace!;
    const children = new Set<string>();
    for (const job of jobs) {
      const uid = job.metadata?.uid;
      if (uid) children.add(uid);
      const found = inActiveList(cj, uid);
      if (!found && !isJobFinished(job)) {
        // Our status may be older than our Job list: the live CronJob settles whether we know this Job.
        let fresh: KubeObject;
        try {
          fresh = await this.client.get(CRON_JOBS, ns, cj.metadata!.name!);
        } catch (error) {
          return { updateStatus, error };
        }
        if (inActiveList(fresh, uid)) {
          // Later status updates must not drop what the live object knows.
          cj.metadata = fresh.metadata;
          cj.status = fresh.status;
          continue;
        }
        // A Job made by hand (kubectl create job --from=cronjob/...) or lost between create and status update.
        this.recorder.event(cj, 'Warning', 'UnexpectedJob', `Saw a job that the controller did not create or forgot: ${job.metadata?.name}`);
      } else if (found && isJobFinished(job)) {
        deleteFromActiveList(cj, uid);
        this.recorder.event(cj, 'Normal', 'SawCompletedJob', `Saw completed job: ${job.metadata?.name}, status: ${finishedCondition(job)!.type}`);
        updateStatus = true;
      } else if (isJobSucceeded(job)) {
        // A Job need not be active to count: any success may move lastSuccessfulTime on.
        const completion = job.status?.completionTime;
        const last = cj.status?.lastSuccessfulTime;
        if (last === undefined || last === null) {
          if (completion !== undefined && completion !== null) {
            cj.status = { ...cj.status, lastSuccessfulTime: completion };
            updateStatus = true;
          }
        } else if ((parseTime(completion) ?? -Infinity) > (parseTime(last) ?? Infinity)) {
          cj.status.lastSuccessfulTime = completion;
          updateStatus = true;
        }
      }
    }

    // An active Job that is gone (the informer agrees with a live GET) leaves the list.
    for (const ref of [...activeRefs(cj)]) {
      if (ref.uid && children.has(ref.uid)) continue;
      try {
        await this.client.get(JOBS, ref.namespace ?? ns, ref.name ?? '');
      } catch (error) {
        if (error instanceof ApiError && error.code === 404) {
          this.recorder.event(cj, 'Normal', 'MissingJob', `Active job went missing: ${ref.name}`);
          deleteFromActiveList(cj, ref.uid);
          updateStatus = true;
          continue;
        }
        return { updateStatus, error };
      }
    }

    if (cj.metadata?.deletionTimestamp) return { updateStatus };

    const tz = cj.spec?.timeZone;
    if (tz !== undefined && tz !== null && !isKnownTimeZone(String(tz))) {
      this.recorder.event(cj, 'Warning', 'UnknownTimeZone', `invalid timeZone: ${JSON.stringify(tz)}: unknown time zone ${tz}`);
      return { updateStatus };
    }
    if (cj.spec?.suspend === true) return { updateStatus };

    let sched: CronSchedule;
    try {
      sched = parseCronSchedule(this.formatSchedule(cj, true));
    } catch (err) {
      this.recorder.event(cj, 'Warning', 'UnparseableSchedule', `unparseable schedule: ${JSON.stringify(cj.spec?.schedule)} : ${(err as Error).message}`);
      return { updateStatus };
    }
    const next = this.nextFn(sched);
    const state = this.scheduleState(cj);
    const requeue = (): SyncResult => {
      const d = nextScheduleDelay(this.scheduleState(cj), now, next);
      return d === undefined ? { updateStatus } : { requeueAfterMs: d, updateStatus };
    };
    const unmet = unmetScheduleTime(state, now, next);
    if (unmet.error) {
      this.recorder.event(cj, 'Warning', 'InvalidSchedule', `invalid schedule: ${cj.spec?.schedule} : ${unmet.error}`);
      return { updateStatus };
    }
    if (unmet.time === undefined) return requeue();
    const scheduled = unmet.time;
    if (unmet.missed === 'many') {
      this.recorder.event(cj, 'Warning', 'TooManyMissedTimes', 'too many missed start times. Set or decrease .spec.startingDeadlineSeconds or check clock skew');
    }

    const deadline = cj.spec?.startingDeadlineSeconds;
    if (typeof deadline === 'number' && scheduled + deadline * 1000 < now) {
      this.recorder.event(cj, 'Warning', 'MissSchedule', `Missed scheduled time to start a job: ${formatRFC1123Z(scheduled)}`);
      return requeue();
    }
    const jobName = jobNameFor(cj.metadata!.name!, scheduled);
    if (activeRefs(cj).some((r) => r.name === jobName && (r.namespace ?? ns) === ns) || parseTime(cj.status?.lastScheduleTime) === scheduled) {
      return requeue();
    }
    const policy = cj.spec?.concurrencyPolicy;
    if (policy === 'Forbid' && activeRefs(cj).length > 0) {
      // Our view of what is active can lag, so Forbid can still overlap when runs come close together.
      this.recorder.event(cj, 'Normal', 'JobAlreadyActive', 'Not starting job because prior execution is running and concurrency policy is Forbid');
      return requeue();
    }
    if (policy === 'Replace') {
      for (const ref of [...activeRefs(cj)]) {
        let job: KubeObject;
        try {
          job = await this.client.get(JOBS, ref.namespace ?? ns, ref.name ?? '');
        } catch (error) {
          this.recorder.event(cj, 'Warning', 'FailedGet', `Get job: ${(error as Error).message}`);
          return { updateStatus, error };
        }
        if (!(await this.deleteJob(cj, job))) return { updateStatus, error: new Error(`could not replace job ${job.metadata?.namespace}/${job.metadata?.name}`) };
        updateStatus = true;
      }
    }

    let created: KubeObject;
    let alreadyExisted = false;
    try {
      created = await this.client.create(JOBS, ns, this.jobFromTemplate(cj, scheduled, jobName));
    } catch (error) {
      if (!(error instanceof ApiError)) return { updateStatus, error };
      if (error.code === 403 && error.details?.causes?.some((c) => c.reason === 'NamespaceTerminating')) return { updateStatus, error };
      if (error.code !== 409 || error.reason !== 'AlreadyExists') {
        this.recorder.event(cj, 'Warning', 'FailedCreate', `Error creating job: ${error.message}`);
        return { updateStatus, error };
      }
      // Made before, by us (and the status update was lost) or by someone else, who then owns the status.
      alreadyExisted = true;
      try {
        created = await this.client.get(JOBS, ns, jobName);
      } catch (getError) {
        return { updateStatus, error: getError };
      }
      if (controllerRefOf(created)?.uid !== cj.metadata?.uid) return { updateStatus };
      if (inActiveList(cj, created.metadata?.uid)) return { updateStatus };
    }
    if (!alreadyExisted) this.recorder.event(cj, 'Normal', 'SuccessfulCreate', `Created job ${created.metadata!.name}`);

    const ref: ObjectReference = {
      kind: 'Job',
      namespace: created.metadata!.namespace,
      name: created.metadata!.name,
      uid: created.metadata!.uid,
      apiVersion: 'batch/v1',
      resourceVersion: created.metadata!.resourceVersion,
    };
    cj.status = { ...cj.status, active: [...activeRefs(cj), ref], lastScheduleTime: rfc3339(scheduled) };
    return { ...requeue(), updateStatus: true };
  }

  /** The Job for one scheduled time: the template's labels, annotations and spec, and the scheduled time. */
  private jobFromTemplate(cj: KubeObject, scheduledMs: number, name: string): KubeObject {
    const template = (cj.spec?.jobTemplate ?? {}) as KubeObject;
    const tm = template.metadata ?? {};
    const annotations: Record<string, string> = { ...tm.annotations };
    // Upstream formats it in spec.timeZone, or in UTC (not the controller's zone) when there is none.
    const tz = typeof cj.spec?.timeZone === 'string' && isKnownTimeZone(cj.spec.timeZone) ? zoneOf(cj.spec.timeZone) : zoneOf('UTC');
    annotations[SCHEDULED_TIMESTAMP_ANNOTATION] = formatRFC3339(scheduledMs, tz);
    const metadata: KubeObject['metadata'] = {
      name,
      namespace: cj.metadata!.namespace,
      annotations,
      ownerReferences: [newControllerRef(cj, 'batch/v1', 'CronJob')],
    };
    if (tm.labels && Object.keys(tm.labels).length > 0) metadata.labels = { ...tm.labels };
    return { apiVersion: 'batch/v1', kind: 'Job', metadata, spec: structuredClone(template.spec ?? {}) };
  }
}

