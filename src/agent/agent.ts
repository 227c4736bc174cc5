/**
 * The node agent: this machine's kubelet. It registers the Node (local-node.ts) and keeps its
 * Lease, waits for node IPAM to give the node a podCIDR (the pod network is wired from it), watches
 * only the pods bound to this node (`spec.nodeName=<node>`), and gives each a pod worker
 * (pod-worker.ts) driving the runtime. Exits reported by the runtime go to the pod's worker.
 *
 * A restarting agent adopts: the runtime's records (sandboxes, containers, exit files) are loaded
 * before the first pod is seen, each worker takes over what its pod left running, and whatever
 * belongs to no pod bound here any more is stopped and removed once the pod informer has listed.
 * Stopping the agent stops its workers but leaves containers running, as stopping a kubelet does.
 */
import type { KubeObject } from '../api/types.js';
import type { Client } from '../client/interface.js';
import { EventRecorder } from '../client/events.js';
import { Informer } from '../client/informer.js';
import { NODES } from '../controllers/pods.js';
import type { ContainerRuntime, ContainerStatus, ImageService, SandboxInfo } from './cri.js';
import { LocalNode } from './local-node.js';
import { boundPodsInformer } from './bound-pods.js';
import { rotate } from './logs/cri-log.js';
import type { NodeTimings } from './node-registration.js';
import { PodWorker, type ContainerSpecFactory, type PodVolumes, type PodWorkerContext } from './pod-worker.js';
import { CoalescingWriter } from './status/writer.js';

export interface NodeAgentComponents {
  runtime: ContainerRuntime;
  images: ImageService;
  volumes: PodVolumes;
  specs: ContainerSpecFactory;
  credentials: PodWorkerContext['credentials'];
  sandboxSpec: PodWorkerContext['sandboxSpec'];
  /** Told the node's podCIDR once node IPAM has given it (the pod network is built from it). */
  onPodCIDR(cidr: string): void;
}

export interface NodeAgentOptions {
  nodeName: string;
  /** Where the agent keeps its state: the node's ephemeral storage is this filesystem's. */
  stateRoot: string;
  logRoot: string;
  /** The streaming server's port, reported as the kubelet endpoint. */
  port: number;
  nodeIP?: string;
  labels?: Record<string, string>;
  timings?: Partial<NodeTimings>;
  crashLoopBackOffMs?: { initial: number; max: number };
  /** How often unused images are collected (default 5 min). */
  imageGcIntervalMs?: number;
  /** Container logs are rotated past this size (kubelet's containerLogMaxSize, default 10 MiB)… */
  containerLogMaxBytes?: number;
  /** …keeping this many files, the live one included (containerLogMaxFiles, default 5). */
  containerLogMaxFiles?: number;
  log?: (message: string) => void;
  now?: () => number;
}

export class NodeAgent {
  readonly node: LocalNode;
  private readonly workers = new Map<string, PodWorker>();
  /** The same workers by namespace/name (a pod's name is unique among the pods bound here). */
  private readonly byName = new Map<string, PodWorker>();
  private readonly writer: CoalescingWriter;
  private readonly recorder: EventRecorder;
  private readonly ctx: PodWorkerContext;
  private readonly log: (message: string) => void;
  private podInformer: Informer | undefined;
  private nodeInformer: Informer | undefined;
  private gcTimer: NodeJS.Timeout | undefined;
  private rotateTimer: NodeJS.Timeout | undefined;
  private rotating = false;
  private podCIDR: string | undefined;
  private readonly cidrWaiters: (() => void)[] = [];
  /** What the runtime had at start, by pod UID, until each pod's worker takes it. */
  private adoptable = new Map<string, { sandbox?: SandboxInfo; containers: ContainerStatus[] }>();
  private stopped = false;

