/**
 * The container runtime seam, shaped after the CRI calls a kubelet makes (RunPodSandbox,
 * PullImage, CreateContainer, StartContainer, StopContainer, StopPodSandbox): the pod worker decides
 * what should run and in which order, the runtime does it and reports containers that exit.
 * `SimulatedRuntime` is the only implementation for now: sandboxes are addresses from the node's
 * podCIDR, images are names in a set, and a container is a timer that decides when it exits. A crun
 * runtime will implement the same interface with real processes (and this file's interface will move
 * up to src/agent/ with it).
 */
import { createHash, randomBytes } from 'node:crypto';
import { ANNOTATION_EXIT_CODE, ANNOTATION_RUN_MS, RUNTIME_VERSION, sample, type Delay } from './config.js';
import { PodAddressPool } from './ipam.js';
import type { ContainerKind } from '../status/pod-status.js';

export type { ContainerKind };

export interface SandboxConfig {
  podUid: string;
  namespace: string;
  name: string;
  hostNetwork: boolean;
}

export interface Sandbox {
  id: string;
  ip: string;
}


export interface ContainerConfig {
  name: string;
  image: string;
  kind: ContainerKind;
  /** The pod's annotations and restart policy: for a simulated runtime, the program the container runs. */
  podAnnotations: Record<string, string>;
  restartPolicy: string;
}

export interface ContainerExit {
  exitCode: number;
  /** What the status reports: Completed (0), Error (anything else). */
  reason: string;
  finishedAt: number;
}

export interface ImageResult {
  /** What container statuses report as imageID. */
  imageRef: string;
  /** False when the image was already present and the policy did not ask for a pull. */
  pulled: boolean;
  /** The pull alone, and the pull with the time spent waiting for it, when `pulled`. */
  pullMs?: number;
  totalMs?: number;
  sizeBytes?: number;
}

export interface Runtime {
  /** containerRuntimeVersion as the node reports it ("<name>://<version>"). */
  readonly version: string;
  /** Throws when the sandbox cannot be made (no address left, say); the worker retries. */
  runPodSandbox(cfg: SandboxConfig): Promise<Sandbox>;
  stopPodSandbox(sandbox: Sandbox): Promise<void>;
  /** Makes `image` present as `pullPolicy` asks; `onPulling` is called before a pull starts. */
  ensureImage(image: string, pullPolicy: string, onPulling?: () => void): Promise<ImageResult>;
  /** The container's ID as statuses report it ("<runtime>://<id>"). */
  createContainer(sandbox: Sandbox, cfg: ContainerConfig): Promise<string>;
  /** Starts a created container; `onExit` is told once if it ends by itself. Resolves with its start time. */
  startContainer(id: string, onExit: (exit: ContainerExit) => void): Promise<number>;
  /** Kills a running container (grace is the pod's); resolves with how it ended. */
  stopContainer(id: string, gracePeriodSeconds: number): Promise<ContainerExit>;
  /**
   * Takes back what a previous agent left running, as a kubelet restarting lists the runtime's
   * sandboxes and containers: false when it cannot (the address is taken).
   */
  restoreSandbox(cfg: SandboxConfig, sandbox: Sandbox): boolean;
  restoreContainer(id: string, cfg: ContainerConfig, startedAt: number, onExit: (exit: ContainerExit) => void): void;
  /** Drops every timer (the agent stops). */
  shutdown(): void;
}

export class SandboxError extends Error {}

export interface SimulatedRuntimeOptions {
  podCIDR: string;
  hostIP: string;
  startupMs: Delay;
  runDurationMs: Delay;
  now: () => number;
}

interface SimContainer {
  cfg: ContainerConfig;
  timer?: NodeJS.Timeout;
  onExit?: (exit: ContainerExit) => void;
  running: boolean;
}

const sleep = (ms: number) =>
  new Promise<void>((resolve) => {
    if (ms <= 0) {
      setImmediate(resolve);
      return;
    }
    setTimeout(resolve, ms).unref();
  });

/** A runtime without processes, for scale tests: see the file comment. */
export class SimulatedRuntime implements Runtime {
  readonly version = RUNTIME_VERSION;
  private readonly pool: PodAddressPool;
  private readonly images = new Set<string>();
  private readonly pulling = new Map<string, Promise<number>>();
  private readonly containers = new Map<string, SimContainer>();
  private down = false;

  constructor(private readonly opts: SimulatedRuntimeOptions) {
    this.pool = new PodAddressPool(opts.podCIDR);
  }

  async runPodSandbox(cfg: SandboxConfig): Promise<Sandbox> {
    // Network setup is where a real ContainerCreating spends its time; the simulation waits as long.
    await sleep(sample(this.opts.startupMs));
    const ip = cfg.hostNetwork ? this.opts.hostIP : this.pool.allocate();
    if (!ip) throw new SandboxError(`failed to allocate for range 0: no IP addresses available in range set: ${this.opts.podCIDR}`);
    return { id: randomId(), ip };
  }

  async stopPodSandbox(sandbox: Sandbox): Promise<void> {
    if (sandbox.ip !== this.opts.hostIP) this.pool.release(sandbox.ip);
  }

