import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { KubeObject } from '../api/types.js';
import { ApiError } from '../api/errors.js';
import type { ResourceRef } from '../client/interface.js';
import { SharedInformers } from '../client/shared-informers.js';
import { CountingClient, eventually, startInProcessCluster, type InProcessCluster } from '../../test/harness/in-process.js';
import { newControllerContext } from './context.js';
import { JobController } from './job/job-controller.js';
import { JOBS, PODS, rfc3339 } from './pods.js';
import { TtlAfterFinishedController } from './ttl-after-finished.js';

const NAMESPACES: ResourceRef = { group: '', version: 'v1', resource: 'namespaces' };

function job(name: string, ttl?: number): KubeObject {
  const spec: Record<string, unknown> = { template: { spec: { restartPolicy: 'Never', containers: [{ name: 'c', image: 'busybox' }] } } };
  if (ttl !== undefined) spec.ttlSecondsAfterFinished = ttl;
  return { apiVersion: 'batch/v1', kind: 'Job', metadata: { name }, spec };
}

describe('ttl-after-finished controller', () => {
  let cluster: InProcessCluster;
  let client: CountingClient;
  let informers: SharedInformers;
  let ttl: TtlAfterFinishedController;
  const skew = { ms: 0 };
  const ns = 'ttl';

  /** Marks a Job finished as the Job controller would, `agoMs` before now. */
  async function finish(name: string, type: 'Complete' | 'Failed', agoMs: number): Promise<void> {
    const at = rfc3339(Date.now() - agoMs);
    const j = await cluster.client.get(JOBS, ns, name);
    const status: Record<string, unknown> = { startTime: at, conditions: [{ type, status: 'True', lastProbeTime: at, lastTransitionTime: at }] };
    if (type === 'Complete') Object.assign(status, { completionTime: at, succeeded: 1 });
    else Object.assign(status, { failed: 1 });
    await cluster.client.update(JOBS, ns, { ...j, status }, { subresource: 'status' });
  }

  async function tryGet(name: string): Promise<KubeObject | undefined> {
    try {
      return await cluster.client.get(JOBS, ns, name);
    } catch (err) {
      if (err instanceof ApiError && err.code === 404) return undefined;
      throw err;
    }
  }

  before(async () => {
    cluster = await startInProcessCluster('ttl');
    client = new CountingClient(cluster.server);
    informers = new SharedInformers(client);
    const ctx = newControllerContext(client, informers, { now: () => Date.now() + skew.ms });
    ttl = new TtlAfterFinishedController(ctx, { retryBaseDelayMs: 5, retryMaxDelayMs: 100 });
    await ttl.start();
    await cluster.client.create(NAMESPACES, '', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } });
  });

  after(async () => {
    await ttl.stop();
    informers.stop();
    await cluster.stop();
  });

  it('deletes a finished Job whose TTL has passed, in the foreground', async () => {
    await cluster.client.create(JOBS, ns, job('done', 10));
    await finish('done', 'Complete', 11_000);
    const deleting = await eventually('the Job being deleted', async () => {
      const j = await tryGet('done');
      return j?.metadata?.deletionTimestamp ? j : undefined;
    });
    // No garbage collector runs here, so the foreground finalizer it would act on stays.
    assert.deepEqual(deleting.metadata?.finalizers, ['foregroundDeletion']);
  });

  it('deletes failed Jobs too, and a TTL of 0 at once', async () => {
    await cluster.client.create(JOBS, ns, job('broke', 0));
    await finish('broke', 'Failed', 0);
    await eventually('the failed Job being deleted', async () => (await tryGet('broke'))?.metadata?.deletionTimestamp);
  });

  it('waits for the TTL, and comes back by itself at the moment it runs out', async () => {
    await cluster.client.create(JOBS, ns, job('soon', 2));
    // Finished now (to the second) with a 2 s TTL: due in 1 to 2 s, with no event to bring it back.
    await finish('soon', 'Complete', 0);
    await ttl.reconcile(`${ns}/soon`);
    assert.equal((await tryGet('soon'))?.metadata?.deletionTimestamp, undefined, 'not due yet');
    await eventually('the Job deleted once due', async () => (await tryGet('soon'))?.metadata?.deletionTimestamp);
  });

  it('leaves alone Jobs not due, unfinished, or without a TTL', async () => {
    await cluster.client.create(JOBS, ns, job('later', 3600));
    await finish('later', 'Complete', 0);
    await cluster.client.create(JOBS, ns, job('running', 0));
    await cluster.client.create(JOBS, ns, job('forever'));
    await finish('forever', 'Complete', 0);
    const attempts = client.attempts;
    for (const name of ['later', 'running', 'forever']) await ttl.reconcile(`${ns}/${name}`);
    for (const name of ['later', 'running', 'forever']) assert.equal((await tryGet(name))?.metadata?.deletionTimestamp, undefined, name);
    assert.equal(client.attempts, attempts, 'no writes');
    // An hour later, the first is due.
    skew.ms = 3601_000;
    try {
      await eventually('synced', async () => (await ttl.reconcile(`${ns}/later`), (await tryGet('later'))?.metadata?.deletionTimestamp));
    } finally {
      skew.ms = 0;
    }
    assert.equal((await tryGet('forever'))?.metadata?.deletionTimestamp, undefined);
  });

  it('deletes a Job the Job controller completed', async () => {
    const jc = new JobController(newControllerContext(client, informers, {}), { syncBatchPeriodMs: 5, retryBaseDelayMs: 5 });
    await jc.start();
    try {
      await cluster.client.create(JOBS, ns, job('ran', 0));
      const pod = await eventually('its pod', async () => (await cluster.client.list(PODS, ns, { labelSelector: 'batch.kubernetes.io/job-name=ran' })).items[0]);
      const t = rfc3339(Date.now());
      await cluster.client.patch(
        PODS,
        ns,
        pod.metadata!.name!,
        'application/merge-patch+json',
        { status: { phase: 'Succeeded', containerStatuses: [{ name: 'c', image: 'busybox', imageID: '', ready: false, restartCount: 0, state: { terminated: { exitCode: 0, startedAt: t, finishedAt: t } } }] } },
        { subresource: 'status' },
      );
      await eventually('the completed Job being deleted', async () => (await tryGet('ran'))?.metadata?.deletionTimestamp);
    } finally {
      await jc.stop();
    }
  });
});