  constructor(
    private readonly client: Client,
    private readonly c: NodeAgentComponents,
    private readonly opts: NodeAgentOptions,
  ) {
    this.log = opts.log ?? ((m) => console.error(`agent: ${m}`));
    const now = opts.now ?? Date.now;
    const timings: NodeTimings = {
      leaseDurationSeconds: 40,
      renewIntervalMs: 10_000,
      nodeStatusUpdateFrequencyMs: 10_000,
      nodeStatusReportFrequencyMs: 5 * 60_000,
      now,
      log: this.log,
      ...opts.timings,
    };
    this.node = new LocalNode({
      name: opts.nodeName,
      client,
      timings,
      runtimeVersion: c.runtime.version,
      root: opts.stateRoot,
      port: opts.port,
      images: c.images,
      nodeIP: opts.nodeIP,
      labels: opts.labels,
    });
    this.writer = new CoalescingWriter(16, (key, err) => this.log(`pod ${key}: ${(err as Error).message}`));
    this.recorder = new EventRecorder(client, { component: 'kubelet', host: opts.nodeName }, { now });
    this.ctx = {
      nodeName: opts.nodeName,
      hostIP: this.node.hostIP,
      client,
      writer: this.writer,
      recorder: this.recorder,
      runtime: c.runtime,
      images: c.images,
      volumes: c.volumes,
      specs: c.specs,
      credentials: c.credentials,
      sandboxSpec: c.sandboxSpec,
      logRoot: opts.logRoot,
      addressExhausted: (x) => this.node.setAddressExhausted(x),
      crashLoopBackOffMs: opts.crashLoopBackOffMs ?? { initial: 10_000, max: 300_000 },
      log: this.log,
      now,
    };
    c.runtime.onExit((st) => this.workers.get(st.podUid)?.containerExited(st));
  }

  get hostIP(): string {
    return this.node.hostIP;
  }

  /** Resolves once the node is registered, has its podCIDR, and the pod informer has listed. */
  async start(): Promise<void> {
    await this.c.runtime.restore();
    for (const s of this.c.runtime.listSandboxes()) this.adoptableFor(s.podUid).sandbox = s;
    for (const st of this.c.runtime.listContainers()) this.adoptableFor(st.podUid).containers.push(st);

    await this.node.register();
    this.node.startHeartbeats();
    this.nodeInformer = new Informer(this.client, NODES, '', { fieldSelector: `metadata.name=${this.opts.nodeName}` });
    this.nodeInformer.onAdd((n) => this.nodeSeen(n)).onUpdate((_o, n) => this.nodeSeen(n));
    this.nodeInformer.onDelete(() => this.node.nodeDeleted());
    this.nodeInformer.start();
    await this.nodeInformer.waitForSync();
    if (!this.podCIDR) {
      this.log(`waiting for node ${this.opts.nodeName} to get a podCIDR (the nodeipam controller assigns it)`);
      await new Promise<void>((resolve) => this.cidrWaiters.push(resolve));
    }
    if (this.stopped) return;

    this.podInformer = boundPodsInformer(this.client, `spec.nodeName=${this.opts.nodeName}`, { seen: (p) => this.podSeen(p), gone: (p) => this.podGone(p) });
    this.podInformer.start();
    await this.podInformer.waitForSync();
    await this.removeOrphans();
    const every = this.opts.imageGcIntervalMs ?? 5 * 60_000;
    this.gcTimer = setInterval(() => void this.collectImages(), every);
    this.gcTimer.unref();
    // The kubelet's container log manager checks every 10 s.
    this.rotateTimer = setInterval(() => void this.rotateLogs(), 10_000);
    this.rotateTimer.unref();
  }

