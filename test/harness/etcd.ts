/**
 * A real etcd for tests: one member on loopback ports, a fresh data directory, started and
 * stopped by the test. A missing etcd binary is an error, never a skip: a suite that silently
 * did not run would look green.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { get } from 'node:http';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';

const INSTALL_HINT = "install Debian's etcd-server: apt-get install -y etcd-server";
const READY_TIMEOUT_MS = 20_000;
const STOP_TIMEOUT_MS = 10_000;

export interface EtcdProcess {
  /** The client URL, e.g. http://127.0.0.1:41234. */
  readonly endpoint: string;
  readonly endpoints: string[];
  readonly dataDir: string;
  /** Stops etcd and keeps the data directory, then starts it again on the same ports. */
  restart(): Promise<void>;
  /** Stops etcd and removes the data directory. */
  stop(): Promise<void>;
}

/** A TCP port on 127.0.0.1 that was free a moment ago (the OS picks it). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => {
        if (address && typeof address === 'object') resolve(address.port);
        else reject(new Error('could not read the port of a listening socket'));
      });
    });
  });
}

export function findEtcdBinary(): string {
  const candidates = ['/usr/bin/etcd', ...(process.env.PATH ?? '').split(delimiter).filter(Boolean).map((d) => join(d, 'etcd'))];
  for (const path of candidates) {
    try {
      accessSync(path, constants.X_OK);
      return path;
    } catch {
      // keep looking
    }
  }
  throw new Error(`etcd binary not found (looked in /usr/bin and PATH); ${INSTALL_HINT}`);
}

/** Starts an etcd member; on "address in use" (a port taken since we picked it) it retries with new ports. */
export async function startEtcd(): Promise<EtcdProcess> {
  const binary = findEtcdBinary();
  const dataDir = await mkdtemp(join(tmpdir(), 'skiff-etcd-'));
  let lastError: unknown;
  for (let attempt = 0; attempt < 3; attempt++) {
    const [clientPort, peerPort] = [await freePort(), await freePort()];
    const instance = new EtcdInstance(binary, dataDir, clientPort, peerPort);
    try {
      await instance.start();
      return instance;
    } catch (err) {
      lastError = err;
      await instance.kill();
      if (!/address already in use/.test(String(err))) break;
    }
  }
  await rm(dataDir, { recursive: true, force: true });
  throw lastError;
}

class EtcdInstance implements EtcdProcess {
  readonly endpoint: string;
  readonly endpoints: string[];
  private child?: ChildProcess;
  private exited?: Promise<void>;
  private readonly killOnExit = () => this.child?.kill('SIGKILL');

  constructor(
    private readonly binary: string,
    readonly dataDir: string,
    private readonly clientPort: number,
    private readonly peerPort: number,
  ) {
    this.endpoint = `http://127.0.0.1:${clientPort}`;
    this.endpoints = [this.endpoint];
  }

  async start(): Promise<void> {
    const peer = `http://127.0.0.1:${this.peerPort}`;
    const args = [
      '--name', 'skiff-test',
      '--data-dir', this.dataDir,
      '--listen-client-urls', this.endpoint,
      '--advertise-client-urls', this.endpoint,
      '--listen-peer-urls', peer,
      '--initial-advertise-peer-urls', peer,
      '--initial-cluster', `skiff-test=${peer}`,
      '--initial-cluster-state', 'new',
      '--initial-cluster-token', `skiff-test-${this.clientPort}`,
      '--logger', 'zap',
      '--log-level', 'warn',
    ];
    // A clean environment: ETCD_* variables of the caller would silently override the flags.
    const env = { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? '/tmp' };
    const child = spawn(this.binary, args, { env, stdio: ['ignore', 'ignore', 'pipe'] });
    this.child = child;
    process.once('exit', this.killOnExit);
    let stderr = '';
    child.stderr!.setEncoding('utf8');
    child.stderr!.on('data', (chunk: string) => {
      stderr = (stderr + chunk).slice(-4000);
    });
    this.exited = new Promise((resolve) => child.once('exit', () => resolve()));
    const died = this.exited.then(() => {
      throw new Error(`etcd exited before it was ready:\n${stderr}`);
    });
    const spawnFailed = new Promise<never>((_, reject) => child.once('error', reject));
    await Promise.race([this.waitHealthy(), died, spawnFailed]);
  }

  async restart(): Promise<void> {
    await this.kill();
    await this.start();
  }

  async stop(): Promise<void> {
    await this.kill();
    await rm(this.dataDir, { recursive: true, force: true });
  }

  /** SIGTERM, then SIGKILL if etcd is still there after a while; resolves once it has exited. */
  async kill(): Promise<void> {
    const child = this.child;
    if (!child) return;
    this.child = undefined;
    process.removeListener('exit', this.killOnExit);
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS);
      await this.exited;
      clearTimeout(timer);
    }
  }

  private async waitHealthy(): Promise<void> {
    const deadline = Date.now() + READY_TIMEOUT_MS;
    while (Date.now() < deadline) {
      if (this.child === undefined || this.child.exitCode !== null) return; // `died` reports it
      if (await this.healthy()) return;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    throw new Error(`etcd at ${this.endpoint} was not healthy after ${READY_TIMEOUT_MS} ms`);
  }

  private healthy(): Promise<boolean> {
    return new Promise((resolve) => {
      const req = get(`${this.endpoint}/health`, { timeout: 1000 }, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (body += chunk));
        res.on('end', () => resolve(res.statusCode === 200 && /"health":\s*"true"/.test(body)));
      });
      req.on('timeout', () => req.destroy());
      req.on('error', () => resolve(false));
    });
  }
}
