/**
 * The real pod worker: one per pod bound to this node, after the kubelet's pod worker and
 * SyncPod. It makes what runs match the pod spec, one step at a time, and says what it found:
 *
 *   volumes → sandbox (namespaces, network, cgroup) → init containers in order → containers,
 *   each: image (pull policy, back-off) → container config (env, mounts, user) → create → start →
 *   postStart hook → probes (startup, then liveness and readiness)
 *
 * Exits come from the runtime; restarts follow the restart policy with CrashLoopBackOff (10 s
 * doubling to 5 min, reset after 10 min of running); liveness and startup failures kill the
 * container. Termination runs preStop hooks, then SIGTERM, then SIGKILL once the grace period is
 * over, releases the sandbox, writes the terminal status and, for a deleted pod, deletes it with
 * grace 0. A finished pod keeps its stopped containers (and logs) until the pod is deleted.
 *
 * Status is computed when the coalescing writer gets to the pod (status/pod-sync.ts), so quick
 * transitions collapse into one write.
 */
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { request as httpRequest } from 'node:http';
import type { KubeObject } from '../api/types.js';
import type { ContainerRuntime, ContainerSpec, ContainerStatus, ImageService, PulledImage, RegistryCredential, SandboxInfo, SandboxSpec } from './cri.js';
import { ImageError, NetworkError } from './cri.js';
import { goDuration } from '../api/go-duration.js';
import { hostsFileFor } from './pod-dns.js';
import { ProbeWorker, type ProbeKind, type ProbeTarget } from './probes.js';
import { freshRecords, generatePodStatus, isTerminalPhase, parseTime, recordsFromStatus, type ContainerRecord } from './status/pod-status.js';
import { PodWorkerBase, type PodWorkerBaseContext } from './status/pod-worker-base.js';

/** Builds what the runtime needs for one container; throws ContainerConfigError for CreateContainerConfigError. */
export interface ContainerSpecFactory {
  build(input: {
    pod: KubeObject;
    container: Record<string, any>;
    sandbox: SandboxInfo;
    image: PulledImage;
    attempt: number;
    logPath: string;
    hostIP: string;
  }): Promise<ContainerSpec>;
}

/** The pod's volumes on this node. */
export interface PodVolumes {
  /** Makes every volume of the pod present (idempotent); throws with the FailedMount message. */
  setUp(pod: KubeObject, ctx: { podIP?: string }): Promise<void>;
  tearDown(pod: KubeObject): Promise<void>;
}

export interface PodWorkerContext extends PodWorkerBaseContext {
  nodeName: string;
  hostIP: string;
  runtime: ContainerRuntime;
  images: ImageService;
  volumes: PodVolumes;
  specs: ContainerSpecFactory;
  /** The dockerconfigjson credentials of the pod's imagePullSecrets. */
  credentials(pod: KubeObject): Promise<RegistryCredential[]>;
  sandboxSpec(pod: KubeObject): SandboxSpec;
  /** `/var/log/pods`. */
  logRoot: string;
  /** The sandbox could not get an address: the node says so. */
  addressExhausted(exhausted: boolean): void;
}

/** A container the runtime runs for a record. */
interface Live {
  id: string;
  probes: ProbeWorker[];
  /** Set once the worker kills it itself (probe failure, termination), so it is not killed twice. */
  killing?: boolean;
}

const SANDBOX_RETRY_MS = 5000;
const CONFIG_RETRY_MS = 5000;
const IMAGE_BACKOFF = { initial: 10_000, max: 300_000 };
const HOOK_TIMEOUT_MS = 30_000;

export class PodWorker extends PodWorkerBase {
  private readonly live = new Map<string, Live>();
  /** Stopped instances still on disk (kept for logs and `--previous`), by container name. */
  private readonly dead = new Map<string, string[]>();
  private sandbox: SandboxInfo | undefined;
  private podIP: string | undefined;
  private volumesReady = false;
  private readonly imageBackoff = new Map<string, { delayMs: number; until: number }>();

  constructor(
    pod: KubeObject,
    private readonly ctx: PodWorkerContext,
    adopted?: { sandbox?: SandboxInfo; containers: ContainerStatus[] },
  ) {
    super(pod, ctx);
    this.adopt(pod, adopted);
  }

