import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { KubeObject } from '../../api/types.js';
import { ApiError } from '../../api/errors.js';
import { parseCronSchedule } from '../../api/validation/cron.js';
import type { ResourceRef } from '../../client/interface.js';
import { SharedInformers } from '../../client/shared-informers.js';
import { CountingClient, eventually, startInProcessCluster, type InProcessCluster } from '../../../test/harness/in-process.js';
import { newControllerContext } from '../context.js';
import { CRON_JOBS, EVENTS, JOBS, rfc3339 } from '../pods.js';
import { CronJobController, SCHEDULED_TIMESTAMP_ANNOTATION, jobNameFor } from './cronjob-controller.js';
import { nextActivation } from './schedule.js';
import { formatRFC3339, zoneOf } from './zoned-time.js';

const NAMESPACES: ResourceRef = { group: '', version: 'v1', resource: 'namespaces' };
const MERGE = 'application/merge-patch+json';
const MINUTE = 60_000;

/** The controller, with a way to queue a CronJob as an event would. */
class TestCronJobController extends CronJobController {
  kick(key: string): void {
    this.queue.add(key);
  }
}

function cronJob(name: string, spec: Record<string, unknown> = {}): KubeObject {
  return {
    apiVersion: 'batch/v1',
    kind: 'CronJob',
    metadata: { name },
    spec: {
      schedule: '* * * * *',
      jobTemplate: {
        metadata: { labels: { team: 'a' }, annotations: { note: 'from the template' } },
        spec: { template: { spec: { restartPolicy: 'Never', containers: [{ name: 'c', image: 'busybox' }] } } },
      },
      ...spec,
    },
  };
}

