/**
 * Test support for the Deployment controller's tests: an in-process cluster running the ReplicaSet
 * and Deployment controllers on shared informers, and a simulated kubelet that binds pods, marks
 * them Running and Ready (unless their image is "broken"), and finishes graceful deletions (unless
 * held). Not used outside tests.
 */
import assert from 'node:assert/strict';
import type { KubeObject } from '../../api/types.js';
import type { ApiServer } from '../../apiserver/server.js';
import type { Client, ResourceRef, WatchHandle } from '../../client/interface.js';
import { SharedInformers } from '../../client/shared-informers.js';
import { CountingClient, eventually, startInProcessCluster, type InProcessCluster } from '../../../test/harness/in-process.js';
import { newControllerContext, type ControllerContext } from '../context.js';
import { DEPLOYMENTS, PODS, REPLICA_SETS, rfc3339 } from '../pods.js';
import { ReplicaSetController } from '../replicaset.js';
import { DeploymentController } from './controller.js';

const NAMESPACES: ResourceRef = { group: '', version: 'v1', resource: 'namespaces' };

export const BROKEN_IMAGE = 'registry.invalid/broken:never';

/** What the kubelets of a cluster would do to its pods, just enough for rollouts. */
export class SimulatedKubelet {
  /** While set, pods being deleted stay until release(). */
  holdTerminating = false;
  private watch: WatchHandle | undefined;
  private readonly inFlight = new Set<Promise<void>>();

  constructor(private readonly client: Client) {}

  start(): void {
    this.watch = this.client.watch(PODS, '', {}, (type, pod) => {
      if (type !== 'ADDED' && type !== 'MODIFIED') return;
      const p = this.handle(pod).catch(() => undefined);
      this.inFlight.add(p);
      void p.finally(() => this.inFlight.delete(p));
    });
  }

  async stop(): Promise<void> {
    this.watch?.stop();
    await Promise.all(this.inFlight);
  }

  /** Finishes every graceful deletion held so far. */
  async release(): Promise<void> {
    this.holdTerminating = false;
    for (const pod of (await this.client.list(PODS, '')).items) {
      if (pod.metadata?.deletionTimestamp) await this.finish(pod).catch(() => undefined);
    }
  }

  private async finish(pod: KubeObject): Promise<void> {
    await this.client.delete(PODS, pod.metadata!.namespace!, pod.metadata!.name!, { gracePeriodSeconds: 0, preconditions: { uid: pod.metadata!.uid } });
  }

  private async handle(pod: KubeObject): Promise<void> {
    const m = pod.metadata!;
    if (m.deletionTimestamp) {
      if (!this.holdTerminating) await this.finish(pod);
      return;
    }
    if (!pod.spec?.nodeName) {
      await this.client.create(PODS, m.namespace!, { apiVersion: 'v1', kind: 'Binding', metadata: { name: m.name }, target: { kind: 'Node', name: 'node-1' } }, { subresource: 'binding' });
      return;
    }
    const broken = ((pod.spec?.containers ?? []) as { image?: string }[]).some((c) => c.image === BROKEN_IMAGE);
    if (broken || pod.status?.phase === 'Running') return;
    await this.client.patch(
      PODS,
      m.namespace!,
      m.name!,
      'application/merge-patch+json',
      { status: { phase: 'Running', podIP: '10.1.0.1', conditions: [{ type: 'Ready', status: 'True', lastTransitionTime: rfc3339(Date.now()) }] } },
      { subresource: 'status' },
    );
  }
}

export interface DeploymentFixture {
  cluster: InProcessCluster;
  server: ApiServer;
  /** A plain client, for the test's own reads and writes. */
  client: Client;
  /** The controllers' client: it counts their writes. */
  counting: CountingClient;
  informers: SharedInformers;
  ctx: ControllerContext;
  replicaSetController: ReplicaSetController;
  deploymentController: DeploymentController;
  kubelet: SimulatedKubelet;
  stop(): Promise<void>;
}

export async function startDeploymentFixture(name: string): Promise<DeploymentFixture> {
  const cluster = await startInProcessCluster(name);
  const { server, client } = cluster;
  const counting = new CountingClient(server);
  const informers = new SharedInformers(counting);
  const ctx = newControllerContext(counting, informers);
  const retry = { retryBaseDelayMs: 5, retryMaxDelayMs: 200 };
  const replicaSetController = new ReplicaSetController(ctx, { ...retry, workers: 2 });
  const deploymentController = new DeploymentController(ctx, { ...retry, workers: 2 });
  const kubelet = new SimulatedKubelet(client);
  kubelet.start();
  await Promise.all([replicaSetController.start(), deploymentController.start()]);
  return {
    cluster,
    server,
    client,
    counting,
    informers,
    ctx,
    replicaSetController,
    deploymentController,
    kubelet,
    async stop() {
      await deploymentController.stop();
      await replicaSetController.stop();
      informers.stop();
      await kubelet.stop();
      await ctx.recorder('deployment-controller').flush();
      await ctx.recorder('replicaset-controller').flush();
      await cluster.stop();
    },
  };
}

