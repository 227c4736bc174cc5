/**
 * The server under test: a real `skiff up` child process (built CLI, temp data dir, free port on
 * loopback), optionally on a real etcd started here. Measures ready time (spawn → /readyz 200 over
 * HTTPS), reads RSS and CPU time from /proc, and can take per-phase CPU profiles through the
 * inspector (`--profile`).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { get } from 'node:http';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import WebSocket from 'ws';
import { freePort, startEtcd, type EtcdProcess } from '../test/harness/etcd.js';
import { RawConnection, type Endpoint } from './http-client.js';

export type Backend = 'sqlite' | 'etcd';

const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const SKIFF_BIN = join(REPO_ROOT, 'bin', 'skiff.js');
const READY_TIMEOUT_MS = 30_000;
const STOP_TIMEOUT_MS = 10_000;
const CLK_TCK = 100; // Linux USER_HZ

export interface ProcSample {
  rssKiB: number;
  hwmKiB: number;
  cpuSeconds: number;
}

/** VmRSS, VmHWM and user+system CPU time of a process, from /proc. */
export function procSample(pid: number): ProcSample {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kib = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN);
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // After "pid (comm) ": field 3 (state) is index 0, so utime (14) is index 11 and stime (15) index 12.
  const cpuSeconds = (Number(fields[11]) + Number(fields[12])) / CLK_TCK;
  return { rssKiB: kib('VmRSS'), hwmKiB: kib('VmHWM'), cpuSeconds };
}

/** CPU-seconds the whole machine has been busy (all cores, everything but idle and iowait). */
export function machineBusySeconds(): number {
  const line = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0];
  const v = line.trim().split(/\s+/).slice(1).map(Number);
  // user nice system idle iowait irq softirq steal guest guest_nice; guest time is already in user.
  const total = v.slice(0, 8).reduce((a, b) => a + b, 0);
  return (total - v[3] - v[4]) / CLK_TCK;
}

/**
 * Waits (bounded) until the rest of the machine is quiet: other processes using less than
 * `maxOthersPercent` of one core over a one-second window. Returns the last window's figure.
 */
export async function waitForQuiet(maxOthersPercent: number, maxWaitMs: number): Promise<number> {
  const deadline = performance.now() + maxWaitMs;
  for (;;) {
    const m0 = machineBusySeconds();
    const c0 = process.cpuUsage();
    await sleep(1000);
    const c = process.cpuUsage(c0);
    const others = 100 * (machineBusySeconds() - m0 - (c.user + c.system) / 1e6);
    if (others <= maxOthersPercent || performance.now() >= deadline) return Math.max(0, Math.round(others));
  }
}

/** The pid of the etcd serving `dataDir` (found by its command line; the harness keeps its child private). */
function findEtcdPid(dataDir: string): number | undefined {
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const argv = readFileSync(`/proc/${d}/cmdline`, 'utf8').split('\0');
      if (/etcd$/.test(argv[0] ?? '') && argv.includes(dataDir)) return Number(d);
    } catch {
      // gone meanwhile
    }
  }
  return undefined;
}

export interface StartOptions {
  backend: Backend;
  /** Start the server with --inspect so phases can be profiled. */
  profile: boolean;
  /** More `skiff up` flags (e.g. `--simulated-nodes 100`). */
  extraArgs?: string[];
  /** More flags for node itself (e.g. `--max-old-space-size=4096`). */
  nodeFlags?: string[];
}

export class ServerUnderTest {
  readonly backend: Backend;
  dataDir = '';
  port = 0;
  endpoint!: Endpoint;
  etcd: EtcdProcess | undefined;
  etcdPid: number | undefined;
  private child: ChildProcess | undefined;
  private output = '';
  private inspectPort = 0;
  private inspector: Inspector | undefined;
  private readonly profile: boolean;
  private readonly extraArgs: string[];
  private readonly extraNodeFlags: string[];

  constructor(opts: StartOptions) {
    this.backend = opts.backend;
    this.profile = opts.profile;
    this.extraArgs = opts.extraArgs ?? [];
    this.extraNodeFlags = opts.nodeFlags ?? [];
  }

  get pid(): number {
    return this.child!.pid!;
  }

  /** Last part of what the server printed (for failure messages). */
  log(): string {
    return this.output.slice(-4000);
  }

  /** Prepares a data dir, a port and (for etcd) a running etcd; the skiff process is not started yet. */
  async prepare(): Promise<void> {
    this.dataDir = await mkdtemp(join(tmpdir(), 'skiff-bench-'));
    this.port = await freePort();
    if (this.backend === 'etcd') {
      this.etcd = await startEtcd();
      this.etcdPid = findEtcdPid(this.etcd.dataDir);
    }
  }

