/**
 * The simulated node agent: many kubelets in one process, for scale tests and benchmarks. It owns
 * `count` nodes (registration, leases, status heartbeats: node.ts), watches pods with ONE informer
 * (`spec.nodeName!=`, so unscheduled pods never reach it) and gives each pod bound to one of its
 * nodes a pod worker (pods.ts) running on that node's runtime (runtime.ts). Every event costs O(1):
 * a map lookup of the node, a map lookup of the worker.
 *
 * All writes are bounded: pod status and deletes through one coalescing writer, events and node
 * writes through limiters of their own, so a burst of 30,000 pods on 5,000 nodes becomes a steady
 * stream of requests rather than a stampede.
 */
import type { KubeObject } from '../../api/types.js';
import type { Client } from '../../client/interface.js';
import { EventRecorder } from '../../client/events.js';
import { Informer } from '../../client/informer.js';
import { NODES } from '../../controllers/pods.js';
import { LABEL_SIMULATED, nodeInternalIP, nodeName, podCidrFor, resolveConfig, type SimulatedAgentConfig, type SimulatedAgentOptions } from './config.js';
import { ConcurrencyLimiter, limitedClient } from './limiter.js';
import { SimulatedNode } from './node.js';
import { PodWorker, type PodWorkerContext } from './pods.js';
import { SimulatedRuntime } from './runtime.js';
import { CoalescingWriter } from '../status/writer.js';
import { boundPodsInformer } from '../bound-pods.js';

interface NodeSlot {
  node: SimulatedNode;
  runtime: SimulatedRuntime;
  context: PodWorkerContext;
  workers: Set<PodWorker>;
}

export class SimulatedAgent {
  readonly config: SimulatedAgentConfig;
  private readonly slots = new Map<string, NodeSlot>();
  /** Pod workers by pod UID. */
  private readonly workers = new Map<string, { worker: PodWorker; slot: NodeSlot }>();
  private readonly writer: CoalescingWriter;
  private readonly nodeClient: Client;
  private readonly eventClient: Client;
  private podInformer: Informer | undefined;
  private nodeInformer: Informer | undefined;
  private started: Promise<void> | undefined;
  private stopped = false;

  constructor(
    private readonly client: Client,
    opts: SimulatedAgentOptions,
  ) {
    this.config = resolveConfig(opts);
    const cfg = this.config;
    this.writer = new CoalescingWriter(cfg.maxInFlightWrites, (key, err) => cfg.log(`pod ${key}: ${(err as Error).message}`));
    this.nodeClient = limitedClient(client, new ConcurrencyLimiter(cfg.maxInFlightNodeWrites));
    this.eventClient = limitedClient(client, new ConcurrencyLimiter(cfg.maxInFlightEvents));
    for (let i = 0; i < cfg.count; i++) {
      const index = cfg.startIndex + i;
      const name = nodeName(cfg, i);
      const podCIDR = podCidrFor(cfg.podCidrBase, index);
      const hostIP = nodeInternalIP(index);
      const runtime = new SimulatedRuntime({ podCIDR, hostIP, startupMs: cfg.startupMs, runDurationMs: cfg.runDurationMs, now: cfg.now });
      const node = new SimulatedNode({ name, index, podCIDR, hostIP, runtimeVersion: runtime.version, cfg, client: this.nodeClient });
      const context: PodWorkerContext = {
        nodeName: name,
        hostIP,
        runtime,
        client,
        writer: this.writer,
        // Each node reports as its own kubelet (source host = node name); the writes share one budget.
        recorder: cfg.events ? new EventRecorder(this.eventClient, { component: 'kubelet', host: name }, { now: cfg.now, maxInFlight: 4 }) : undefined,
        cfg,
        alive: () => node.isAlive(),
        crashLoopBackOffMs: cfg.crashLoopBackOffMs,
        log: cfg.log,
        now: cfg.now,
      };
      this.slots.set(name, { node, runtime, context, workers: new Set() });
    }
  }

  /** Names of the nodes this agent runs. */
  nodeNames(): string[] {
    return [...this.slots.keys()];
  }

