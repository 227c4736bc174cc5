/**
 * A real `skiff up` for e2e tests: the built CLI in a child process, a temp data dir, a free port,
 * and the real kubectl pointed at it through the kubeconfig skiff writes.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startEtcd, type EtcdProcess } from './etcd.js';

const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const SKIFF_BIN = join(REPO_ROOT, 'bin', 'skiff.js');
const READY_TIMEOUT_MS = 30_000;

export type Backend = 'sqlite' | 'etcd';

export interface SkiffProcess {
  url: string;
  port: number;
  dataDir: string;
  kubeconfig: string;
  /** Output the server printed so far (for failure messages). */
  output(): string;
  /** Stops the server (SIGTERM) and starts it again on the same data dir and port. */
  restart(): Promise<void>;
  /** Kills the server at once (SIGKILL), as a crash: nothing is released. */
  kill(): Promise<void>;
  stop(): Promise<void>;
}

export interface StartSkiffOptions {
  backend?: Backend;
  extraArgs?: string[];
  /** `up` (default) or `server`. */
  command?: 'up' | 'server';
  /** An etcd to share with other servers (the caller stops it); otherwise one is started for etcd. */
  etcd?: EtcdProcess;
  /** A data dir to share (its PKI) with another server; the caller removes it. */
  dataDir?: string;
  /**
   * Run `skiff up`'s real node agent (root, crun, CNI). Off by default: API and simulated-node suites
   * must not get a real node that the scheduler would place their pods on.
   */
  realAgent?: boolean;
}

/** The backends the API e2e suites run against: both by default, or SKIFF_E2E_BACKENDS=sqlite. */
export function e2eBackends(): Backend[] {
  const env = process.env.SKIFF_E2E_BACKENDS;
  if (!env) return ['sqlite', 'etcd'];
  return env.split(',').map((s) => s.trim()) as Backend[];
}

export async function startSkiff(opts: StartSkiffOptions = {}): Promise<SkiffProcess> {
  const backend = opts.etcd ? 'etcd' : (opts.backend ?? 'sqlite');
  const ownDataDir = !opts.dataDir;
  const dataDir = opts.dataDir ?? (await mkdtemp(join(tmpdir(), 'skiff-e2e-')));
  let etcd: EtcdProcess | undefined;
  const args = [opts.command ?? 'up', '--data-dir', dataDir, '--bind-address', '127.0.0.1', '--storage', backend, ...(opts.extraArgs ?? [])];
  const simulated = args.includes('--simulated-nodes');
  if ((opts.command ?? 'up') === 'up' && !opts.realAgent && !simulated && !args.includes('--no-agent')) args.push('--no-agent');
  if (backend === 'etcd') {
    etcd = opts.etcd ?? (await startEtcd());
    args.push('--etcd-endpoints', etcd.endpoint);
  }
  const ownEtcd = etcd !== opts.etcd;
  let port = 0;
  let child: ChildProcess | undefined;
  let out = '';

  const launch = async () => {
    out = '';
    const p = spawn(process.execPath, [SKIFF_BIN, ...args, '--port', String(port)], { stdio: ['ignore', 'pipe', 'pipe'] });
    child = p;
    const ready = new Promise<void>((resolveReady, reject) => {
      const timer = setTimeout(() => reject(new Error(`skiff up did not become ready in ${READY_TIMEOUT_MS} ms:\n${out}`)), READY_TIMEOUT_MS);
      const onData = (b: Buffer) => {
        out += b.toString();
        const m = /ready at https:\/\/127\.0\.0\.1:(\d+)/.exec(out);
        if (m) {
          clearTimeout(timer);
          port = Number(m[1]);
          resolveReady();
        }
      };
      p.stdout!.on('data', onData);
      p.stderr!.on('data', (b: Buffer) => (out += b.toString()));
      p.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`skiff up exited with ${code}:\n${out}`));
      });
    });
    await ready;
  };

  const stopChild = async () => {
    const p = child;
    if (!p || p.exitCode !== null || p.signalCode !== null) return;
    await new Promise<void>((res) => {
      const t = setTimeout(() => p.kill('SIGKILL'), 10_000);
      p.once('exit', () => {
        clearTimeout(t);
        res();
      });
      p.kill('SIGTERM');
    });
  };

  await launch();
  return {
    get url() {
      return `https://127.0.0.1:${port}`;
    },
    get port() {
      return port;
    },
    dataDir,
    kubeconfig: join(dataDir, 'kubeconfig'),
    output: () => out,
    async restart() {
      await stopChild();
      await launch();
    },
    async kill() {
      const p = child;
      if (!p || p.exitCode !== null || p.signalCode !== null) return;
      await new Promise<void>((res) => {
        p.once('exit', () => res());
        p.kill('SIGKILL');
      });
    },
    async stop() {
      await stopChild();
      if (ownEtcd) await etcd?.stop();
      if (ownDataDir) await rm(dataDir, { recursive: true, force: true });
    },
  };
}

export function findKubectl(): string {
  for (const p of ['/usr/bin/kubectl', '/usr/local/bin/kubectl']) {
    try {
      accessSync(p, constants.X_OK);
      return p;
    } catch {
      // try the next one
    }
  }
  throw new Error("kubectl not found: install Debian's kubernetes-client (apt-get install -y kubernetes-client) or put kubectl at /usr/bin/kubectl");
}

