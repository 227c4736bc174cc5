import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { KubeObject } from '../../api/types.js';
import { ApiError } from '../../api/errors.js';
import type { ResourceRef } from '../../client/interface.js';
import { SharedInformers } from '../../client/shared-informers.js';
import { CountingClient, eventually, startInProcessCluster, type InProcessCluster } from '../../../test/harness/in-process.js';
import { newControllerContext } from '../context.js';
import { EVENTS, JOBS, PODS } from '../pods.js';
import { JOB_TRACKING_FINALIZER, JobController, type JobControllerOptions } from './job-controller.js';

const NAMESPACES: ResourceRef = { group: '', version: 'v1', resource: 'namespaces' };
const MERGE = 'application/merge-patch+json';

interface Harness {
  cluster: InProcessCluster;
  client: CountingClient;
  informers: SharedInformers;
  controller: JobController;
  /** Milliseconds added to the wall clock the controller reads. */
  skew: { ms: number };
}

const FAST: JobControllerOptions = { syncBatchPeriodMs: 5, podFailureBackoffBaseMs: 20, podFailureBackoffMaxMs: 80, retryBaseDelayMs: 5, retryMaxDelayMs: 200 };

async function startController(h: Omit<Harness, 'controller' | 'informers'>, opts: JobControllerOptions = FAST): Promise<{ informers: SharedInformers; controller: JobController }> {
  const informers = new SharedInformers(h.client);
  const ctx = newControllerContext(h.client, informers, { now: () => Date.now() + h.skew.ms });
  const controller = new JobController(ctx, opts);
  await controller.start();
  return { informers, controller };
}

function jobSpec(name: string, spec: Record<string, unknown>, template: Record<string, unknown> = {}): KubeObject {
  return {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: { name },
    spec: {
      ...spec,
      template: { metadata: { labels: { app: name } }, spec: { restartPolicy: 'Never', containers: [{ name: 'c', image: 'busybox' }], ...template } },
    },
  };
}

async function podsOf(h: Harness, ns: string, job: string): Promise<KubeObject[]> {
  const { items } = await h.cluster.client.list(PODS, ns, { labelSelector: `batch.kubernetes.io/job-name=${job}` });
  return items;
}

function isActive(p: KubeObject): boolean {
  return !p.metadata?.deletionTimestamp && p.status?.phase !== 'Succeeded' && p.status?.phase !== 'Failed';
}

/** Plays the kubelet: the pod's container ran to the end with `exitCode`. */
async function finishPod(h: Harness, pod: KubeObject, exitCode: number): Promise<void> {
  const t = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
  await h.cluster.client.patch(
    PODS,
    pod.metadata!.namespace!,
    pod.metadata!.name!,
    MERGE,
    {
      status: {
        phase: exitCode === 0 ? 'Succeeded' : 'Failed',
        conditions: [{ type: 'Ready', status: 'False', lastTransitionTime: t, reason: 'PodCompleted' }],
        containerStatuses: [
          {
            name: 'c',
            image: 'busybox',
            imageID: '',
            ready: false,
            restartCount: 0,
            state: { terminated: { exitCode, reason: exitCode === 0 ? 'Completed' : 'Error', startedAt: t, finishedAt: t } },
          },
        ],
      },
    },
    { subresource: 'status' },
  );
}

async function runPod(h: Harness, pod: KubeObject, restartCount = 0): Promise<void> {
  const t = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
  await h.cluster.client.patch(
    PODS,
    pod.metadata!.namespace!,
    pod.metadata!.name!,
    MERGE,
    {
      status: {
        phase: 'Running',
        conditions: [{ type: 'Ready', status: 'True', lastTransitionTime: t }],
        containerStatuses: [{ name: 'c', image: 'busybox', imageID: '', ready: true, restartCount, state: { running: { startedAt: t } } }],
      },
    },
    { subresource: 'status' },
  );
}

async function getJob(h: Harness, ns: string, name: string): Promise<KubeObject> {
  return h.cluster.client.get(JOBS, ns, name);
}

function condition(job: KubeObject, type: string): Record<string, any> | undefined {
  return (job.status?.conditions ?? []).find((c: { type: string }) => c.type === type);
}