  /** Resolves once every node is registered with its Lease, and the pod informer has listed. */
  start(): Promise<void> {
    this.started ??= this.run();
    return this.started;
  }

  private async run(): Promise<void> {
    const cfg = this.config;
    // Registration is bounded by the node client's limiter; all of it is awaited so start() means "all there".
    await Promise.all([...this.slots.values()].map((s) => s.node.register()));
    if (this.stopped) return;
    for (const s of this.slots.values()) s.node.startHeartbeats();

    // One node (an agent that joined as system:node:<name>) watches only itself and its pods: the
    // Node authorizer lets a node list nodes and pods only when narrowed to it by a field selector.
    const only = this.slots.size === 1 ? [...this.slots.keys()][0] : undefined;
    this.nodeInformer = new Informer(this.client, NODES, '', only ? { fieldSelector: `metadata.name=${only}` } : { labelSelector: `${LABEL_SIMULATED}=true` });
    this.nodeInformer
      .onAdd((n) => this.slots.get(n.metadata?.name ?? '')?.node.observe(n))
      .onUpdate((_o, n) => this.slots.get(n.metadata?.name ?? '')?.node.observe(n))
      .onDelete((n) => {
        const slot = this.slots.get(n.metadata?.name ?? '');
        if (slot && slot.node.uid === n.metadata?.uid) slot.node.nodeDeleted();
      });

    // One informer for every node's pods; the field selector keeps unscheduled pods out of it.
    this.podInformer = boundPodsInformer(this.client, only ? `spec.nodeName=${only}` : 'spec.nodeName!=', { seen: (p) => this.podSeen(p), gone: (p) => this.podGone(p) });
    this.nodeInformer.start();
    this.podInformer.start();
    const synced = await Promise.all([this.nodeInformer.waitForSync(), this.podInformer.waitForSync()]);
    if (!synced.every(Boolean) && !this.stopped) cfg.log('informers stopped before they synced');
  }

  /** Stops everything: heartbeats, pod workers, informers; waits for writes in flight. Nodes stay registered. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.podInformer?.stop();
    this.nodeInformer?.stop();
    for (const s of this.slots.values()) {
      s.node.stop();
      s.runtime.shutdown();
    }
    for (const { worker } of this.workers.values()) worker.stop();
    await this.writer.stop();
    await Promise.all(
      [...this.slots.values()].map((s) => s.context.recorder?.flush() ?? Promise.resolve()),
    );
  }

  /** The node's kubelet "dies": no lease renewals, no status, its pods left as they are. */
  stopHeartbeats(name: string): void {
    this.slot(name).node.stopHeartbeats();
  }

  /** The node's kubelet comes back: leases and status resume, and its pods carry on. */
  resumeHeartbeats(name: string): void {
    const slot = this.slot(name);
    slot.node.resumeHeartbeats();
    for (const w of slot.workers) {
      w.kick();
      w.requestWrite();
    }
  }

  /** Resolves when no pod status write is waiting or in flight (for tests and benchmarks). */
  idle(): Promise<void> {
    return this.writer.idle();
  }

  /** Pod workers alive now (for tests and diagnostics). */
  podCount(): number {
    return this.workers.size;
  }

  private slot(name: string): NodeSlot {
    const slot = this.slots.get(name);
    if (!slot) throw new Error(`node ${name} is not one of this agent's`);
    return slot;
  }

  private podSeen(pod: KubeObject): void {
    if (this.stopped) return;
    const uid = pod.metadata?.uid;
    if (!uid) return;
    const known = this.workers.get(uid);
    if (known) {
      known.worker.update(pod);
      return;
    }
    const slot = this.slots.get(pod.spec?.nodeName ?? '');
    if (!slot) return; // another agent's node, or a real one
    const worker = new PodWorker(pod, slot.context);
    this.workers.set(uid, { worker, slot });
    slot.workers.add(worker);
    worker.kick();
  }

  private podGone(pod: KubeObject): void {
    const uid = pod.metadata?.uid;
    const known = uid ? this.workers.get(uid) : undefined;
    if (!known) return;
    this.workers.delete(uid!);
    known.slot.workers.delete(known.worker);
    known.worker.remove();
  }
}