  /** Stops watching and writing; containers keep running (a new agent adopts them). */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    for (const resolve of this.cidrWaiters.splice(0)) resolve();
    if (this.gcTimer) clearInterval(this.gcTimer);
    if (this.rotateTimer) clearInterval(this.rotateTimer);
    this.podInformer?.stop();
    this.nodeInformer?.stop();
    this.node.stop();
    for (const w of this.workers.values()) w.stop();
    await this.writer.stop();
    await this.recorder.flush();
    await this.c.runtime.shutdown();
  }

  /** The pod worker of a pod, for the streaming server. */
  worker(namespace: string, name: string): PodWorker | undefined {
    return this.byName.get(`${namespace}/${name}`);
  }

  /** The newest copy of a pod bound here. */
  podByUid(uid: string): KubeObject | undefined {
    return this.workers.get(uid)?.currentPod();
  }

  /** The streaming server's port, once it listens (before start). */
  setPort(port: number): void {
    this.node.setPort(port);
  }

  /** Pods (by UID) that have a worker, for image GC and diagnostics. */
  podCount(): number {
    return this.workers.size;
  }

  private adoptableFor(uid: string) {
    let a = this.adoptable.get(uid);
    if (!a) this.adoptable.set(uid, (a = { containers: [] }));
    return a;
  }

  private nodeSeen(n: KubeObject): void {
    this.node.observe(n);
    const cidr = this.node.podCIDR();
    if (cidr && !this.podCIDR) {
      this.podCIDR = cidr;
      this.c.onPodCIDR(cidr);
      this.node.reportNow();
      this.log(`node ${this.opts.nodeName} has podCIDR ${cidr}`);
      for (const resolve of this.cidrWaiters.splice(0)) resolve();
    }
  }

  private podSeen(pod: KubeObject): void {
    if (this.stopped) return;
    const uid = pod.metadata?.uid;
    if (!uid || pod.spec?.nodeName !== this.opts.nodeName) return;
    const known = this.workers.get(uid);
    if (known) {
      known.update(pod);
      return;
    }
    const adopted = this.adoptable.get(uid);
    this.adoptable.delete(uid);
    const worker = new PodWorker(pod, this.ctx, adopted);
    this.workers.set(uid, worker);
    this.byName.set(`${worker.namespace}/${worker.name}`, worker);
    worker.kick();
  }

  private podGone(pod: KubeObject): void {
    const uid = pod.metadata?.uid;
    const w = uid ? this.workers.get(uid) : undefined;
    if (!w) return;
    this.workers.delete(uid!);
    if (this.byName.get(`${w.namespace}/${w.name}`) === w) this.byName.delete(`${w.namespace}/${w.name}`);
    void w.remove();
  }

  /** What the runtime holds for pods that are not bound here any more goes. */
  private async removeOrphans(): Promise<void> {
    const rt = this.c.runtime;
    for (const [uid, a] of this.adoptable) {
      if (this.workers.has(uid)) continue;
      this.log(`removing what pod ${uid} left (no such pod on this node any more)`);
      for (const st of a.containers) {
        await rt.stopContainer(st.id, 0).catch(() => undefined);
        await rt.removeContainer(st.id).catch((err) => this.log(`removing container ${st.id}: ${(err as Error).message}`));
      }
      if (a.sandbox) {
        await rt.stopPodSandbox(a.sandbox.id).catch(() => undefined);
        await rt.removePodSandbox(a.sandbox.id).catch((err) => this.log(`removing sandbox ${a.sandbox!.id}: ${(err as Error).message}`));
      }
    }
    this.adoptable.clear();
  }

  /** Running containers' logs past the size limit are rotated, and conmon told to reopen. */
  private async rotateLogs(): Promise<void> {
    if (this.rotating) return;
    this.rotating = true;
    try {
      const max = this.opts.containerLogMaxBytes ?? 10 * 1024 * 1024;
      const files = this.opts.containerLogMaxFiles ?? 5;
      for (const st of this.c.runtime.listContainers()) {
        if (st.phase !== 'running') continue;
        if (await rotate(st.logPath, max, files).catch(() => false)) await this.c.runtime.reopenLog(st.id).catch(() => undefined);
      }
    } finally {
      this.rotating = false;
    }
  }

  private async collectImages(): Promise<void> {
    const inUse = new Set<string>();
    for (const st of this.c.runtime.listContainers()) {
      const img = this.c.images.list().find((i) => i.imageRef === st.imageRef);
      if (img) inUse.add(img.id);
    }
    // Images that pods on this node name stay too: their next restart needs them.
    for (const p of this.podInformer?.list() ?? []) {
      for (const c of [...(p.spec?.initContainers ?? []), ...(p.spec?.containers ?? [])] as Record<string, any>[]) {
        const img = this.c.images.get(String(c?.image ?? ''));
        if (img) inUse.add(img.id);
      }
    }
    try {
      const r = await this.c.images.garbageCollect(inUse);
      if (r.removedImages > 0) this.log(`image GC removed ${r.removedImages} image(s), ${r.freedBytes} bytes`);
    } catch (err) {
      this.log(`image GC: ${(err as Error).message}`);
    }
  }
}