async function events(h: Harness, ns: string, name: string): Promise<KubeObject[]> {
  const { items } = await h.cluster.client.list(EVENTS, ns);
  return items.filter((e) => e.involvedObject?.name === name && e.involvedObject?.kind === 'Job');
}

async function waitEvent(h: Harness, ns: string, name: string, reason: string): Promise<KubeObject> {
  return eventually(`${reason} event on ${name}`, async () => (await events(h, ns, name)).find((e) => e.reason === reason));
}

describe('job controller', () => {
  const h = { skew: { ms: 0 } } as Harness;
  let n = 0;
  const namespace = async () => {
    const ns = `job-${++n}`;
    await h.cluster.client.create(NAMESPACES, '', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } });
    return ns;
  };

  before(async () => {
    h.cluster = await startInProcessCluster('job-controller');
    h.client = new CountingClient(h.cluster.server);
    Object.assign(h, await startController(h));
  });

  after(async () => {
    await h.controller.stop();
    h.informers.stop();
    await h.cluster.stop();
  });

  it('runs completions 5 with parallelism 2, never more than 2 at once, and completes', async () => {
    const ns = await namespace();
    await h.cluster.client.create(JOBS, ns, jobSpec('five', { completions: 5, parallelism: 2 }));
    let finished = 0;
    while (finished < 5) {
      const active = await eventually('an active pod', async () => {
        const pods = await podsOf(h, ns, 'five');
        const act = pods.filter(isActive);
        assert.ok(act.length <= 2, `at most 2 active pods, saw ${act.length}`);
        return act.length > 0 ? act : undefined;
      });
      await finishPod(h, active[0], 0);
      finished++;
    }
    const job = await eventually('Complete', async () => {
      const j = await getJob(h, ns, 'five');
      return condition(j, 'Complete')?.status === 'True' ? j : undefined;
    });
    const pods = await podsOf(h, ns, 'five');
    assert.equal(pods.length, 5, 'exactly five pods were ever made');
    assert.ok(pods.every((p) => !p.metadata?.finalizers?.includes(JOB_TRACKING_FINALIZER)), 'no pod keeps the tracking finalizer');
    assert.equal(job.status.succeeded, 5);
    assert.equal(job.status.failed, undefined);
    assert.equal(job.status.active, undefined);
    assert.equal(job.status.ready, 0);
    assert.equal(job.status.terminating, 0);
    assert.deepEqual(job.status.uncountedTerminatedPods, {});
    assert.ok(job.status.startTime);
    assert.equal(job.status.completionTime, condition(job, 'Complete')!.lastTransitionTime);
    const complete = condition(job, 'Complete')!;
    assert.equal(complete.reason, undefined);
    assert.equal(complete.message, undefined);
    const completed = await waitEvent(h, ns, 'five', 'Completed');
    assert.equal(completed.message, 'Job completed');
    assert.equal(completed.type, 'Normal');
    assert.equal(completed.source?.component, 'job-controller');
    const created = (await events(h, ns, 'five')).filter((e) => e.reason === 'SuccessfulCreate');
    assert.ok(created.length >= 1);
    assert.match(created[0].message, /^Created pod: five-[a-z0-9]{5}$/);
    // The pods are the template's, owned by the Job, with the tracking finalizer while they ran.
    const pod = pods[0];
    assert.equal(pod.metadata?.generateName, 'five-');
    assert.equal(pod.metadata?.labels?.app, 'five');
    assert.equal(pod.metadata?.labels?.['batch.kubernetes.io/controller-uid'], job.metadata?.uid);
    assert.deepEqual(pod.metadata?.ownerReferences, [{ apiVersion: 'batch/v1', kind: 'Job', name: 'five', uid: job.metadata!.uid, controller: true, blockOwnerDeletion: true }]);
  });

  it('fails a Job whose pods keep failing once backoffLimit is passed', async () => {
    const ns = await namespace();
    await h.cluster.client.create(JOBS, ns, jobSpec('flaky', { backoffLimit: 2 }));
    const failed = new Set<string>();
    // Each failure is replaced after a growing delay, until the third failure passes the limit of 2.
    for (let i = 0; i < 3; i++) {
      const pod = await eventually(`pod ${i + 1}`, async () => (await podsOf(h, ns, 'flaky')).find((p) => isActive(p) && !failed.has(p.metadata!.name!)));
      failed.add(pod.metadata!.name!);
      await finishPod(h, pod, 1);
    }
    const job = await eventually('Failed', async () => {
      const j = await getJob(h, ns, 'flaky');
      return condition(j, 'Failed')?.status === 'True' ? j : undefined;
    });
    const c = condition(job, 'Failed')!;
    assert.equal(c.reason, 'BackoffLimitExceeded');
    assert.equal(c.message, 'Job has reached the specified backoff limit');
    assert.equal(job.status.failed, 3);
    assert.equal(job.status.succeeded, undefined);
    assert.equal(job.status.completionTime, undefined);
    assert.equal((await podsOf(h, ns, 'flaky')).length, 3, 'no pod after the limit');
    const ev = await waitEvent(h, ns, 'flaky', 'BackoffLimitExceeded');
    assert.equal(ev.type, 'Warning');
    assert.equal(ev.message, 'Job has reached the specified backoff limit');
  });

  it('counts container restarts against backoffLimit for restartPolicy OnFailure', async () => {
    const ns = await namespace();
    await h.cluster.client.create(JOBS, ns, jobSpec('restarts', { backoffLimit: 2 }, { restartPolicy: 'OnFailure' }));
    const pod = await eventually('a pod', async () => (await podsOf(h, ns, 'restarts'))[0]);
    await runPod(h, pod, 1);
    await runPod(h, pod, 2);
    const job = await eventually('Failed', async () => {
      const j = await getJob(h, ns, 'restarts');
      return condition(j, 'Failed')?.status === 'True' ? j : undefined;
    });
    assert.equal(condition(job, 'Failed')!.reason, 'BackoffLimitExceeded');
    // The running pod was stopped and counted as the Job's failure.
    assert.equal(job.status.failed, 1);
    await eventually('the pod gone', async () => (await podsOf(h, ns, 'restarts')).length === 0);
    await waitEvent(h, ns, 'restarts', 'SuccessfulDelete');
  });

  it('runs an Indexed Job: one pod per index, completedIndexes in interval form', async () => {
    const ns = await namespace();
    await h.cluster.client.create(JOBS, ns, jobSpec('idx', { completions: 4, parallelism: 4, completionMode: 'Indexed' }));
    const pods = await eventually('four pods', async () => {
      const p = await podsOf(h, ns, 'idx');
      return p.length === 4 ? p : undefined;
    });
    const byIndex = new Map<string, KubeObject>();
    for (const p of pods) {
      const ix = p.metadata!.annotations!['batch.kubernetes.io/job-completion-index'];
      byIndex.set(ix, p);
      assert.equal(p.metadata!.labels!['batch.kubernetes.io/job-completion-index'], ix);
      assert.equal(p.spec!.hostname, `idx-${ix}`);
      assert.equal(p.metadata!.generateName, `idx-${ix}-`);
      assert.deepEqual(
        p.spec!.containers[0].env.find((e: { name: string }) => e.name === 'JOB_COMPLETION_INDEX'),
        { name: 'JOB_COMPLETION_INDEX', valueFrom: { fieldRef: { apiVersion: 'v1', fieldPath: "metadata.annotations['batch.kubernetes.io/job-completion-index']" } } },
      );
    }
    assert.deepEqual([...byIndex.keys()].sort(), ['0', '1', '2', '3']);
    await finishPod(h, byIndex.get('0')!, 0);
    await finishPod(h, byIndex.get('2')!, 0);
    await finishPod(h, byIndex.get('3')!, 0);
    const partial = await eventually('indexes 0,2,3', async () => {
      const j = await getJob(h, ns, 'idx');
      return j.status?.completedIndexes === '0,2,3' ? j : undefined;
    });
    assert.equal(partial.status.succeeded, 3);
    // A failed index is run again, by a new pod with the same index.
    await finishPod(h, byIndex.get('1')!, 1);
    const again = await eventually('a new pod for index 1', async () =>
      (await podsOf(h, ns, 'idx')).find((p) => isActive(p) && p.metadata!.annotations!['batch.kubernetes.io/job-completion-index'] === '1'),
    );
    assert.notEqual(again.metadata!.name, byIndex.get('1')!.metadata!.name);
    await finishPod(h, again, 0);
    const job = await eventually('Complete', async () => {
      const j = await getJob(h, ns, 'idx');
      return condition(j, 'Complete')?.status === 'True' ? j : undefined;
    });
    assert.equal(job.status.completedIndexes, '0-3');
    assert.equal(job.status.succeeded, 4);
    assert.equal(job.status.failed, 1);
  });

  it('fails a Job active longer than activeDeadlineSeconds (DeadlineExceeded)', async () => {
    const ns = await namespace();
    await h.cluster.client.create(JOBS, ns, jobSpec('slow', { activeDeadlineSeconds: 30, parallelism: 2, completions: 2 }));
    const pods = await eventually('two pods', async () => {
      const p = await podsOf(h, ns, 'slow');
      return p.length === 2 ? p : undefined;
    });
    await runPod(h, pods[0]);
    // Thirty seconds pass on the controller's clock; a pod update brings the Job to a sync.
    h.skew.ms += 31_000;
    try {
      await runPod(h, pods[1]);
      const job = await eventually('Failed', async () => {
        const j = await getJob(h, ns, 'slow');
        return condition(j, 'Failed')?.status === 'True' ? j : undefined;
      });
      const c = condition(job, 'Failed')!;
      assert.equal(c.reason, 'DeadlineExceeded');
      assert.equal(c.message, 'Job was active longer than specified deadline');
      assert.equal(job.status.failed, 2, 'the stopped pods count as failed');
      assert.equal(job.status.active, undefined);
      const ev = await waitEvent(h, ns, 'slow', 'DeadlineExceeded');
      assert.equal(ev.message, 'Job was active longer than specified deadline');
      await eventually('the pods gone', async () => (await podsOf(h, ns, 'slow')).length === 0);
    } finally {
      h.skew.ms -= 31_000;
    }
  });

  it('suspends and resumes a Job: Suspended condition, pods deleted, startTime reset', async () => {
    const ns = await namespace();
    await h.cluster.client.create(JOBS, ns, jobSpec('pause', { suspend: true, completions: 2, parallelism: 2 }));
    let job = await eventually('Suspended', async () => {
      const j = await getJob(h, ns, 'pause');
      return condition(j, 'Suspended')?.status === 'True' ? j : undefined;
    });
    assert.equal(condition(job, 'Suspended')!.reason, 'JobSuspended');
    assert.equal(condition(job, 'Suspended')!.message, 'Job suspended');
    assert.equal(job.status.startTime, undefined, 'a Job created suspended has not started');
    assert.equal((await podsOf(h, ns, 'pause')).length, 0);
    assert.equal((await waitEvent(h, ns, 'pause', 'Suspended')).message, 'Job suspended');

    await h.cluster.client.patch(JOBS, ns, 'pause', MERGE, { spec: { suspend: false } });
    job = await eventually('resumed', async () => {
      const j = await getJob(h, ns, 'pause');
      return condition(j, 'Suspended')?.status === 'False' && j.status?.active === 2 ? j : undefined;
    });
    assert.equal(condition(job, 'Suspended')!.reason, 'JobResumed');
    assert.equal(condition(job, 'Suspended')!.message, 'Job resumed');
    assert.ok(job.status.startTime);
    assert.equal((await waitEvent(h, ns, 'pause', 'Resumed')).message, 'Job resumed');
    const firstStart = job.status.startTime;
    const pods = await podsOf(h, ns, 'pause');
    await runPod(h, pods[0]);

    // Suspending a running Job deletes its active pods without counting them as failures.
    h.skew.ms += 5000;
    try {
      await h.cluster.client.patch(JOBS, ns, 'pause', MERGE, { spec: { suspend: true } });
      job = await eventually('suspended again, no pods', async () => {
        const j = await getJob(h, ns, 'pause');
        const left = (await podsOf(h, ns, 'pause')).length;
        return condition(j, 'Suspended')?.status === 'True' && !j.status?.active && left === 0 ? j : undefined;
      });
      assert.equal(job.status.failed, undefined);
      assert.equal(job.status.ready, 0);
      await waitEvent(h, ns, 'pause', 'SuccessfulDelete');
      await h.cluster.client.patch(JOBS, ns, 'pause', MERGE, { spec: { suspend: false } });
      job = await eventually('resumed again', async () => {
        const j = await getJob(h, ns, 'pause');
        return condition(j, 'Suspended')?.status === 'False' && j.status?.active === 2 ? j : undefined;
      });
      assert.ok(Date.parse(job.status.startTime) > Date.parse(firstStart), 'resuming restarts the clock of activeDeadlineSeconds');
    } finally {
      h.skew.ms -= 5000;
    }
  });

  it('counts pods deleted by someone else exactly once, even while the controller is down', async () => {
    const ns = await namespace();
    await h.cluster.client.create(JOBS, ns, jobSpec('gone', { completions: 3, parallelism: 2 }));
    const first = await eventually('two pods', async () => {
      const p = await podsOf(h, ns, 'gone');
      return p.length === 2 && p.every((x) => x.metadata?.finalizers?.includes(JOB_TRACKING_FINALIZER)) ? p : undefined;
    });
    // One pod succeeds and is deleted at once (the GC or a user); the other is deleted while running.
    await finishPod(h, first[0], 0);
    await h.cluster.client.delete(PODS, ns, first[0].metadata!.name!);
    await h.cluster.client.delete(PODS, ns, first[1].metadata!.name!);
    let job = await eventually('one success and one failure counted', async () => {
      const j = await getJob(h, ns, 'gone');
      return j.status?.succeeded === 1 && j.status?.failed === 1 ? j : undefined;
    });
    await eventually('the deleted pods gone once counted', async () => {
      const names = (await podsOf(h, ns, 'gone')).map((p) => p.metadata!.name);
      return !names.includes(first[0].metadata!.name) && !names.includes(first[1].metadata!.name);
    });

    // The controller goes down; meanwhile both replacement pods succeed and are deleted.
    await h.controller.stop();
    h.informers.stop();
    const second = await eventually('two replacements', async () => {
      const p = (await podsOf(h, ns, 'gone')).filter(isActive);
      return p.length === 2 ? p : undefined;
    });
    for (const p of second) {
      await finishPod(h, p, 0);
      await h.cluster.client.delete(PODS, ns, p.metadata!.name!);
    }
    const held = await podsOf(h, ns, 'gone');
    assert.equal(held.length, 2, 'the tracking finalizer keeps deleted pods until they are counted');
    assert.ok(held.every((p) => p.metadata?.deletionTimestamp));

    Object.assign(h, await startController(h));
    job = await eventually('Complete', async () => {
      const j = await getJob(h, ns, 'gone');
      return condition(j, 'Complete')?.status === 'True' ? j : undefined;
    });
    // Three completions wanted: the first success and the two replacements, each counted once.
    assert.equal(job.status.succeeded, 3);
    assert.equal(job.status.failed, 1);
    await eventually('no pods left', async () => (await podsOf(h, ns, 'gone')).length === 0);
  });

  it('fails a Job at once through a podFailurePolicy FailJob rule (FailureTarget, then Failed)', async () => {
    const ns = await namespace();
    const podFailurePolicy = { rules: [{ action: 'FailJob', onExitCodes: { operator: 'In', values: [42] } }] };
    await h.cluster.client.create(JOBS, ns, jobSpec('pfp', { backoffLimit: 6, podFailurePolicy }));
    const pod = await eventually('a pod', async () => (await podsOf(h, ns, 'pfp'))[0]);
    await finishPod(h, pod, 42);
    const job = await eventually('Failed', async () => {
      const j = await getJob(h, ns, 'pfp');
      return condition(j, 'Failed')?.status === 'True' ? j : undefined;
    });
    const message = `Container c for pod ${ns}/${pod.metadata!.name} failed with exit code 42 matching FailJob rule at index 0`;
    assert.equal(condition(job, 'FailureTarget')?.reason, 'PodFailurePolicy');
    assert.equal(condition(job, 'FailureTarget')?.message, message);
    assert.equal(condition(job, 'Failed')!.reason, 'PodFailurePolicy');
    assert.equal(condition(job, 'Failed')!.message, message);
    assert.equal(job.status.failed, 1);
  });

  it('fails an index after backoffLimitPerIndex failures, and the Job once every index is done', async () => {
    const ns = await namespace();
    await h.cluster.client.create(JOBS, ns, jobSpec('per-index', { completions: 2, parallelism: 2, completionMode: 'Indexed', backoffLimitPerIndex: 1 }));
    const indexOf = (p: KubeObject) => p.metadata!.annotations!['batch.kubernetes.io/job-completion-index'];
    const first = await eventually('two pods', async () => {
      const p = await podsOf(h, ns, 'per-index');
      return p.length === 2 ? p : undefined;
    });
    const zero = first.find((p) => indexOf(p) === '0')!;
    assert.equal(zero.metadata!.annotations!['batch.kubernetes.io/job-index-failure-count'], '0');
    await finishPod(h, zero, 1);
    // The replacement carries the index's failure count on.
    const retry = await eventually('a second pod for index 0', async () =>
      (await podsOf(h, ns, 'per-index')).find((p) => indexOf(p) === '0' && p.metadata!.name !== zero.metadata!.name),
    );
    assert.equal(retry.metadata!.annotations!['batch.kubernetes.io/job-index-failure-count'], '1');
    await finishPod(h, retry, 1);
    let job = await eventually('index 0 failed', async () => {
      const j = await getJob(h, ns, 'per-index');
      return j.status?.failedIndexes === '0' ? j : undefined;
    });
    assert.equal(condition(job, 'Failed'), undefined, 'index 1 still runs');
    await finishPod(h, first.find((p) => indexOf(p) === '1')!, 0);
    job = await eventually('Failed', async () => {
      const j = await getJob(h, ns, 'per-index');
      return condition(j, 'Failed')?.status === 'True' ? j : undefined;
    });
    assert.equal(condition(job, 'Failed')!.reason, 'FailedIndexes');
    assert.equal(condition(job, 'Failed')!.message, 'Job has failed indexes');
    assert.equal(job.status.completedIndexes, '1');
    assert.equal(job.status.failedIndexes, '0');
    assert.equal(job.status.succeeded, 1);
    assert.equal(job.status.failed, 2);
    assert.equal((await podsOf(h, ns, 'per-index')).filter((p) => indexOf(p) === '0').length, 2, 'no third try of index 0');
  });

  it('runs a burst of 300 one-pod Jobs to completion, one pod each', async () => {
    const ns = await namespace();
    const count = 300;
    // A kubelet that runs every pod to success as soon as it appears.
    const started = new Set<string>();
    const kubelet = h.cluster.client.watch(PODS, ns, {}, (type, pod) => {
      if (type !== 'ADDED' || started.has(pod.metadata!.uid!)) return;
      started.add(pod.metadata!.uid!);
      void finishPod(h, pod, 0);
    });
    try {
      await Promise.all(Array.from({ length: count }, (_, i) => h.cluster.client.create(JOBS, ns, jobSpec(`burst-${i}`, {}))));
      const jobs = await eventually(
        'every Job complete',
        async () => {
          const { items } = await h.cluster.client.list(JOBS, ns);
          return items.every((j) => condition(j, 'Complete')?.status === 'True') ? items : undefined;
        },
        3000,
      );
      assert.ok(jobs.every((j) => j.status.succeeded === 1 && j.status.failed === undefined));
      const { items: pods } = await h.cluster.client.list(PODS, ns);
      assert.equal(pods.length, count, 'one pod per Job, never more');
    } finally {
      kubelet.stop();
    }
  });

  it('with podReplacementPolicy Failed, replaces a deleted pod only once it has failed', async () => {
    const ns = await namespace();
    await h.cluster.client.create(JOBS, ns, jobSpec('patient', { podReplacementPolicy: 'Failed' }));
    const pod = await eventually('a pod', async () => (await podsOf(h, ns, 'patient'))[0]);
    await runPod(h, pod);
    await h.cluster.client.delete(PODS, ns, pod.metadata!.name!);
    let job = await eventually('one terminating pod', async () => {
      const j = await getJob(h, ns, 'patient');
      return j.status?.terminating === 1 ? j : undefined;
    });
    assert.equal(job.status.active, undefined);
    // Make sure the controller has looked since: nothing replaces the pod while it terminates.
    await h.controller.reconcile(`${ns}/patient`);
    assert.equal((await podsOf(h, ns, 'patient')).length, 1);
    await finishPod(h, pod, 137);
    job = await eventually('the failure counted and a replacement made', async () => {
      const j = await getJob(h, ns, 'patient');
      return j.status?.failed === 1 && j.status?.active === 1 ? j : undefined;
    });
    assert.equal(job.status.terminating, 0);
  });

  it('can be built again on the same shared informers', async () => {
    const again = new JobController(newControllerContext(h.client, h.informers, {}), FAST);
    await again.stop();
  });

  it('writes nothing when the world is settled', async () => {
    const ns = await namespace();
    await h.cluster.client.create(JOBS, ns, jobSpec('idle', { completions: 2, parallelism: 1 }));
    await h.cluster.client.create(JOBS, ns, jobSpec('held', { suspend: true }));
    const pod = await eventually('a running pod', async () => (await podsOf(h, ns, 'idle'))[0]);
    await runPod(h, pod);
    await eventually('settled', async () => {
      const idle = await getJob(h, ns, 'idle');
      const held = await getJob(h, ns, 'held');
      return idle.status?.ready === 1 && condition(held, 'Suspended')?.status === 'True';
    });
    // Let the informers catch up with the last writes, then reconcile every Job again.
    await new Promise((r) => setTimeout(r, 100));
    const { items } = await h.cluster.client.list(JOBS, '');
    const writes = h.client.writes;
    const attempts = h.client.attempts;
    for (const j of items) await h.controller.reconcile(`${j.metadata!.namespace}/${j.metadata!.name}`);
    assert.equal(h.client.attempts, attempts, 'no write tried');
    assert.equal(h.client.writes, writes, 'no writes');
  });

  it('takes the tracking finalizer off the pods of a deleted Job', async () => {
    const ns = await namespace();
    await h.cluster.client.create(JOBS, ns, jobSpec('orphaning', {}));
    const pod = await eventually('a pod', async () => (await podsOf(h, ns, 'orphaning'))[0]);
    // No garbage collector runs here: the Job goes at once, its pod stays, owned by nothing that exists.
    await h.cluster.client.delete(JOBS, ns, 'orphaning', { propagationPolicy: 'Background' });
    await eventually('the finalizer removed from the orphan', async () => {
      try {
        const p = await h.cluster.client.get(PODS, ns, pod.metadata!.name!);
        return !p.metadata?.finalizers?.includes(JOB_TRACKING_FINALIZER);
      } catch (err) {
        if (err instanceof ApiError && err.code === 404) return true;
        throw err;
      }
    });
  });
});

