/**
 * The pod worker: one per pod bound to one of the agent's nodes, after the kubelet's pod worker.
 * It drives the pod through its lifecycle on a Runtime — sandbox, init containers one by one,
 * then the containers, restarts with CrashLoopBackOff as the restart policy says, and termination —
 * and asks the shared status writer to write what it now knows. Status is computed when the write
 * goes out (see pod-status.ts), so quick transitions collapse into one write.
 *
 * Deletion is the kubelet's: a pod with a deletionTimestamp has its containers killed, its terminal
 * status written, and is then deleted with gracePeriodSeconds 0 and its UID as precondition. Without
 * that last step no pod bound to a node would ever leave Terminating.
 *
 * A worker whose node is dead (its agent stopped heartbeats) does nothing and writes nothing, as a
 * dead kubelet would; it picks up where things are when the node comes back.
 */
import type { KubeObject } from '../../api/types.js';
import { ANNOTATION_READY, type SimulatedAgentConfig } from './config.js';
import { PodWorkerBase, type PodWorkerBaseContext } from '../status/pod-worker-base.js';
import { goDuration } from '../../api/go-duration.js';
import type { ContainerConfig, ContainerExit, Runtime, Sandbox } from './runtime.js';
import {
  freshRecords,
  generatePodStatus,
  isTerminalPhase,
  parseTime,
  recordsFromStatus,
  type ContainerRecord,
} from '../status/pod-status.js';

/** What a pod worker needs from its agent and node. */
export interface PodWorkerContext extends PodWorkerBaseContext {
  nodeName: string;
  hostIP: string;
  runtime: Runtime;
  cfg: SimulatedAgentConfig;
  /** False while the node's kubelet is "dead" (stopHeartbeats). */
  alive(): boolean;
}

const SANDBOX_RETRY_MS = 5000;

export class PodWorker extends PodWorkerBase {
  private sandbox: Sandbox | undefined;
  /** The pod's address, kept after its sandbox is gone (the kubelet keeps reporting it). */
  private podIP: string | undefined;

  constructor(
    pod: KubeObject,
    private readonly ctx: PodWorkerContext,
  ) {
    super(pod, ctx);
    this.adopt(pod);
  }

  /** The pod is gone from the API: forget it, and free what it held. */
  remove(): void {
    if (this.gone) return;
    this.gone = true;
    this.clearTimers();
    this.ctx.writer.forget(this.uid);
    for (const r of [...this.regular, ...this.init]) if (r.state === 'running' && r.id) void this.ctx.runtime.stopContainer(r.id, 0);
    if (this.sandbox) void this.ctx.runtime.stopPodSandbox(this.sandbox);
    this.sandbox = undefined;
  }

  // ---- the lifecycle ----

  protected async step(): Promise<void> {
    const pod = this.pod;
    if (this.terminal || pod.metadata?.deletionTimestamp || isTerminalPhase(pod.status?.phase)) {
      await this.terminate();
      return;
    }
    this.startTime ??= this.ctx.cfg.now();
    this.requestWrite();

    if (!this.sandbox) {
      try {
        this.sandbox = await this.ctx.runtime.runPodSandbox({ podUid: this.uid, namespace: this.namespace, name: this.name, hostNetwork: pod.spec?.hostNetwork === true });
      } catch (err) {
        this.event('Warning', 'FailedCreatePodSandBox', `Failed to create pod sandbox: ${(err as Error).message}`);
        this.after(SANDBOX_RETRY_MS, () => this.kick());
        return;
      }
      this.podIP = this.sandbox.ip;
      if (this.gone) {
        await this.ctx.runtime.stopPodSandbox(this.sandbox);
        return;
      }
      this.requestWrite();
      if (this.dirty) return; // something changed while the sandbox was made (a deletion, say): look again first
    }

    await this.startDue();
  }


  protected async startContainer(r: ContainerRecord): Promise<void> {
    const spec = this.containerSpec(r);
    const image = r.image;
    const pullPolicy = String(spec?.imagePullPolicy ?? 'IfNotPresent');
    const img = await this.ctx.runtime.ensureImage(image, pullPolicy, () => this.event('Normal', 'Pulling', `Pulling image "${image}"`, r));
    if (img.pulled) {
      // Durations and size come from the simulated runtime's pretend pull.
      this.event(
        'Normal',
        'Pulled',
        `Successfully pulled image "${image}" in ${goDuration(img.pullMs ?? 0)} (${goDuration(img.totalMs ?? 0)} including waiting). Image size: ${img.sizeBytes ?? 0} bytes.`,
        r,
      );
    } else {
      this.event('Normal', 'Pulled', `Container image "${image}" already present on machine`, r);
    }
    if (this.gone || !this.sandbox) return;
    const cfg: ContainerConfig = {
      name: r.name,
      image,
      kind: r.kind,
      podAnnotations: { ...(this.pod.metadata?.annotations ?? {}) },
      restartPolicy: String(this.pod.spec?.restartPolicy ?? 'Always'),
    };
    const id = await this.ctx.runtime.createContainer(this.sandbox, cfg);
    this.event('Normal', 'Created', `Created container ${r.name}`, r);
    if (r.id) {
      // A restart: the instance that ended becomes lastState, and the count goes up.
      if (r.state === 'terminated' && r.terminated) r.last = r.terminated;
      r.restartCount++;
    }
    r.id = id;
    r.imageRef = img.imageRef;
    r.state = 'running';
    r.waiting = undefined;
    r.terminated = undefined;
    r.startedAt = await this.ctx.runtime.startContainer(id, (exit) => this.exited(r, id, exit));
    if (this.gone) {
      // The pod went away while its container was being started: remove() could not see this one.
      await this.ctx.runtime.stopContainer(id, 0);
      return;
    }
    this.event('Normal', 'Started', `Started container ${r.name}`, r);
    this.requestWrite();
  }