  /** The pod is gone from the API: remove everything it left on the node. */
  async remove(): Promise<void> {
    if (this.gone) return;
    this.gone = true;
    this.clearTimers();
    this.ctx.writer.forget(this.uid);
    for (const l of this.live.values()) for (const p of l.probes) p.stop();
    const rt = this.ctx.runtime;
    await Promise.all([...this.live.values()].map((l) => rt.stopContainer(l.id, 0).catch(() => undefined)));
    const ids = [...this.live.values()].map((l) => l.id);
    for (const list of this.dead.values()) ids.push(...list);
    for (const id of ids) {
      await rt.removeContainer(id).catch((err) => this.ctx.log(`pod ${this.key()}: removing container ${id}: ${(err as Error).message}`));
    }
    this.live.clear();
    this.dead.clear();
    if (this.sandbox) {
      await rt.stopPodSandbox(this.sandbox.id).catch(() => undefined);
      await rt.removePodSandbox(this.sandbox.id).catch(() => undefined);
      this.sandbox = undefined;
    }
    await this.ctx.volumes.tearDown(this.pod).catch((err) => this.ctx.log(`pod ${this.key()}: volumes: ${(err as Error).message}`));
    await rm(this.podLogDir(), { recursive: true, force: true }).catch(() => undefined);
  }

  override stop(): void {
    super.stop();
    for (const l of this.live.values()) for (const p of l.probes) p.stop();
  }

  /** The runtime says one of this pod's containers exited. */
  containerExited(st: ContainerStatus): void {
    const r = this.record(st.containerName);
    const l = this.live.get(st.containerName);
    if (this.gone || !r || !l || l.id !== st.id) return;
    for (const p of l.probes) p.stop();
    this.live.delete(st.containerName);
    this.keepDead(st.containerName, st.id);
    r.state = 'terminated';
    r.ready = false;
    r.terminated = {
      exitCode: st.exitCode ?? 137,
      reason: st.oomKilled ? 'OOMKilled' : (st.exitCode ?? 137) === 0 ? 'Completed' : 'Error',
      // A container that ends at once may exit before startContainer has noted its start.
      startedAt: st.startedAt ?? r.startedAt,
      finishedAt: st.finishedAt ?? this.ctx.now(),
      id: containerID(st.id),
    };
    this.requestWrite();
    this.kick();
  }

  /** For the streaming server: the running (or last) container of `name`, and the one before it. */
  containerFor(name: string): { current?: string; previous?: string } | undefined {
    const r = this.record(name);
    if (!r) return undefined;
    const l = this.live.get(name);
    const dead = this.dead.get(name) ?? [];
    const current = l?.id ?? dead[dead.length - 1];
    const previous = l ? dead[dead.length - 1] : dead[dead.length - 2];
    return { current, previous };
  }

  // ---- the lifecycle ----

  protected async step(): Promise<void> {
    const pod = this.pod;
    if (this.terminal || pod.metadata?.deletionTimestamp || isTerminalPhase(pod.status?.phase)) {
      await this.terminate();
      return;
    }
    this.startTime ??= this.ctx.now();
    this.requestWrite();

    if (!this.volumesReady) {
      try {
        await this.ctx.volumes.setUp(pod, { podIP: this.podIP });
        this.volumesReady = true;
      } catch (err) {
        this.event('Warning', 'FailedMount', (err as Error).message);
        this.after(SANDBOX_RETRY_MS, () => this.kick());
        return;
      }
    }

    if (!this.sandbox) {
      try {
        this.sandbox = await this.ctx.runtime.runPodSandbox(this.ctx.sandboxSpec(pod));
        this.ctx.addressExhausted(false);
      } catch (err) {
        const message = (err as Error).message;
        if (err instanceof NetworkError && err.exhausted) this.ctx.addressExhausted(true);
        this.event('Warning', 'FailedCreatePodSandBox', `Failed to create pod sandbox: ${message}`);
        this.after(SANDBOX_RETRY_MS, () => this.kick());
        return;
      }
      this.podIP = this.sandbox.ip;
      // The managed /etc/hosts names the pod's own address, known only now (hostNetwork pods keep the node's).
      if (!this.pod.spec?.hostNetwork) await writeFile(this.sandbox.hostsPath, hostsFileFor(this.pod, this.podIP)).catch(() => undefined);
      if (this.gone) return;
      this.requestWrite();
      if (this.dirty) return;
    }

    await this.startDue();
  }