/** A client whose pod watch events arrive late, as from a slow watch. */
class SlowPodWatchClient extends CountingClient {
  override watch(ref: ResourceRef, namespace: string, opts: Parameters<CountingClient['watch']>[2], onEvent: Parameters<CountingClient['watch']>[3]) {
    if (ref.resource !== 'pods') return super.watch(ref, namespace, opts, onEvent);
    return super.watch(ref, namespace, opts, (type, obj) => void setTimeout(() => onEvent(type, obj), 300));
  }
}

describe('job controller with a slow pod watch', () => {
  let cluster: InProcessCluster;
  let informers: SharedInformers;
  let controller: JobController;

  before(async () => {
    cluster = await startInProcessCluster('job-slow-watch');
    const client = new SlowPodWatchClient(cluster.server);
    informers = new SharedInformers(client);
    controller = new JobController(newControllerContext(client, informers, {}), FAST);
    await controller.start();
  });

  after(async () => {
    await controller.stop();
    informers.stop();
    await cluster.stop();
  });

  it('never creates more pods than wanted while its informer lags behind its own creations', async () => {
    await cluster.client.create(JOBS, 'default', jobSpec('lagging', { parallelism: 3 }));
    // The Job's own status update comes back long before the pods do, and brings it back to a sync.
    await eventually('the status written', async () => (await cluster.client.get(JOBS, 'default', 'lagging')).status?.active === 3);
    for (let i = 0; i < 3; i++) await controller.reconcile('default/lagging');
    await new Promise((r) => setTimeout(r, 500));
    const { items } = await cluster.client.list(PODS, 'default', { labelSelector: 'batch.kubernetes.io/job-name=lagging' });
    assert.equal(items.length, 3);
  });
});
