/**
 * A micro benchmark of the scheduler, with everything in one process: a SQLite store, the API
 * server, the in-process client, shared informers, the controllers `skiff up` runs beside the API
 * server (namespaces, garbage collector, service accounts) and the scheduler. It creates N nodes, starts the
 * scheduler, then creates M pending pods (a burst, `createConcurrency` creates in flight) and
 * waits until a watch has seen every pod bound. It reports pods/s over the burst (first create to
 * last bind) and the p50 / p99 of each pod's time from its create call to its bind being seen.
 *
 *   node dist/bench/scheduler.js [--nodes 100] [--pods 1080] [--precreate] [--bind-concurrency 32] [--no-controllers]
 *
 * `--precreate` creates every pod before the scheduler starts (the scheduler alone is measured:
 * pods/s from its start to the last bind; latencies then count from the scheduler's start).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import type { KubeObject } from '../src/api/types.js';
import { ApiServer } from '../src/apiserver/server.js';
import { InProcessClient } from '../src/client/in-process.js';
import { SharedInformers } from '../src/client/shared-informers.js';
import { ensureSystemNamespaces } from '../src/controllers/bootstrap.js';
import { newControllerContext } from '../src/controllers/context.js';
import { GarbageCollector } from '../src/controllers/garbage-collector.js';
import { NamespaceController } from '../src/controllers/namespace.js';
import { ServiceAccountController } from '../src/controllers/serviceaccount.js';
import { NODES, PODS } from '../src/controllers/pods.js';
import { Scheduler, type SchedulerOptions } from '../src/scheduler/scheduler.js';
import { openSqliteStore } from '../src/storage/sqlite.js';

export interface BenchSchedulerOptions {
  nodes: number;
  pods: number;
  nodeCpu?: string;
  nodeMemory?: string;
  nodePods?: number;
  podCpu?: string;
  podMemory?: string;
  /** Pod creates in flight at once during the burst (default 64). */
  createConcurrency?: number;
  /** Create every pod before starting the scheduler. */
  precreate?: boolean;
  /** Also run the controllers `skiff up` runs beside the API server (default true). */
  controllers?: boolean;
  namespace?: string;
  scheduler?: SchedulerOptions;
  /** Give up after this long (default 10 minutes). */
  timeoutMs?: number;
  log?: (m: string) => void;
}

export interface BenchSchedulerResult {
  nodes: number;
  pods: number;
  bound: number;
  mode: 'burst' | 'precreate';
  seconds: number;
  podsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  /** Sum of cpu requests bound to the fullest node, in millicores, and its allocatable. */
  fullestNodeMilliCPU: number;
  nodeAllocatableMilliCPU: number;
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

async function inBatches<T>(items: T[], concurrency: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await fn(items[next++]);
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, worker));
}

function milli(cpu: string): number {
  return cpu.endsWith('m') ? Number(cpu.slice(0, -1)) : Number(cpu) * 1000;
}