  protected async startContainer(r: ContainerRecord): Promise<void> {
    const c = this.containerSpec(r);
    if (!c || !this.sandbox) return;
    const image = String(c.image ?? '');
    const sandbox = this.sandbox;

    // The image, with ImagePullBackOff between failed pulls.
    const ib = this.imageBackoff.get(r.name);
    if (ib && this.ctx.now() < ib.until) {
      this.setWaiting(r, 'ImagePullBackOff', `Back-off pulling image "${image}"`);
      this.event('Normal', 'BackOff', `Back-off pulling image "${image}"`, r);
      this.event('Warning', 'Failed', 'Error: ImagePullBackOff', r);
      this.after(ib.until - this.ctx.now(), () => this.kick());
      return;
    }
    let pulled: PulledImage;
    try {
      const credentials = await this.ctx.credentials(this.pod);
      const policy = (c.imagePullPolicy ?? 'IfNotPresent') as 'Always' | 'IfNotPresent' | 'Never';
      const res = await this.ctx.images.ensureImage(image, policy, { credentials, onPulling: () => this.event('Normal', 'Pulling', `Pulling image "${image}"`, r) });
      pulled = res.image;
      this.imageBackoff.delete(r.name);
      if (res.pulled) {
        this.event('Normal', 'Pulled', `Successfully pulled image "${image}" in ${goDuration(res.pullMs ?? 0)} (${goDuration(res.pullMs ?? 0)} including waiting). Image size: ${pulled.sizeBytes} bytes.`, r);
      } else {
        this.event('Normal', 'Pulled', `Container image "${image}" already present on machine`, r);
      }
    } catch (err) {
      const reason = err instanceof ImageError ? err.reason : 'ErrImagePull';
      const message = (err as Error).message;
      if (reason === 'ErrImagePull') {
        const prev = this.imageBackoff.get(r.name);
        const delayMs = prev ? Math.min(prev.delayMs * 2, IMAGE_BACKOFF.max) : IMAGE_BACKOFF.initial;
        this.imageBackoff.set(r.name, { delayMs, until: this.ctx.now() + delayMs });
        this.event('Warning', 'Failed', `Failed to pull image "${image}": ${message}`, r);
        this.after(delayMs, () => this.kick());
      } else {
        this.after(CONFIG_RETRY_MS, () => this.kick());
      }
      this.event('Warning', 'Failed', `Error: ${reason}`, r);
      this.setWaiting(r, reason, message);
      return;
    }
    if (this.gone || this.sandbox !== sandbox) return;

    // The container's configuration: a missing ConfigMap key leaves it waiting, and is retried.
    const attempt = r.id ? r.restartCount + 1 : r.restartCount;
    const logPath = join(this.podLogDir(), r.name, `${attempt}.log`);
    let spec: ContainerSpec;
    try {
      await mkdir(join(this.podLogDir(), r.name), { recursive: true });
      spec = await this.ctx.specs.build({ pod: this.pod, container: c, sandbox, image: pulled, attempt, logPath, hostIP: this.ctx.hostIP });
    } catch (err) {
      const message = (err as Error).message;
      const reason = (err as { reason?: unknown }).reason === 'CreateContainerError' ? 'CreateContainerError' : 'CreateContainerConfigError';
      this.event('Warning', 'Failed', `Error: ${message}`, r);
      this.setWaiting(r, reason, message);
      this.after(CONFIG_RETRY_MS, () => this.kick());
      return;
    }

    let id: string;
    try {
      // The runtime mounts the container's root filesystem from the image.
      id = await this.ctx.runtime.createContainer(spec);
    } catch (err) {
      const message = (err as Error).message;
      this.event('Warning', 'Failed', `Error: ${message}`, r);
      this.setWaiting(r, 'CreateContainerError', message);
      this.after(CONFIG_RETRY_MS, () => this.kick());
      return;
    }
    this.event('Normal', 'Created', `Created container ${r.name}`, r);
    const l: Live = { id, probes: [] };
    this.live.set(r.name, l);
    if (r.id) {
      if (r.state === 'terminated' && r.terminated) r.last = r.terminated;
      r.restartCount++;
    }
    r.id = containerID(id);
    r.imageRef = pulled.imageRef;
    r.state = 'running';
    r.waiting = undefined;
    r.terminated = undefined;
    r.ready = false;
    r.started = false;
    try {
      await this.ctx.runtime.startContainer(id);
    } catch (err) {
      this.live.delete(r.name);
      this.keepDead(r.name, id);
      const message = (err as Error).message;
      r.state = 'terminated';
      r.terminated = { exitCode: 128, reason: 'StartError', message, finishedAt: this.ctx.now(), id: r.id };
      this.event('Warning', 'Failed', `Error: ${message}`, r);
      this.requestWrite();
      this.dirty = true;
      return;
    }
    const running = this.live.get(r.name) === l;
    if (running) r.startedAt = this.ctx.runtime.containerStatus(id)?.startedAt ?? this.ctx.now();
    if (this.gone) {
      await this.ctx.runtime.stopContainer(id, 0);
      return;
    }
    this.event('Normal', 'Started', `Started container ${r.name}`, r);
    // It has already ended (its exit was handled): no hook or probe for it.
    if (!running) return;

    const postStart = c.lifecycle?.postStart;
    if (postStart) {
      const failure = await this.runHook(postStart, id, c);
      if (failure !== undefined && this.live.get(r.name) === l) {
        this.event('Warning', 'FailedPostStartHook', failure, r);
        l.killing = true;
        this.event('Normal', 'Killing', `FailedPostStartHook`, r);
        await this.ctx.runtime.stopContainer(id, this.grace());
        return;
      }
    }
    this.startProbes(r, c, l);
    this.requestWrite();
  }