export interface KubectlResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface KubectlOptions {
  /** Extra environment for this kubectl (e.g. KUBE_EDITOR for `kubectl edit`). */
  env?: Record<string, string>;
}

/** Runs the real kubectl against a skiff; `input` goes to stdin (for `apply -f -`). */
export function kubectl(s: SkiffProcess, args: string[], input?: string, opts: KubectlOptions = {}): Promise<KubectlResult> {
  const bin = findKubectl();
  return new Promise((res) => {
    const p = execFile(
      bin,
      ['--kubeconfig', s.kubeconfig, ...args],
      { timeout: 60_000, maxBuffer: 64 * 1024 * 1024, env: { ...process.env, KUBECONFIG: s.kubeconfig, HOME: s.dataDir, ...opts.env } },
      (err, stdout, stderr) => {
        const code = err ? (typeof (err as any).code === 'number' ? (err as any).code : 1) : 0;
        res({ code, stdout, stderr });
      },
    );
    if (input !== undefined) p.stdin!.end(input);
    else p.stdin?.end();
  });
}

/** kubectl that must succeed: returns stdout, throws with stderr otherwise. */
export async function kubectlOk(s: SkiffProcess, args: string[], input?: string, opts: KubectlOptions = {}): Promise<string> {
  const r = await kubectl(s, args, input, opts);
  if (r.code !== 0) throw new Error(`kubectl ${args.join(' ')} failed (${r.code}):\n${r.stderr}\n${r.stdout}`);
  return r.stdout;
}

/** Starts a kubectl that keeps running (get -w): collects its output until stopped. */
export function kubectlStream(
  s: SkiffProcess,
  args: string[],
): { output(): string; stop(): Promise<number | null>; waitFor(re: RegExp, ms?: number): Promise<string>; exited(ms?: number): Promise<number | null> } {
  const bin = findKubectl();
  const p = spawn(bin, ['--kubeconfig', s.kubeconfig, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, HOME: s.dataDir } });
  let out = '';
  p.stdout.on('data', (b: Buffer) => (out += b.toString()));
  p.stderr.on('data', (b: Buffer) => (out += b.toString()));
  const exit = new Promise<number | null>((res) => p.once('exit', (code) => res(code)));
  return {
    output: () => out,
    /** Resolves with the exit code once kubectl ends by itself (e.g. `kubectl wait`); rejects after `ms`. */
    exited: (ms = 30_000) =>
      new Promise((res, rej) => {
        const t = setTimeout(() => rej(new Error(`kubectl ${args.join(' ')} did not exit in ${ms} ms:\n${out}`)), ms);
        void exit.then((code) => {
          clearTimeout(t);
          res(code);
        });
      }),
    stop: () =>
      new Promise((res) => {
        // A kubectl that is gone already (by itself, or stopped before) has nothing left to stop.
        if (p.exitCode !== null || p.signalCode !== null) return res(p.exitCode);
        p.once('exit', (code) => res(code));
        p.kill('SIGTERM');
      }),
    waitFor: (re, ms = 15_000) =>
      new Promise((res, rej) => {
        const started = Date.now();
        const check = () => {
          if (re.test(out)) return res(out);
          if (Date.now() - started > ms) return rej(new Error(`timed out waiting for ${re} in kubectl output:\n${out}`));
          setTimeout(check, 50);
        };
        check();
      }),
  };
}

export interface AgentProcess {
  output(): string;
  /** SIGKILL: the nodes stop renewing their Leases at once, as a machine that died. */
  kill(): Promise<void>;
  stop(): Promise<void>;
}

/** `skiff agent ARGS` against a running skiff, using its kubeconfig; resolves once its nodes run. */
export async function startSkiffAgent(s: SkiffProcess, args: string[]): Promise<AgentProcess> {
  const p = spawn(process.execPath, [SKIFF_BIN, 'agent', '--kubeconfig', s.kubeconfig, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  p.stdout!.on('data', (b: Buffer) => (out += b.toString()));
  p.stderr!.on('data', (b: Buffer) => (out += b.toString()));
  const exited = new Promise<void>((res) => p.once('exit', () => res()));
  await new Promise<void>((res, rej) => {
    const t = setTimeout(() => rej(new Error(`skiff agent did not start in ${READY_TIMEOUT_MS} ms:\n${out}`)), READY_TIMEOUT_MS);
    p.stdout!.on('data', () => {
      if (/simulated node\(s\) running/.test(out)) {
        clearTimeout(t);
        res();
      }
    });
    void exited.then(() => {
      clearTimeout(t);
      rej(new Error(`skiff agent exited:\n${out}`));
    });
  });
  const end = async (signal: NodeJS.Signals) => {
    if (p.exitCode !== null || p.signalCode !== null) return;
    p.kill(signal);
    await exited;
  };
  return { output: () => out, kill: () => end('SIGKILL'), stop: () => end('SIGTERM') };
}

/**
 * For suites about the API machinery itself (patches, status, apply on Deployments as plain data):
 * the workload controllers stay off so objects change only by the test's hand. Workloads have
 * their own suite (kubectl-workloads) with every controller on.
 */
export const API_ONLY_ARGS = ['--controllers', '*,-deployment,-replicaset,-daemonset,-statefulset,-job,-cronjob,-disruption'];
