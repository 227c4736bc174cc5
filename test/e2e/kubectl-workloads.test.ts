/**
 * Workloads with the real kubectl against `skiff up --simulated-nodes 3`: what a user sees of
 * Deployments (rollout status/history/undo/pause/resume/restart, scale, cascading deletion), Jobs,
 * CronJobs, DaemonSets, StatefulSets, the scheduler's FailedScheduling story, and a node that dies.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { e2eBackends, kubectl, kubectlStream, startSkiffAgent, type AgentProcess } from '../harness/skiff.js';
import { kubectlSuite, poll } from './kubectl-helpers.js';


const json = (o: unknown) => JSON.stringify(o);

for (const backend of e2eBackends()) {
  describe(`kubectl workloads on ${backend}`, () => {
    const agents: AgentProcess[] = [];
    after(async () => {
      for (const a of agents) await a.stop();
    });
    const { server, k, kIn, getJson, newNamespace } = kubectlSuite(backend, [
      '--simulated-nodes',
      '3',
      '--sim-heartbeat-interval',
      '1s',
      '--node-monitor-grace-period',
      '5s',
    ]);
    const ns = 'work';
    const podsOf = async (selector: string) => (await getJson('pods', '-n', ns, '-l', selector)).items as any[];

    before(async () => {
      await newNamespace(ns);
      // Created first: a CronJob fires at the next whole minute, so it runs while the rest does.
      await kIn(
        json({
          apiVersion: 'batch/v1',
          kind: 'CronJob',
          metadata: { name: 'tick', namespace: ns },
          spec: { schedule: '* * * * *', jobTemplate: { spec: { template: { spec: { restartPolicy: 'Never', containers: [{ name: 'c', image: 'busybox' }] } } } } },
        }),
        'create',
        '-f',
        '-',
      );
    });

    it('a Deployment rolls out, updates, rolls back, pauses, resumes, restarts and scales as kubectl expects', async () => {
      assert.equal(await k('create', 'deployment', 'web', '-n', ns, '--image=nginx:1.25', '--replicas=3'), 'deployment.apps/web created\n');
      assert.match(await k('rollout', 'status', 'deployment/web', '-n', ns, '--timeout=60s'), /deployment "web" successfully rolled out\n$/);
      const d1 = await getJson('deployment', 'web', '-n', ns);
      assert.deepEqual(
        [d1.status.replicas, d1.status.updatedReplicas, d1.status.readyReplicas, d1.status.availableReplicas],
        [3, 3, 3, 3],
      );
      assert.equal(d1.metadata.annotations['deployment.kubernetes.io/revision'], '1');
      const pods = await podsOf('app=web');
      assert.equal(pods.length, 3);
      for (const p of pods) {
        assert.equal(p.status.phase, 'Running');
        assert.match(p.spec.nodeName, /^sim-\d$/);
        assert.ok(p.status.podIP, 'a running pod has an IP');
      }

      assert.equal(await k('set', 'image', 'deployment/web', '-n', ns, 'nginx=nginx:1.26'), 'deployment.apps/web image updated\n');
      assert.match(await k('rollout', 'status', 'deployment/web', '-n', ns, '--timeout=60s'), /successfully rolled out\n$/);
      const history = await k('rollout', 'history', 'deployment/web', '-n', ns);
      assert.match(history, /^deployment\.apps\/web \nREVISION\s+CHANGE-CAUSE\n1\s+<none>\n2\s+<none>\n/);
      const rsList = (await getJson('rs', '-n', ns, '-l', 'app=web')).items as any[];
      assert.equal(rsList.length, 2);
      assert.deepEqual(rsList.map((r) => r.spec.replicas).sort(), [0, 3]);

      assert.equal(await k('rollout', 'undo', 'deployment/web', '-n', ns), 'deployment.apps/web rolled back\n');
      assert.match(await k('rollout', 'status', 'deployment/web', '-n', ns, '--timeout=60s'), /successfully rolled out\n$/);
      const d2 = await getJson('deployment', 'web', '-n', ns);
      assert.equal(d2.spec.template.spec.containers[0].image, 'nginx:1.25');
      assert.equal(d2.metadata.annotations['deployment.kubernetes.io/revision'], '3');
      assert.match(await k('rollout', 'history', 'deployment/web', '-n', ns), /\n2\s+<none>\n3\s+<none>\n/);

      assert.equal(await k('rollout', 'pause', 'deployment/web', '-n', ns), 'deployment.apps/web paused\n');
      await k('set', 'image', 'deployment/web', '-n', ns, 'nginx=nginx:1.27');
      const paused = await poll('the Progressing condition to say DeploymentPaused', async () => {
        const d = await getJson('deployment', 'web', '-n', ns);
        return d.status.conditions?.find((c: any) => c.type === 'Progressing')?.reason === 'DeploymentPaused' ? d : undefined;
      });
      assert.equal((await getJson('rs', '-n', ns, '-l', 'app=web')).items.length, 2, 'no new ReplicaSet while paused');
      assert.equal(paused.spec.paused, true);
      assert.equal(await k('rollout', 'resume', 'deployment/web', '-n', ns), 'deployment.apps/web resumed\n');
      assert.match(await k('rollout', 'status', 'deployment/web', '-n', ns, '--timeout=60s'), /successfully rolled out\n$/);
      assert.equal(await k('rollout', 'restart', 'deployment/web', '-n', ns), 'deployment.apps/web restarted\n');
      assert.match(await k('rollout', 'status', 'deployment/web', '-n', ns, '--timeout=60s'), /successfully rolled out\n$/);

      assert.equal(await k('scale', 'deployment/web', '-n', ns, '--replicas=5'), 'deployment.apps/web scaled\n');
      await poll('5 available replicas', async () => (await getJson('deployment', 'web', '-n', ns)).status.availableReplicas === 5);
      const describe = await k('describe', 'deployment', 'web', '-n', ns);
      assert.match(describe, /Replicas:\s+5 desired \| 5 updated \| 5 total \| 5 available \| 0 unavailable/);
      // The first event of the story (later ones may be cut by the per-object spam filter, as upstream's).
      assert.match(describe, /Normal\s+ScalingReplicaSet\s+.*deployment-controller\s+Scaled up replica set web-[a-z0-9]+ to 3\n/);
      assert.match(describe, /Progressing\s+True\s+NewReplicaSetAvailable/);

      // Background deletion: the garbage collector removes the ReplicaSets and their pods.
      assert.equal(await k('delete', 'deployment', 'web', '-n', ns), 'deployment.apps "web" deleted\n');
      await poll('ReplicaSets and pods of web gone', async () => (await getJson('rs,pods', '-n', ns, '-l', 'app=web')).items.length === 0);
    });

    it('foreground deletion keeps the Deployment until its ReplicaSets and pods are gone', async () => {
      await k('create', 'deployment', 'fg', '-n', ns, '--image=nginx', '--replicas=2');
      await k('rollout', 'status', 'deployment/fg', '-n', ns, '--timeout=60s');
      await k('delete', 'deployment', 'fg', '-n', ns, '--cascade=foreground', '--wait=false');
      const held = await getJson('deployment', 'fg', '-n', ns).catch(() => undefined);
      if (held) assert.deepEqual(held.metadata.finalizers, ['foregroundDeletion']);
      await poll('fg gone with everything it owned', async () => {
        const r = await kubectl(server(), ['get', 'deployment', 'fg', '-n', ns]);
        return r.code !== 0 && (await getJson('rs,pods', '-n', ns, '-l', 'app=fg')).items.length === 0;
      });
    });

    it('a Job with completions 5 and parallelism 2 completes; a failing Job hits its backoffLimit', async () => {
      const job = (name: string, spec: object, podAnnotations: Record<string, string> = {}) =>
        json({
          apiVersion: 'batch/v1',
          kind: 'Job',
          metadata: { name, namespace: ns },
          spec: { ...spec, template: { metadata: { annotations: podAnnotations }, spec: { restartPolicy: 'Never', containers: [{ name: 'c', image: 'busybox', command: ['sh', '-c', 'true'] }] } } },
        });
      await kIn(job('five', { completions: 5, parallelism: 2 }), 'create', '-f', '-');
      await kIn(job('broken', { backoffLimit: 1 }, { 'skiff.dev/simulated-exit-code': '1' }), 'create', '-f', '-');
      let maxActive = 0;
      const done = await poll('job five to complete', async () => {
        const j = await getJson('job', 'five', '-n', ns);
        maxActive = Math.max(maxActive, j.status.active ?? 0);
        return j.status.conditions?.some((c: any) => c.type === 'Complete' && c.status === 'True') ? j : undefined;
      });
      assert.ok(maxActive <= 2, `at most 2 pods active at once, saw ${maxActive}`);
      assert.equal(done.status.succeeded, 5);
      assert.match(await k('wait', '--for=condition=complete', 'job/five', '-n', ns, '--timeout=5s'), /job.batch\/five condition met/);
      const describe = await k('describe', 'job', 'five', '-n', ns);
      assert.match(describe, /Pods Statuses:\s+0 Active \(0 Ready\) \/ 5 Succeeded \/ 0 Failed/);
      assert.match(describe, /Normal\s+Completed\s+.*job-controller\s+Job completed/);

      // backoffLimit 1: one retry after 10 s, then the Job fails.
      const failed = await poll(
        'job broken to fail',
        async () => {
          const j = await getJson('job', 'broken', '-n', ns);
          return j.status.conditions?.find((c: any) => c.type === 'Failed' && c.status === 'True') ? j : undefined;
        },
        90_000,
      );
      const cond = failed.status.conditions.find((c: any) => c.type === 'Failed');
      assert.equal(cond.reason, 'BackoffLimitExceeded');
      assert.equal(cond.message, 'Job has reached the specified backoff limit');
      assert.equal(failed.status.failed, 2);
    });

    it('a DaemonSet lands one pod per node and respects taints', async () => {
      assert.equal(await k('taint', 'nodes', 'sim-2', 'dedicated=infra:NoSchedule'), 'node/sim-2 tainted\n');
      await kIn(
        json({
          apiVersion: 'apps/v1',
          kind: 'DaemonSet',
          metadata: { name: 'agent', namespace: ns },
          spec: { selector: { matchLabels: { app: 'agent' } }, template: { metadata: { labels: { app: 'agent' } }, spec: { containers: [{ name: 'a', image: 'busybox' }] } } },
        }),
        'create',
        '-f',
        '-',
      );
      assert.match(await k('rollout', 'status', 'ds/agent', '-n', ns, '--timeout=60s'), /daemon set "agent" successfully rolled out\n$/);
      const nodes = (await podsOf('app=agent')).map((p) => p.spec.nodeName).sort();
      assert.deepEqual(nodes, ['sim-0', 'sim-1']);
      assert.equal(await k('taint', 'nodes', 'sim-2', 'dedicated-'), 'node/sim-2 untainted\n');
      await poll('a pod on sim-2 once it is untainted', async () => (await podsOf('app=agent')).some((p) => p.spec.nodeName === 'sim-2' && p.status.phase === 'Running'));
      const ds = await getJson('ds', 'agent', '-n', ns);
      assert.equal(ds.status.desiredNumberScheduled, 3);
    });

    it('a StatefulSet creates its pods in order, each after the one before is ready', async () => {
      const watch = kubectlStream(server(), ['get', 'pods', '-n', ns, '-l', 'app=db', '-w', '--no-headers']);
      try {
        await kIn(
          json({
            apiVersion: 'apps/v1',
            kind: 'StatefulSet',
            metadata: { name: 'db', namespace: ns },
            spec: {
              serviceName: 'db',
              replicas: 3,
              selector: { matchLabels: { app: 'db' } },
              template: { metadata: { labels: { app: 'db' } }, spec: { containers: [{ name: 'db', image: 'postgres' }] } },
            },
          }),
          'create',
          '-f',
          '-',
        );
        assert.match(await k('rollout', 'status', 'sts/db', '-n', ns, '--timeout=60s'), /partitioned roll out complete: 3 new pods have been updated...\n$/);
        await watch.waitFor(/^db-2\s+1\/1\s+Running/m);
        const lines = watch.output().split('\n');
        const first = (re: RegExp) => lines.findIndex((l) => re.test(l));
        assert.ok(first(/^db-0\s+1\/1\s+Running/) < first(/^db-1\s/), `db-1 appears only after db-0 is ready:\n${watch.output()}`);
        assert.ok(first(/^db-1\s+1\/1\s+Running/) < first(/^db-2\s/), `db-2 appears only after db-1 is ready:\n${watch.output()}`);
        const p0 = await getJson('pod', 'db-0', '-n', ns);
        assert.equal(p0.spec.hostname, 'db-0');
        assert.equal(p0.spec.subdomain, 'db');
      } finally {
        await watch.stop();
      }
    });

    it('an unschedulable pod says why, and schedules once a node that fits joins', async () => {
      await kIn(
        json({
          apiVersion: 'v1',
          kind: 'Pod',
          metadata: { name: 'huge', namespace: ns },
          spec: { containers: [{ name: 'c', image: 'busybox', resources: { requests: { cpu: '64' } } }] },
        }),
        'create',
        '-f',
        '-',
      );
      const described = await poll('FailedScheduling in describe', async () => {
        const d = await k('describe', 'pod', 'huge', '-n', ns);
        return /FailedScheduling/.test(d) ? d : undefined;
      });
      assert.match(described, /Warning\s+FailedScheduling\s+.*default-scheduler\s+0\/3 nodes are available: 3 Insufficient cpu\./);
      const pending = await getJson('pod', 'huge', '-n', ns);
      const cond = pending.status.conditions.find((c: any) => c.type === 'PodScheduled');
      assert.deepEqual([cond.status, cond.reason], ['False', 'Unschedulable']);

      agents.push(await startSkiffAgent(server(), ['--simulated', '--nodes', '1', '--sim-name-prefix', 'big-', '--sim-node-cpu', '96', '--sim-heartbeat-interval', '1s']));
      const running = await poll('huge running on big-0', async () => {
        const p = await getJson('pod', 'huge', '-n', ns);
        return p.status.phase === 'Running' ? p : undefined;
      });
      assert.equal(running.spec.nodeName, 'big-0');
      assert.match(await k('describe', 'pod', 'huge', '-n', ns), /Normal\s+Scheduled\s+.*default-scheduler\s+Successfully assigned work\/huge to big-0/);
    });

    it('a node that stops renewing its Lease turns NotReady, is tainted unreachable, and its pods are evicted', async () => {
      const flaky = await startSkiffAgent(server(), ['--simulated', '--nodes', '1', '--sim-name-prefix', 'flaky-', '--sim-heartbeat-interval', '1s']);
      agents.push(flaky);
      const tolerate = (key: string, tolerationSeconds: number) => ({ key, operator: 'Exists', effect: 'NoExecute', tolerationSeconds });
      await kIn(
        json({
          apiVersion: 'v1',
          kind: 'Pod',
          metadata: { name: 'stranded', namespace: ns },
          spec: {
            nodeName: 'flaky-0',
            tolerations: [tolerate('node.kubernetes.io/unreachable', 2), tolerate('node.kubernetes.io/not-ready', 2)],
            containers: [{ name: 'c', image: 'busybox' }],
          },
        }),
        'create',
        '-f',
        '-',
      );
      await poll('stranded running', async () => (await getJson('pod', 'stranded', '-n', ns)).status.phase === 'Running');
      await flaky.kill();
      await poll('flaky-0 NotReady', async () => /^flaky-0\s+NotReady\s/m.test(await k('get', 'node', 'flaky-0', '--no-headers')));
      // The NoSchedule taint comes with the condition; the NoExecute one through the eviction rate limiter.
      const node = await poll('the unreachable NoExecute taint', async () => {
        const n = await getJson('node', 'flaky-0');
        return n.spec.taints?.some((t: any) => t.key === 'node.kubernetes.io/unreachable' && t.effect === 'NoExecute') ? n : undefined;
      });
      assert.equal(node.status.conditions.find((c: any) => c.type === 'Ready').status, 'Unknown');
      const evicted = await poll('stranded evicted', async () => {
        const p = await getJson('pod', 'stranded', '-n', ns);
        return p.metadata.deletionTimestamp ? p : undefined;
      });
      const target = evicted.status.conditions.find((c: any) => c.type === 'DisruptionTarget');
      assert.deepEqual([target?.status, target?.reason], ['True', 'DeletionByTaintManager']);
    });

    it('a CronJob fires on its schedule', async () => {
      const job = await poll(
        'a Job created by the CronJob',
        async () => ((await getJson('jobs', '-n', ns)).items as any[]).find((j) => j.metadata.ownerReferences?.[0]?.name === 'tick'),
        75_000,
      );
      assert.match(job.metadata.name, /^tick-\d+$/);
      await poll('the CronJob records its last schedule', async () => (await getJson('cronjob', 'tick', '-n', ns)).status?.lastScheduleTime);
      assert.match(await k('get', 'cronjob', 'tick', '-n', ns), /^tick\s+\* \* \* \* \*\s+<none>\s+False\s+\d+\s+\S+\s+\S+$/m);
    });
  });
}