describe('cronjob controller', () => {
  let cluster: InProcessCluster;
  let client: CountingClient;
  let informers: SharedInformers;
  let controller: TestCronJobController;
  /** The controller's clock: the wall clock plus `skew`. */
  let skew = 0;
  const now = () => Date.now() + skew;
  const setNow = (t: number) => {
    skew = t - Date.now();
  };
  let n = 0;

  async function namespace(): Promise<string> {
    const ns = `cron-${++n}`;
    await cluster.client.create(NAMESPACES, '', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } });
    return ns;
  }

  async function jobsOf(ns: string): Promise<KubeObject[]> {
    return (await cluster.client.list(JOBS, ns)).items;
  }

  async function getCronJob(ns: string, name: string): Promise<KubeObject> {
    return cluster.client.get(CRON_JOBS, ns, name);
  }

  async function events(ns: string, name: string, reason?: string): Promise<KubeObject[]> {
    const { items } = await cluster.client.list(EVENTS, ns);
    return items.filter((e) => e.involvedObject?.kind === 'CronJob' && e.involvedObject?.name === name && (!reason || e.reason === reason));
  }

  async function waitEvent(ns: string, name: string, reason: string): Promise<KubeObject> {
    return eventually(`${reason} on ${name}`, async () => (await events(ns, name, reason))[0]);
  }

  /** Marks a Job finished as the Job controller would. */
  async function finishJob(ns: string, name: string, type: 'Complete' | 'Failed', at: number): Promise<void> {
    const t = rfc3339(at);
    const j = await cluster.client.get(JOBS, ns, name);
    const status: Record<string, unknown> = { startTime: j.status?.startTime ?? t, conditions: [{ type, status: 'True', lastProbeTime: t, lastTransitionTime: t }] };
    if (type === 'Complete') Object.assign(status, { completionTime: t, succeeded: 1 });
    else Object.assign(status, { failed: 1 });
    await cluster.client.update(JOBS, ns, { ...j, status }, { subresource: 'status' });
  }

  /** Creates a suspended CronJob, then resumes it with the clock `offsetMs` after its first scheduled minute. */
  async function startAt(ns: string, cj: KubeObject, offsetMs: number): Promise<{ first: number; created: KubeObject }> {
    const created = await cluster.client.create(CRON_JOBS, ns, { ...cj, spec: { ...cj.spec, suspend: true } });
    const first = Math.floor(Date.parse(created.metadata!.creationTimestamp!) / MINUTE) * MINUTE + MINUTE;
    setNow(first + offsetMs);
    await cluster.client.patch(CRON_JOBS, ns, cj.metadata!.name!, MERGE, { spec: { suspend: false } });
    return { first, created };
  }

  async function tryGetJob(ns: string, name: string): Promise<KubeObject | undefined> {
    try {
      return await cluster.client.get(JOBS, ns, name);
    } catch (err) {
      if (err instanceof ApiError && err.code === 404) return undefined;
      throw err;
    }
  }

  before(async () => {
    cluster = await startInProcessCluster('cronjob');
    client = new CountingClient(cluster.server);
    informers = new SharedInformers(client);
    const ctx = newControllerContext(client, informers, {});
    controller = new TestCronJobController(ctx, { now, defaultTimeZone: 'UTC', retryBaseDelayMs: 5, retryMaxDelayMs: 200 });
    await controller.start();
  });

  after(async () => {
    await controller.stop();
    informers.stop();
    await cluster.stop();
  });

  it('starts a Job at the scheduled minute, queued for that moment', async () => {
    const ns = await namespace();
    // 300 ms before the first minute: nothing is due yet, and nothing but the controller's own
    // delayed requeue will bring the CronJob back at that minute.
    const { first, created } = await startAt(ns, cronJob('tick'), -300);
    const name = jobNameFor('tick', first);
    assert.equal(name, `tick-${first / MINUTE}`);
    const job = await eventually('the Job of the first minute', () => tryGetJob(ns, name));
    assert.equal(job.metadata?.annotations?.[SCHEDULED_TIMESTAMP_ANNOTATION], formatRFC3339(first, zoneOf('UTC')));
    assert.equal(job.metadata?.annotations?.note, 'from the template');
    assert.equal(job.metadata?.labels?.team, 'a');
    assert.deepEqual(job.metadata?.ownerReferences, [{ apiVersion: 'batch/v1', kind: 'CronJob', name: 'tick', uid: created.metadata!.uid, controller: true, blockOwnerDeletion: true }]);
    assert.equal(job.spec?.template?.spec?.containers?.[0]?.image, 'busybox');
    const cj = await eventually('status.active', async () => {
      const c = await getCronJob(ns, 'tick');
      return c.status?.active?.length === 1 ? c : undefined;
    });
    assert.deepEqual(cj.status.active[0], { kind: 'Job', namespace: ns, name, uid: job.metadata!.uid, apiVersion: 'batch/v1', resourceVersion: cj.status.active[0].resourceVersion });
    assert.equal(cj.status.lastScheduleTime, rfc3339(first));
    assert.equal((await waitEvent(ns, 'tick', 'SuccessfulCreate')).message, `Created job ${name}`);

    // The Job finishes: it leaves status.active, and its completion becomes lastSuccessfulTime.
    await finishJob(ns, name, 'Complete', first + 20_000);
    const done = await eventually('lastSuccessfulTime', async () => {
      const c = await getCronJob(ns, 'tick');
      return c.status?.lastSuccessfulTime && !c.status.active ? c : undefined;
    });
    assert.equal(done.status.lastSuccessfulTime, rfc3339(first + 20_000));
    assert.equal((await waitEvent(ns, 'tick', 'SawCompletedJob')).message, `Saw completed job: ${name}, status: Complete`);
    assert.equal((await jobsOf(ns)).length, 1, 'one Job for one minute');
  });

  it('reads the schedule in spec.timeZone and stamps the scheduled time in that zone', async () => {
    const ns = await namespace();
    const created = await cluster.client.create(CRON_JOBS, ns, cronJob('ny', { schedule: '0 9 * * *', timeZone: 'America/New_York', suspend: true }));
    const nine = nextActivation(parseCronSchedule('0 9 * * *'), Date.parse(created.metadata!.creationTimestamp!), zoneOf('America/New_York'))!;
    setNow(nine + 5000);
    await cluster.client.patch(CRON_JOBS, ns, 'ny', MERGE, { spec: { suspend: false } });
    const job = await eventually('the 9 am Job', () => tryGetJob(ns, jobNameFor('ny', nine)));
    assert.match(job.metadata!.annotations![SCHEDULED_TIMESTAMP_ANNOTATION], /T09:00:00-0[45]:00$/);
    assert.equal(Date.parse(job.metadata!.annotations![SCHEDULED_TIMESTAMP_ANNOTATION]), nine);
  });

  it('Forbid skips a run while one is active; Replace deletes the active one and starts anew', async () => {
    const ns = await namespace();
    const { first } = await startAt(ns, cronJob('forbid', { concurrencyPolicy: 'Forbid' }), 1000);
    await eventually('the first Job', () => tryGetJob(ns, jobNameFor('forbid', first)));
    await eventually('active', async () => (await getCronJob(ns, 'forbid')).status?.active?.length === 1);
    setNow(first + MINUTE + 1000);
    controller.kick(`${ns}/forbid`);
    const skipped = await waitEvent(ns, 'forbid', 'JobAlreadyActive');
    assert.equal(skipped.message, 'Not starting job because prior execution is running and concurrency policy is Forbid');
    assert.equal((await jobsOf(ns)).length, 1);

    const r = await startAt(ns, cronJob('replace', { concurrencyPolicy: 'Replace' }), 1000);
    const old = await eventually('the first Job', () => tryGetJob(ns, jobNameFor('replace', r.first)));
    await eventually('active', async () => (await getCronJob(ns, 'replace')).status?.active?.length === 1);
    setNow(r.first + MINUTE + 1000);
    controller.kick(`${ns}/replace`);
    const fresh = await eventually('the second Job', () => tryGetJob(ns, jobNameFor('replace', r.first + MINUTE)));
    const cj = await eventually('active is the new Job only', async () => {
      const c = await getCronJob(ns, 'replace');
      return c.status?.active?.length === 1 && c.status.active[0].uid === fresh.metadata!.uid ? c : undefined;
    });
    assert.equal(cj.status.lastScheduleTime, rfc3339(r.first + MINUTE));
    assert.equal((await waitEvent(ns, 'replace', 'SuccessfulDelete')).message, `Deleted job ${old.metadata!.name}`);
    assert.equal(await tryGetJob(ns, old.metadata!.name!), undefined, 'the replaced Job is gone');
  });

  it('keeps successfulJobsHistoryLimit and failedJobsHistoryLimit, deleting the oldest', async () => {
    const ns = await namespace();
    const { first } = await startAt(ns, cronJob('history', { successfulJobsHistoryLimit: 1, failedJobsHistoryLimit: 1 }), 1000);
    const runs: string[] = [];
    // Four runs, a minute apart: two succeed, two fail.
    for (let i = 0; i < 4; i++) {
      const at = first + i * MINUTE;
      setNow(at + 1000);
      controller.kick(`${ns}/history`);
      const name = jobNameFor('history', at);
      await eventually(`run ${i}`, async () => (await getCronJob(ns, 'history')).status?.active?.some((a: { name: string }) => a.name === name));
      await finishJob(ns, name, i % 2 === 0 ? 'Complete' : 'Failed', at + 10_000);
      runs.push(name);
      await eventually(`run ${i} seen finished`, async () => !(await getCronJob(ns, 'history')).status?.active);
    }
    const left = await eventually('two Jobs kept', async () => {
      const jobs = (await jobsOf(ns)).filter((j) => !j.metadata?.deletionTimestamp).map((j) => j.metadata!.name!);
      return jobs.length === 2 ? jobs.sort() : undefined;
    });
    // The newest success and the newest failure stay.
    assert.deepEqual(left, [runs[2], runs[3]].sort());
    const deleted = (await events(ns, 'history', 'SuccessfulDelete')).map((e) => e.message).sort();
    assert.deepEqual(deleted, [`Deleted job ${runs[0]}`, `Deleted job ${runs[1]}`].sort());
  });

  it('does not start a run missed by more than startingDeadlineSeconds, nor anything while suspended', async () => {
    const ns = await namespace();
    const late = await startAt(ns, cronJob('late', { startingDeadlineSeconds: 10 }), 30_000);
    await controller.reconcile(`${ns}/late`);
    assert.equal(await tryGetJob(ns, jobNameFor('late', late.first)), undefined, 'the run 30 s late is not started');
    const held = await cluster.client.create(CRON_JOBS, ns, cronJob('held', { suspend: true }));
    setNow(Math.floor(Date.parse(held.metadata!.creationTimestamp!) / MINUTE) * MINUTE + MINUTE + 1000);
    await controller.reconcile(`${ns}/held`);
    assert.deepEqual(await jobsOf(ns), []);
    assert.equal((await getCronJob(ns, 'held')).status?.lastScheduleTime, undefined);
  });

  it('warns about more than 100 missed start times and starts the most recent', async () => {
    const ns = await namespace();
    const { first } = await startAt(ns, cronJob('behind'), 3 * 3600_000 + 1000);
    const latest = first + 3 * 3600_000;
    await eventually('the most recent run', () => tryGetJob(ns, jobNameFor('behind', latest)));
    const ev = await waitEvent(ns, 'behind', 'TooManyMissedTimes');
    assert.equal(ev.type, 'Warning');
    assert.equal(ev.message, 'too many missed start times. Set or decrease .spec.startingDeadlineSeconds or check clock skew');
    assert.equal((await jobsOf(ns)).length, 1, 'only the most recent missed time runs');
  });

  it('leaves a Job made by kubectl create job --from=cronjob alone', async () => {
    const ns = await namespace();
    const { first } = await startAt(ns, cronJob('manual'), -MINUTE / 2);
    const cj = await getCronJob(ns, 'manual');
    // What kubectl 1.30 sends: the template, an owner reference with controller: true, and the annotation.
    await cluster.client.create(JOBS, ns, {
      apiVersion: 'batch/v1',
      kind: 'Job',
      metadata: {
        name: 'manual-run',
        annotations: { 'cronjob.kubernetes.io/instantiate': 'manual', note: 'from the template' },
        labels: { team: 'a' },
        ownerReferences: [{ apiVersion: 'batch/v1', kind: 'CronJob', name: 'manual', uid: cj.metadata!.uid!, controller: true }],
      },
      spec: cj.spec.jobTemplate.spec,
    });
    const ev = await waitEvent(ns, 'manual', 'UnexpectedJob');
    assert.equal(ev.message, 'Saw a job that the controller did not create or forgot: manual-run');
    assert.ok(await tryGetJob(ns, 'manual-run'), 'not deleted');
    assert.equal((await getCronJob(ns, 'manual')).status?.active, undefined, 'not adopted into status.active');
    // Once it succeeds it counts as a success of the CronJob.
    await finishJob(ns, 'manual-run', 'Complete', first - 10_000);
    await eventually('lastSuccessfulTime', async () => (await getCronJob(ns, 'manual')).status?.lastSuccessfulTime === rfc3339(first - 10_000));
  });

  it('writes nothing when the world is settled', async () => {
    const ns = await namespace();
    const quiet = await startAt(ns, cronJob('quiet'), 2000);
    const busy = await startAt(ns, cronJob('busy', { concurrencyPolicy: 'Forbid' }), 2000);
    await cluster.client.create(CRON_JOBS, ns, cronJob('paused', { suspend: true }));
    setNow(Math.max(quiet.first, busy.first) + 2000);
    await eventually('both started', async () => (await getCronJob(ns, 'quiet')).status?.active?.length === 1 && (await getCronJob(ns, 'busy')).status?.active?.length === 1);
    const quietJob = (await getCronJob(ns, 'quiet')).status.active[0].name;
    await finishJob(ns, quietJob, 'Complete', Date.parse((await getCronJob(ns, 'quiet')).status.lastScheduleTime) + 1000);
    await eventually('settled', async () => {
      const c = await getCronJob(ns, 'quiet');
      return !c.status?.active && c.status?.lastSuccessfulTime;
    });
    await new Promise((r) => setTimeout(r, 100));
    const attempts = client.attempts;
    for (const name of ['quiet', 'busy', 'paused']) await controller.reconcile(`${ns}/${name}`);
    assert.equal(client.attempts, attempts, 'no writes, no events');
  });
});