export async function createNamespace(client: Client, name: string): Promise<string> {
  await client.create(NAMESPACES, '', { apiVersion: 'v1', kind: 'Namespace', metadata: { name } });
  return name;
}

export interface DeploymentOptions {
  replicas?: number;
  image?: string;
  strategy?: Record<string, unknown>;
  annotations?: Record<string, string>;
  spec?: Record<string, unknown>;
}

export function deploymentObject(name: string, o: DeploymentOptions = {}): KubeObject {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, annotations: o.annotations },
    spec: {
      replicas: o.replicas ?? 3,
      selector: { matchLabels: { app: name } },
      template: { metadata: { labels: { app: name } }, spec: { containers: [{ name: 'main', image: o.image ?? 'nginx:1.25' }] } },
      ...(o.strategy ? { strategy: o.strategy } : {}),
      ...o.spec,
    },
  };
}

/** The Deployment's ReplicaSets (by controller reference), oldest revision first. */
export async function replicaSetsOf(client: Client, d: KubeObject): Promise<KubeObject[]> {
  const items = (await client.list(REPLICA_SETS, d.metadata!.namespace!)).items.filter((rs) => rs.metadata?.ownerReferences?.some((r) => r.controller && r.uid === d.metadata!.uid));
  return items.sort((a, b) => Number(a.metadata?.annotations?.['deployment.kubernetes.io/revision'] ?? 0) - Number(b.metadata?.annotations?.['deployment.kubernetes.io/revision'] ?? 0));
}

/** Polls the Deployment until `want` holds. */
export function deploymentWhen(client: Client, ns: string, name: string, what: string, want: (d: KubeObject) => boolean, attempts = 1500): Promise<KubeObject> {
  return eventually(
    `${ns}/${name}: ${what}`,
    async () => {
      const d = await client.get(DEPLOYMENTS, ns, name);
      return want(d) ? d : undefined;
    },
    attempts,
  );
}

/** What `kubectl rollout status` waits for (rollout_status.go): the rollout observed, updated, old pods gone, all available. */
export function rolledOut(d: KubeObject): boolean {
  const s = d.status ?? {};
  const want = d.spec?.replicas ?? 1;
  if ((d.metadata?.generation ?? 0) > (s.observedGeneration ?? 0)) return false;
  const progressing = (s.conditions ?? []).find((c: { type: string }) => c.type === 'Progressing');
  if (progressing?.reason === 'ProgressDeadlineExceeded') return false;
  return (s.updatedReplicas ?? 0) >= want && (s.replicas ?? 0) <= (s.updatedReplicas ?? 0) && (s.availableReplicas ?? 0) >= (s.updatedReplicas ?? 0);
}

export function condition(d: KubeObject, type: string): { type: string; status: string; reason?: string; message?: string; lastUpdateTime?: string; lastTransitionTime?: string } | undefined {
  return (d.status?.conditions ?? []).find((c: { type: string }) => c.type === type);
}

/** Sets the image of the Deployment's first container (what `kubectl set image` does). */
export async function setImage(client: Client, ns: string, name: string, image: string, annotations?: Record<string, string>): Promise<KubeObject> {
  const d = await client.get(DEPLOYMENTS, ns, name);
  d.spec.template.spec.containers[0].image = image;
  if (annotations) d.metadata!.annotations = { ...d.metadata!.annotations, ...annotations };
  return client.update(DEPLOYMENTS, ns, d);
}

/** The events of the Deployment controller about `name`, oldest first. */
export async function deploymentEvents(fx: DeploymentFixture, ns: string, name: string): Promise<KubeObject[]> {
  await fx.ctx.recorder('deployment-controller').flush();
  const items = (await fx.client.list({ group: '', version: 'v1', resource: 'events' }, ns)).items;
  return items.filter((e) => e.involvedObject?.name === name && e.source?.component === 'deployment-controller');
}

/** Asserts `messages` contains each of `wanted` (in any order). */
export function assertIncludes(messages: string[], wanted: string[]): void {
  for (const w of wanted) assert.ok(messages.includes(w), `missing ${JSON.stringify(w)} in ${JSON.stringify(messages)}`);
}