export async function benchScheduler(opts: BenchSchedulerOptions): Promise<BenchSchedulerResult> {
  const say = opts.log ?? (() => undefined);
  const ns = opts.namespace ?? 'default';
  const nodeCpu = opts.nodeCpu ?? '8';
  const podCpu = opts.podCpu ?? '500m';
  const dir = await mkdtemp(join(tmpdir(), 'skiff-bench-scheduler-'));
  const store = await openSqliteStore(join(dir, 'state.db'));
  const server = new ApiServer({ store });
  await server.start();
  const client = new InProcessClient(server);
  await ensureSystemNamespaces(client);
  const informers = new SharedInformers(client);
  const ctx = newControllerContext(client, informers);
  const scheduler = new Scheduler(ctx, opts.scheduler);
  const withControllers = opts.controllers ?? true;
  const namespaces = new NamespaceController(client);
  const gc = new GarbageCollector(client);
  const serviceAccounts = new ServiceAccountController(client);
  let watch: { stop(): void } | undefined;
  try {
    if (withControllers) {
      namespaces.start();
      await Promise.all([gc.start(), serviceAccounts.start()]);
    }
    const nodeNames = Array.from({ length: opts.nodes }, (_, i) => `node-${String(i).padStart(5, '0')}`);
    const t0 = performance.now();
    await inBatches(nodeNames, 64, async (name) => {
      await client.create(NODES, '', {
        apiVersion: 'v1',
        kind: 'Node',
        metadata: { name, labels: { 'kubernetes.io/hostname': name, 'topology.kubernetes.io/zone': `zone-${name.charCodeAt(name.length - 1) % 3}` } },
        status: {
          capacity: { cpu: nodeCpu, memory: opts.nodeMemory ?? '32Gi', pods: String(opts.nodePods ?? 110) },
          allocatable: { cpu: nodeCpu, memory: opts.nodeMemory ?? '32Gi', pods: String(opts.nodePods ?? 110) },
          conditions: [{ type: 'Ready', status: 'True', reason: 'KubeletReady', message: 'kubelet is posting ready status' }],
        },
      });
    });
    say(`${opts.nodes} nodes created in ${Math.round(performance.now() - t0)} ms`);

    const podNames = Array.from({ length: opts.pods }, (_, i) => `bench-${i}`);
    const createdAt = new Map<string, number>();
    const boundAt = new Map<string, number>();
    const perNode = new Map<string, number>();
    let allBound!: () => void;
    const done = new Promise<void>((resolve) => (allBound = resolve));
    const list = await client.list(PODS, ns);
    watch = client.watch(PODS, ns, { resourceVersion: list.resourceVersion }, (type, obj: KubeObject) => {
      if (type !== 'MODIFIED' && type !== 'ADDED') return;
      const name = obj.metadata?.name ?? '';
      const node = obj.spec?.nodeName;
      if (!node || boundAt.has(name) || !name.startsWith('bench-')) return;
      boundAt.set(name, performance.now());
      perNode.set(node, (perNode.get(node) ?? 0) + milli(podCpu));
      if (boundAt.size === opts.pods) allBound();
    });
    const pod = (name: string): KubeObject => ({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name, namespace: ns, labels: { app: 'bench' } },
      spec: { containers: [{ name: 'c', image: 'registry.k8s.io/pause:3.9', resources: { requests: { cpu: podCpu, memory: opts.podMemory ?? '1Gi' } } }] },
    });
    const create = async (name: string) => {
      createdAt.set(name, performance.now());
      await client.create(PODS, ns, pod(name));
    };

    let start: number;
    if (opts.precreate) {
      await inBatches(podNames, opts.createConcurrency ?? 64, create);
      say(`${opts.pods} pods created`);
      start = performance.now();
      for (const n of podNames) createdAt.set(n, start);
      await scheduler.start();
    } else {
      await scheduler.start();
      start = performance.now();
      await inBatches(podNames, opts.createConcurrency ?? 64, create);
      say(`${opts.pods} pods created in ${Math.round(performance.now() - start)} ms`);
    }
    const timeout = new Promise<void>((resolve) => setTimeout(resolve, opts.timeoutMs ?? 600_000).unref());
    await Promise.race([done, timeout]);
    const end = Math.max(...boundAt.values(), start);
    const latencies = podNames.filter((n) => boundAt.has(n)).map((n) => boundAt.get(n)! - createdAt.get(n)!).sort((a, b) => a - b);
    const seconds = (end - start) / 1000;
    return {
      nodes: opts.nodes,
      pods: opts.pods,
      bound: boundAt.size,
      mode: opts.precreate ? 'precreate' : 'burst',
      seconds: Math.round(seconds * 1000) / 1000,
      podsPerSecond: Math.round(boundAt.size / seconds),
      p50Ms: Math.round(percentile(latencies, 50)),
      p99Ms: Math.round(percentile(latencies, 99)),
      maxMs: Math.round(latencies[latencies.length - 1] ?? 0),
      fullestNodeMilliCPU: Math.max(0, ...perNode.values()),
      nodeAllocatableMilliCPU: milli(nodeCpu),
    };
  } finally {
    watch?.stop();
    await scheduler.stop();
    namespaces.stop();
    await Promise.all([gc.stop(), serviceAccounts.stop()]);
    informers.stop();
    await ctx.recorder(scheduler.schedulerName).flush();
    await server.close();
    await store.close();
    await rm(dir, { recursive: true, force: true });
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const { values } = parseArgs({
    options: {
      nodes: { type: 'string', default: '100' },
      pods: { type: 'string', default: '1080' },
      precreate: { type: 'boolean', default: false },
      'no-controllers': { type: 'boolean', default: false },
      'bind-concurrency': { type: 'string' },
      'create-concurrency': { type: 'string' },
    },
  });
  const result = await benchScheduler({
    nodes: Number(values.nodes),
    pods: Number(values.pods),
    precreate: values.precreate,
    controllers: !values['no-controllers'],
    createConcurrency: values['create-concurrency'] ? Number(values['create-concurrency']) : undefined,
    scheduler: values['bind-concurrency'] ? { bindConcurrency: Number(values['bind-concurrency']) } : undefined,
    log: (m) => process.stdout.write(`[bench-scheduler] ${m}\n`),
  });
  process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
}