  private setWaiting(r: ContainerRecord, reason: string, message: string): void {
    if (r.state === 'terminated') {
      r.last = r.terminated;
      r.terminated = undefined;
    }
    r.state = 'waiting';
    r.waiting = { reason, message };
    this.requestWrite();
  }

  // ---- probes ----

  private startProbes(r: ContainerRecord, c: Record<string, any>, l: Live): void {
    const ports = new Map<string, number>();
    for (const p of Array.isArray(c.ports) ? c.ports : []) if (p?.name && Number.isInteger(p.containerPort)) ports.set(String(p.name), p.containerPort);
    const target: ProbeTarget = {
      podIP: this.sandbox?.ip ?? this.ctx.hostIP,
      ports,
      exec: (cmd, timeoutMs) => this.ctx.runtime.execSync(l.id, cmd, timeoutMs),
    };
    // Init containers that are not sidecars are not probed.
    if (r.kind === 'init') {
      r.started = true;
      return;
    }
    const startup = c.startupProbe;
    r.started = !startup;
    r.ready = !c.readinessProbe && r.started;
    const now = this.ctx.now();
    const started = r.startedAt ?? now;
    const kinds: [ProbeKind, Record<string, any> | undefined][] = [
      ['startup', startup],
      ['liveness', c.livenessProbe],
      ['readiness', c.readinessProbe],
    ];
    for (const [kind, probe] of kinds) {
      if (!probe || typeof probe !== 'object') continue;
      const label = kind[0].toUpperCase() + kind.slice(1);
      const w = new ProbeWorker(
        probe,
        kind,
        target,
        (ok, output) => this.probeResult(r, l, kind, ok, output, probe),
        (output) => this.event('Warning', 'Unhealthy', `${label} probe failed: ${output}`, r),
        kind === 'startup' ? () => true : () => r.started === true,
      );
      l.probes.push(w);
      w.start(started, now);
    }
  }

  private probeResult(r: ContainerRecord, l: Live, kind: ProbeKind, ok: boolean, _output: string, probe: Record<string, any>): void {
    if (this.live.get(r.name) !== l || this.gone) return;
    if (kind === 'readiness') {
      r.ready = ok;
      this.requestWrite();
      return;
    }
    if (kind === 'startup' && ok) {
      r.started = true;
      if (!this.containerSpec(r)?.readinessProbe) r.ready = true;
      this.requestWrite();
      return;
    }
    if (ok || l.killing) return;
    // A liveness or startup failure: the container is killed and restarted as the policy says.
    l.killing = true;
    for (const p of l.probes) p.stop();
    this.event('Normal', 'Killing', `Container ${r.name} failed ${kind} probe, will be restarted`, r);
    const grace = Number.isInteger(probe.terminationGracePeriodSeconds) ? probe.terminationGracePeriodSeconds : this.grace();
    void this.ctx.runtime.stopContainer(l.id, grace).catch((err) => this.ctx.log(`pod ${this.key()}: killing ${r.name}: ${(err as Error).message}`));
  }

  // ---- hooks ----

