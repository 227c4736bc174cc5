/**
 * For tests: a StreamingBackend whose "containers" are directories on this machine. exec runs a
 * real host process in the container's directory (node-pty for a terminal), log files are CRI
 * files the test writes, and port-forward reaches whatever listens on the pod IP (loopback).
 */
import { spawn } from 'node:child_process';
import { PassThrough, Writable } from 'node:stream';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import pty from 'node-pty';
import type { ProcessIO } from '../cri.js';
import type { ResolvedContainer, ResolvedPod, StreamingBackend, StreamingError } from './backend.js';

export interface HostContainer {
  id: string;
  name: string;
  /** The directory exec runs in: the container's filesystem, as far as relative paths go. */
  dir: string;
  logPath: string;
  previousLogPath?: string;
  /** Marks the container exited: a following log ends. */
  exit(): void;
  exitedPromise: Promise<void>;
}

export interface HostPod extends ResolvedPod {
  namespace: string;
  name: string;
  containers: Map<string, HostContainer>;
}

export class HostProcessBackend implements StreamingBackend {
  private readonly pods = new Map<string, HostPod>();
  private readonly byId = new Map<string, HostContainer>();
  /** Every exec the backend was asked for, for assertions. */
  readonly execs: { id: string; cmd: string[]; tty: boolean }[] = [];

  constructor(private readonly root: string) {}

  async addPod(namespace: string, name: string, containers: string[], opts: { podIP?: string; hostNetwork?: boolean } = {}): Promise<HostPod> {
    const pod: HostPod = {
      namespace,
      name,
      podUid: `uid-${namespace}-${name}`,
      podIP: opts.podIP ?? '127.0.0.1',
      hostNetwork: opts.hostNetwork ?? false,
      containers: new Map(),
    };
    for (const c of containers) {
      const dir = join(this.root, namespace, name, c);
      await mkdir(join(dir, 'rootfs'), { recursive: true });
      let exit!: () => void;
      const exitedPromise = new Promise<void>((resolve) => (exit = resolve));
      const hc: HostContainer = { id: `${namespace}.${name}.${c}`, name: c, dir: join(dir, 'rootfs'), logPath: join(dir, '0.log'), exit, exitedPromise };
      pod.containers.set(c, hc);
      this.byId.set(hc.id, hc);
    }
    this.pods.set(`${namespace}/${name}`, pod);
    return pod;
  }

  resolvePod(namespace: string, name: string): ResolvedPod | StreamingError {
    const p = this.pods.get(`${namespace}/${name}`);
    if (!p) return { code: 404, message: `pod "${name}" in namespace "${namespace}" not found` };
    return { podUid: p.podUid, podIP: p.podIP, hostNetwork: p.hostNetwork };
  }

  resolveContainer(namespace: string, name: string, container: string): ResolvedContainer | StreamingError {
    const p = this.pods.get(`${namespace}/${name}`);
    if (!p) return { code: 404, message: `pod "${name}" in namespace "${namespace}" not found` };
    const c = p.containers.get(container);
    if (!c) return { code: 404, message: `container "${container}" in pod "${name}" is not available` };
    return {
      podUid: p.podUid,
      podIP: p.podIP,
      hostNetwork: p.hostNetwork,
      containerId: c.id,
      containerName: c.name,
      logPath: c.logPath,
      previousLogPath: c.previousLogPath,
      waitForExit: () => c.exitedPromise,
    };
  }

  readonly runtime = {
    exec: (id: string, cmd: string[], opts: { tty: boolean; stdin: boolean; cols?: number; rows?: number }): ProcessIO => {
      const c = this.byId.get(id);
      if (!c) throw new Error(`container ${id} not found`);
      this.execs.push({ id, cmd, tty: opts.tty });
      return opts.tty ? ptyProcess(c.dir, cmd, opts) : pipeProcess(c.dir, cmd, opts.stdin);
    },
    attach: (): ProcessIO => {
      throw new Error('attach is not supported by the host-process backend');
    },
  };
}

function pipeProcess(cwd: string, cmd: string[], stdin: boolean): ProcessIO {
  const child = spawn(cmd[0], cmd.slice(1), { cwd, stdio: [stdin ? 'pipe' : 'ignore', 'pipe', 'pipe'] });
  const exited = new Promise<number>((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code, signal) => resolve(code ?? (signal ? -1 : 0)));
  });
  return {
    stdin: child.stdin ?? undefined,
    stdout: child.stdout ?? undefined,
    stderr: child.stderr ?? undefined,
    resize: () => undefined,
    exited,
    kill: () => {
      if (child.exitCode === null) child.kill('SIGKILL');
    },
  };
}

function ptyProcess(cwd: string, cmd: string[], opts: { cols?: number; rows?: number }): ProcessIO {
  const p = pty.spawn(cmd[0], cmd.slice(1), { cwd, cols: opts.cols ?? 80, rows: opts.rows ?? 24, env: process.env as Record<string, string> });
  const stdout = new PassThrough();
  p.onData((d) => stdout.write(d));
  const exited = new Promise<number>((resolve) => {
    p.onExit(({ exitCode }) => {
      stdout.end();
      resolve(exitCode);
    });
  });
  const stdin = new Writable({
    write(chunk: Buffer, _enc, cb) {
      p.write(chunk.toString('utf8'));
      cb();
    },
  });
  return {
    stdin,
    stdout,
    resize: (cols, rows) => p.resize(cols, rows),
    exited,
    kill: () => {
      try {
        p.kill();
      } catch {
        // already gone
      }
    },
  };
}