  private exited(r: ContainerRecord, id: string, exit: ContainerExit): void {
    if (this.gone || r.id !== id || r.state !== 'running') return;
    r.state = 'terminated';
    r.terminated = { exitCode: exit.exitCode, reason: exit.reason, startedAt: r.startedAt, finishedAt: exit.finishedAt, id };
    this.kick();
  }

  /** Kills what runs, frees the sandbox, and settles every container's final state. */
  private async terminate(): Promise<void> {
    // A pod deleted before it was ever started still gets its final status, so it needs a start time.
    this.startTime ??= this.ctx.cfg.now();
    if (!this.killed) {
      this.killed = true;
      this.terminal = true;
      this.clearTimers();
      const deleting = Boolean(this.pod.metadata?.deletionTimestamp);
      const grace = Number(this.pod.metadata?.deletionGracePeriodSeconds ?? this.pod.spec?.terminationGracePeriodSeconds ?? 30);
      // Containers first, then sidecars in reverse order, as the kubelet stops them.
      const order = [...this.regular, ...[...this.init].reverse()];
      for (const r of order) {
        if (r.state !== 'running' || !r.id) continue;
        if (deleting || r.kind === 'sidecar') this.event('Normal', 'Killing', `Stopping container ${r.name}`, r);
        const exit = await this.ctx.runtime.stopContainer(r.id, grace);
        r.state = 'terminated';
        r.terminated = { exitCode: exit.exitCode, reason: exit.reason, startedAt: r.startedAt, finishedAt: exit.finishedAt, id: r.id };
      }
      this.markUnfinishedLost();
      if (this.sandbox) await this.ctx.runtime.stopPodSandbox(this.sandbox);
      this.sandbox = undefined;
    }
    this.requestWrite();
  }

  // ---- writing ----

  protected override alive(): boolean {
    return this.ctx.alive();
  }

  protected desiredStatus(): Record<string, unknown> | undefined {
    if (this.startTime === undefined) return undefined;
    return generatePodStatus({
      pod: this.pod,
      hostIP: this.ctx.hostIP,
      podIP: this.podIP,
      sandboxReady: this.sandbox !== undefined,
      startTime: this.startTime,
      init: this.init,
      regular: this.regular,
      terminal: this.terminal && this.killed,
      readiness: this.pod.metadata?.annotations?.[ANNOTATION_READY] !== 'false',
      now: this.ctx.cfg.now(),
    });
  }

  // ---- taking over a pod a previous agent ran ----

  private adopt(pod: KubeObject): void {
    const status = pod.status ?? {};
    const startTime = parseTime(status.startTime);
    if (isTerminalPhase(status.phase)) {
      ({ init: this.init, regular: this.regular } = recordsFromStatus(pod));
      this.terminal = true;
      this.killed = true;
      this.startTime = startTime;
      return;
    }
    const restored = recordsFromStatus(pod);
    const anyStarted = [...restored.init, ...restored.regular].some((r) => r.id !== undefined);
    const ip = typeof status.podIP === 'string' ? status.podIP : '';
    const sandbox = { id: `restored-${this.uid}`, ip };
    const sandboxCfg = { podUid: this.uid, namespace: this.namespace, name: this.name, hostNetwork: pod.spec?.hostNetwork === true };
    if (!anyStarted || !ip || !this.ctx.runtime.restoreSandbox(sandboxCfg, sandbox)) {
      ({ init: this.init, regular: this.regular } = freshRecords(pod));
      this.startTime = startTime;
      return;
    }
    this.init = restored.init;
    this.regular = restored.regular;
    this.sandbox = sandbox;
    this.podIP = ip;
    this.startTime = startTime;
    for (const r of [...this.init, ...this.regular]) {
      if (r.state !== 'running' || !r.id) continue;
      const id = r.id;
      const cfg: ContainerConfig = {
        name: r.name,
        image: r.image,
        kind: r.kind,
        podAnnotations: { ...(pod.metadata?.annotations ?? {}) },
        restartPolicy: String(pod.spec?.restartPolicy ?? 'Always'),
      };
      this.ctx.runtime.restoreContainer(id, cfg, r.startedAt ?? this.ctx.cfg.now(), (exit) => this.exited(r, id, exit));
    }
  }
}