  /** Runs a lifecycle handler; resolves with the failure message, or undefined when it succeeded. */
  private async runHook(handler: Record<string, any>, id: string, c: Record<string, any>, timeoutMs = HOOK_TIMEOUT_MS): Promise<string | undefined> {
    if (handler.exec) {
      const cmd = Array.isArray(handler.exec.command) ? handler.exec.command.map(String) : [];
      const res = await this.ctx.runtime.execSync(id, cmd, timeoutMs).catch((err: Error) => ({ exitCode: -1, output: err.message, timedOut: false }));
      if (res.exitCode === 0) return undefined;
      return `Exec lifecycle hook (${JSON.stringify(cmd)}) for Container "${c.name}" in Pod "${this.name}_${this.namespace}(${this.uid})" failed - error: command '${cmd.join(' ')}' exited with ${res.exitCode}: ${res.output}, message: "${res.output}"`;
    }
    if (handler.httpGet) {
      const h = handler.httpGet;
      const port = typeof h.port === 'number' ? h.port : Number(h.port);
      const host = h.host || this.sandbox?.ip || this.ctx.hostIP;
      const path = typeof h.path === 'string' ? h.path : '/';
      return new Promise((resolve) => {
        const req = httpRequest({ host, port, path, method: 'GET', timeout: timeoutMs }, (res) => {
          res.resume();
          const code = res.statusCode ?? 0;
          resolve(code >= 200 && code < 400 ? undefined : `HTTP lifecycle hook (${path}) for Container "${c.name}" in Pod "${this.name}_${this.namespace}(${this.uid})" failed - error: received status code ${code}`);
        });
        req.on('timeout', () => req.destroy(new Error('timeout')));
        req.on('error', (err) => resolve(`HTTP lifecycle hook (${path}) for Container "${c.name}" in Pod "${this.name}_${this.namespace}(${this.uid})" failed - error: ${err.message}`));
        req.end();
      });
    }
    if (handler.sleep) {
      const ms = Math.max(0, Number(handler.sleep.seconds ?? 0) * 1000);
      await new Promise((r) => setTimeout(r, Math.min(ms, timeoutMs)).unref());
      return undefined;
    }
    return undefined;
  }

  // ---- termination ----

  private grace(): number {
    const g = this.pod.metadata?.deletionGracePeriodSeconds ?? this.pod.spec?.terminationGracePeriodSeconds ?? 30;
    return Number.isInteger(g) && g >= 0 ? g : 30;
  }

  private async terminate(): Promise<void> {
    this.startTime ??= this.ctx.now();
    if (!this.killed) {
      this.killed = true;
      this.terminal = true;
      this.clearTimers();
      const deleting = Boolean(this.pod.metadata?.deletionTimestamp);
      const grace = this.grace();
      const deadline = this.ctx.now() + grace * 1000;
      const stopOne = async (r: ContainerRecord) => {
        const l = this.live.get(r.name);
        if (!l) return;
        for (const p of l.probes) p.stop();
        l.killing = true;
        if (deleting || r.kind === 'sidecar') this.event('Normal', 'Killing', `Stopping container ${r.name}`, r);
        const c = this.containerSpec(r);
        const preStop = c?.lifecycle?.preStop;
        if (preStop && deleting) {
          const failure = await this.runHook(preStop, l.id, c ?? {}, Math.max(0, deadline - this.ctx.now()));
          if (failure) this.event('Warning', 'FailedPreStopHook', failure, r);
        }
        const left = Math.max(0, Math.ceil((deadline - this.ctx.now()) / 1000));
        await this.ctx.runtime.stopContainer(l.id, left).catch((err) => this.ctx.log(`pod ${this.key()}: stopping ${r.name}: ${(err as Error).message}`));
        const st = this.ctx.runtime.containerStatus(l.id);
        if (st && st.phase === 'exited') this.containerExited(st);
      };
      // Containers in parallel, then sidecars in reverse order, as the kubelet stops them.
      await Promise.all(this.regular.map(stopOne));
      for (const r of [...this.init].reverse()) await stopOne(r);
      this.markUnfinishedLost();
      if (this.sandbox) await this.ctx.runtime.stopPodSandbox(this.sandbox.id).catch((err) => this.ctx.log(`pod ${this.key()}: stopping sandbox: ${(err as Error).message}`));
    }
    this.requestWrite();
  }

  // ---- status ----

  protected desiredStatus(): Record<string, unknown> | undefined {
    if (this.startTime === undefined) return undefined;
    return generatePodStatus({
      pod: this.pod,
      hostIP: this.ctx.hostIP,
      podIP: this.podIP,
      sandboxReady: this.sandbox !== undefined && !this.killed,
      startTime: this.startTime,
      init: this.init,
      regular: this.regular,
      terminal: this.terminal && this.killed,
      readiness: true,
      now: this.ctx.now(),
    });
  }

  // ---- taking over what a previous agent left ----