  async ensureImage(image: string, pullPolicy: string, onPulling?: () => void): Promise<ImageResult> {
    const imageRef = `sim://${image}`;
    if (pullPolicy === 'Never' || (pullPolicy !== 'Always' && this.images.has(image))) return { imageRef, pulled: false };
    onPulling?.();
    // Pulls of one image share the one download, as layers are shared; each waiter reports its own wait.
    const started = this.opts.now();
    let pull = this.pulling.get(image);
    if (!pull) {
      pull = (async () => {
        const t0 = this.opts.now();
        await sleep(sample(this.opts.startupMs));
        this.images.add(image);
        return this.opts.now() - t0;
      })();
      this.pulling.set(image, pull);
      void pull.finally(() => this.pulling.delete(image));
    }
    const pullMs = await pull;
    return { imageRef, pulled: true, pullMs, totalMs: this.opts.now() - started, sizeBytes: simulatedImageSize(image) };
  }

  async createContainer(_sandbox: Sandbox, cfg: ContainerConfig): Promise<string> {
    const id = `sim://${randomId()}`;
    this.containers.set(id, { cfg, running: false });
    return id;
  }

  async startContainer(id: string, onExit: (exit: ContainerExit) => void): Promise<number> {
    const c = this.containers.get(id);
    if (!c) throw new Error(`container ${id} does not exist`);
    const startedAt = this.opts.now();
    this.run(id, c, startedAt, onExit);
    return startedAt;
  }

  async stopContainer(id: string, _gracePeriodSeconds: number): Promise<ContainerExit> {
    const c = this.containers.get(id);
    this.containers.delete(id);
    if (c?.timer) clearTimeout(c.timer);
    // The simulated process ignores SIGTERM, so it dies by SIGKILL: 128 + 9.
    return { exitCode: 137, reason: 'Error', finishedAt: this.opts.now() };
  }

  restoreSandbox(cfg: SandboxConfig, sandbox: Sandbox): boolean {
    if (cfg.hostNetwork || sandbox.ip === this.opts.hostIP) return true;
    return this.pool.reserve(sandbox.ip);
  }

  restoreContainer(id: string, cfg: ContainerConfig, startedAt: number, onExit: (exit: ContainerExit) => void): void {
    const c: SimContainer = { cfg, running: false };
    this.containers.set(id, c);
    this.run(id, c, startedAt, onExit);
  }

  shutdown(): void {
    this.down = true;
    for (const c of this.containers.values()) if (c.timer) clearTimeout(c.timer);
    this.containers.clear();
  }

  private run(id: string, c: SimContainer, startedAt: number, onExit: (exit: ContainerExit) => void): void {
    if (this.down) return;
    c.running = true;
    c.onExit = onExit;
    const program = programOf(c.cfg, this.opts.runDurationMs);
    if (program.runMs === undefined) return; // runs until stopped
    const left = Math.max(0, startedAt + program.runMs - this.opts.now());
    c.timer = setTimeout(() => {
      if (this.containers.get(id) !== c) return;
      c.running = false;
      c.timer = undefined;
      this.containers.delete(id);
      onExit({ exitCode: program.exitCode, reason: program.exitCode === 0 ? 'Completed' : 'Error', finishedAt: this.opts.now() });
    }, left);
    c.timer.unref();
  }
}

/**
 * What a simulated container does: init containers finish at once with 0, sidecars run until
 * stopped, and regular containers run `skiff.dev/simulated-run-ms` (or, for pods that are meant to
 * finish — restartPolicy Never/OnFailure, or an exit code asked for — the agent's runDurationMs) and
 * then exit with `skiff.dev/simulated-exit-code` (default 0). Other containers run until stopped.
 */
export function programOf(cfg: ContainerConfig, runDurationMs: Delay): { runMs?: number; exitCode: number } {
  if (cfg.kind === 'init') return { runMs: 0, exitCode: 0 };
  if (cfg.kind === 'sidecar') return { exitCode: 0 };
  const exitCode = parseExitCode(cfg.podAnnotations[ANNOTATION_EXIT_CODE]);
  const runMs = parseMs(cfg.podAnnotations[ANNOTATION_RUN_MS]);
  if (runMs !== undefined) return { runMs, exitCode: exitCode ?? 0 };
  if (cfg.restartPolicy === 'Never' || cfg.restartPolicy === 'OnFailure' || exitCode !== undefined) {
    return { runMs: sample(runDurationMs), exitCode: exitCode ?? 0 };
  }
  return { exitCode: 0 };
}

function parseExitCode(v: string | undefined): number | undefined {
  if (v === undefined || !/^\s*\d{1,3}\s*$/.test(v)) return undefined;
  const n = Number(v);
  return n <= 255 ? n : undefined;
}

function parseMs(v: string | undefined): number | undefined {
  if (v === undefined || !/^\s*\d+(\.\d+)?\s*$/.test(v)) return undefined;
  const n = Number(v);
  return Number.isFinite(n) ? n : undefined;
}

function randomId(): string {
  return randomBytes(32).toString('hex');
}

/** A stable, plausible image size: 5 MB to 250 MB by the name's hash (a simulated image has no bytes). */
function simulatedImageSize(image: string): number {
  const h = createHash('sha256').update(image).digest();
  return 5_000_000 + (h.readUInt32BE(0) % 245_000_000);
}