  /** Spawns `skiff up` and returns milliseconds from spawn to the first 200 from /readyz over HTTPS. */
  async start(): Promise<number> {
    const args = [SKIFF_BIN, 'up', '--data-dir', this.dataDir, '--bind-address', '127.0.0.1', '--port', String(this.port), '--storage', this.backend];
    if (this.etcd) args.push('--etcd-endpoints', this.etcd.endpoint);
    args.push(...this.extraArgs);
    const nodeFlags: string[] = [...this.extraNodeFlags];
    if (this.profile) {
      this.inspectPort = await freePort();
      nodeFlags.push(`--inspect=127.0.0.1:${this.inspectPort}`);
    }
    this.output = '';
    const t0 = performance.now();
    const child = spawn(process.execPath, [...nodeFlags, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    this.child = child;
    const keep = (b: Buffer) => {
      this.output = (this.output + b.toString()).slice(-20_000);
    };
    child.stdout!.on('data', keep);
    child.stderr!.on('data', keep);
    let exited = false;
    child.once('exit', () => (exited = true));

    // The certificates exist once the server listens; until then /readyz cannot be asked over mTLS.
    const deadline = t0 + READY_TIMEOUT_MS;
    while (performance.now() < deadline) {
      if (exited) throw new Error(`skiff up exited during start:\n${this.log()}`);
      if (await this.readyzOk()) {
        const ms = performance.now() - t0;
        if (this.profile) this.inspector = await Inspector.connect(this.inspectPort);
        return ms;
      }
      await sleep(5);
    }
    throw new Error(`skiff up was not ready in ${READY_TIMEOUT_MS} ms:\n${this.log()}`);
  }

  /**
   * Waits (bounded) until the server has printed a line matching `re` (e.g. skiff up's "simulated
   * node(s) registered", printed once every simulated node has registered). Fails if it exits first.
   */
  async waitForOutput(re: RegExp, timeoutMs: number): Promise<void> {
    const deadline = performance.now() + timeoutMs;
    while (!re.test(this.output)) {
      const p = this.child;
      if (!p || p.exitCode !== null || p.signalCode !== null) throw new Error(`skiff up exited while waiting for ${re}:\n${this.log()}`);
      if (performance.now() >= deadline) throw new Error(`skiff up did not print ${re} in ${timeoutMs} ms:\n${this.log()}`);
      await sleep(20);
    }
  }

  private async readyzOk(): Promise<boolean> {
    if (!this.endpoint) {
      try {
        const pki = join(this.dataDir, 'pki');
        const [ca, cert, key] = await Promise.all(['ca.crt', 'admin.crt', 'admin.key'].map((f) => readFile(join(pki, f), 'utf8')));
        this.endpoint = { host: '127.0.0.1', port: this.port, ca, cert, key };
      } catch {
        return false;
      }
    }
    const c = new RawConnection(this.endpoint);
    try {
      const r = await c.request('GET', '/readyz');
      return r.status === 200;
    } catch {
      return false;
    } finally {
      c.close();
    }
  }

  sample(): ProcSample {
    return procSample(this.pid);
  }

  etcdSample(): ProcSample | undefined {
    return this.etcdPid ? procSample(this.etcdPid) : undefined;
  }

  async startProfile(): Promise<void> {
    await this.inspector?.startProfile();
  }

  /** Stops the running profile and writes it to `file`; returns the path, or undefined when not profiling. */
  async stopProfile(file: string): Promise<string | undefined> {
    if (!this.inspector) return undefined;
    const profile = await this.inspector.stopProfile();
    await writeFile(file, JSON.stringify(profile));
    return file;
  }

  /** SIGTERM, SIGKILL after a while; returns milliseconds until the process exited. */
  async stop(): Promise<number> {
    this.inspector?.close();
    this.inspector = undefined;
    const p = this.child;
    if (!p || p.exitCode !== null || p.signalCode !== null) return 0;
    const t0 = performance.now();
    await new Promise<void>((res) => {
      const t = setTimeout(() => p.kill('SIGKILL'), STOP_TIMEOUT_MS);
      p.once('exit', () => {
        clearTimeout(t);
        res();
      });
      p.kill('SIGTERM');
    });
    return performance.now() - t0;
  }

  /** Kills without waiting (watchdog path). */
  killNow(): void {
    this.child?.kill('SIGKILL');
  }

  async cleanup(): Promise<void> {
    await this.stop();
    await this.etcd?.stop();
    if (this.dataDir) await rm(this.dataDir, { recursive: true, force: true });
  }
}

/** Just enough of the Chrome DevTools protocol to start and stop the CPU profiler. */
class Inspector {
  private nextId = 1;
  private readonly waiting = new Map<number, { resolve(v: any): void; reject(e: Error): void }>();

  private constructor(private readonly ws: WebSocket) {
    ws.on('message', (data) => {
      const msg = JSON.parse(String(data));
      const w = msg.id !== undefined ? this.waiting.get(msg.id) : undefined;
      if (!w) return;
      this.waiting.delete(msg.id);
      if (msg.error) w.reject(new Error(msg.error.message));
      else w.resolve(msg.result);
    });
  }

  static async connect(port: number): Promise<Inspector> {
    const list = await new Promise<string>((resolve, reject) => {
      get(`http://127.0.0.1:${port}/json/list`, (res) => {
        let body = '';
        res.on('data', (b) => (body += b));
        res.on('end', () => resolve(body));
      }).on('error', reject);
    });
    const url = (JSON.parse(list) as { webSocketDebuggerUrl: string }[])[0].webSocketDebuggerUrl;
    const ws = new WebSocket(url, { maxPayload: 1024 * 1024 * 1024 });
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
    });
    const insp = new Inspector(ws);
    await insp.send('Profiler.enable');
    await insp.send('Profiler.setSamplingInterval', { interval: 250 });
    return insp;
  }

  send(method: string, params: object = {}): Promise<any> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.waiting.set(id, { resolve, reject });
      this.ws.send(JSON.stringify({ id, method, params }));
    });
  }

  async startProfile(): Promise<void> {
    await this.send('Profiler.start');
  }

  async stopProfile(): Promise<object> {
    const r = await this.send('Profiler.stop');
    return r.profile;
  }

  close(): void {
    this.ws.close();
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