  private adopt(pod: KubeObject, adopted: { sandbox?: SandboxInfo; containers: ContainerStatus[] } | undefined): void {
    const status = pod.status ?? {};
    const restored = recordsFromStatus(pod);
    this.init = restored.init;
    this.regular = restored.regular;
    this.startTime = parseTime(status.startTime);
    if (isTerminalPhase(status.phase)) {
      this.terminal = true;
      this.killed = true;
    }
    const sandbox = adopted?.sandbox;
    if (sandbox) {
      this.sandbox = sandbox;
      this.podIP = sandbox.ip;
    }
    const byName = new Map<string, ContainerStatus[]>();
    for (const st of adopted?.containers ?? []) {
      const list = byName.get(st.containerName) ?? [];
      list.push(st);
      byName.set(st.containerName, list);
    }
    for (const r of [...this.init, ...this.regular]) {
      const list = (byName.get(r.name) ?? []).sort((a, b) => a.attempt - b.attempt);
      const latest = list[list.length - 1];
      for (const st of list) if (st !== latest || st.phase !== 'running') this.keepDead(r.name, st.id);
      if (!latest) {
        if (r.state === 'running') {
          // Its container is gone (a reboot): reported as upstream does after one, and restarted by policy.
          r.state = 'terminated';
          r.terminated = { exitCode: 255, reason: 'Unknown', startedAt: r.startedAt, finishedAt: this.ctx.now(), id: r.id };
        }
        continue;
      }
      r.id = containerID(latest.id);
      r.imageRef = latest.imageRef || r.imageRef;
      r.restartCount = Math.max(r.restartCount, latest.attempt);
      if (latest.phase === 'running' && sandbox && !this.terminal) {
        r.state = 'running';
        r.startedAt = latest.startedAt ?? r.startedAt;
        r.waiting = undefined;
        r.terminated = undefined;
        const l: Live = { id: latest.id, probes: [] };
        this.live.set(r.name, l);
        const c = this.containerSpec(r);
        if (c) this.startProbes(r, c, l);
      } else if (latest.phase === 'exited') {
        // It ended while no agent watched: its exit is news.
        if (r.state !== 'terminated' || r.terminated?.id !== r.id) {
          if (r.state === 'terminated' && r.terminated) r.last = r.terminated;
          r.state = 'terminated';
          r.terminated = {
            exitCode: latest.exitCode ?? 137,
            reason: latest.oomKilled ? 'OOMKilled' : latest.exitCode === 0 ? 'Completed' : 'Error',
            startedAt: latest.startedAt,
            finishedAt: latest.finishedAt ?? this.ctx.now(),
            id: r.id,
          };
        }
      }
    }
    if (!sandbox && !this.terminal) {
      // Nothing to adopt: start from the spec, keeping what the status said about earlier runs.
      const fresh = freshRecords(pod);
      for (const list of [fresh.init, fresh.regular]) {
        for (const f of list) {
          const old = this.record(f.name);
          if (old?.last || old?.state === 'terminated') {
            f.restartCount = old.restartCount;
            f.last = old.state === 'terminated' ? old.terminated : old.last;
          }
        }
      }
      // Init containers that already succeeded stay done.
      for (const f of fresh.init) {
        const old = this.init.find((x) => x.name === f.name);
        if (old?.state === 'terminated' && old.terminated?.exitCode === 0 && f.kind === 'init') Object.assign(f, old);
      }
      this.init = fresh.init;
      this.regular = fresh.regular;
    }
  }

  // ---- helpers ----

  private keepDead(name: string, id: string): void {
    const list = this.dead.get(name) ?? [];
    if (!list.includes(id)) list.push(id);
    this.dead.set(name, list);
    // Upstream keeps one dead container per container for `--previous`; older ones go.
    while (list.length > 2) {
      const old = list.shift()!;
      void this.ctx.runtime
        .removeContainer(old)
        .catch((err) => this.ctx.log(`pod ${this.key()}: removing old container ${old}: ${(err as Error).message}`));
    }
  }

  private record(name: string): ContainerRecord | undefined {
    return this.regular.find((r) => r.name === name) ?? this.init.find((r) => r.name === name);
  }

  podLogDir(): string {
    return join(this.ctx.logRoot, `${this.namespace}_${this.name}_${this.uid}`);
  }

  private key(): string {
    return `${this.namespace}/${this.name}`;
  }
}

/** The containerID a status reports: "<runtime>://<id>". */
export function containerID(id: string): string {
  return `crun://${id}`;
}
