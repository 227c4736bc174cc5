/** Runs host tools (ip, iptables, crun, CNI plugins) with captured output and a hard time limit. */
import { spawn } from 'node:child_process';

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
  /** Set when the command could not start at all (ENOENT: not installed). */
  spawnError?: string;
  timedOut: boolean;
}

export interface RunOptions {
  input?: string;
  env?: NodeJS.ProcessEnv;
  timeoutMs?: number;
}

const SBIN = ['/usr/local/sbin', '/usr/sbin', '/sbin'];

/**
 * The environment with the sbin directories on PATH: ip, iptables, mount live there, and a service
 * manager or sudo may start us without them (CNI plugins look iptables up on PATH too).
 */
export function withSbinPath(env: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  const parts = (env.PATH ?? '/usr/local/bin:/usr/bin:/bin').split(':');
  const missing = SBIN.filter((d) => !parts.includes(d));
  return missing.length ? { ...env, PATH: [...parts, ...missing].join(':') } : env;
}

/** Never throws: a missing binary, a signal and a timeout all come back as a non-zero result. */
export function run(cmd: string, args: string[], opts: RunOptions = {}): Promise<RunResult> {
  return new Promise((resolvePromise) => {
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    let settled = false;
    const finish = (r: RunResult) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolvePromise(r);
    };
    const child = spawn(cmd, args, { env: withSbinPath(opts.env ?? process.env), stdio: ['pipe', 'pipe', 'pipe'] });
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, opts.timeoutMs ?? 30_000);
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', (err) => finish({ code: 127, stdout, stderr, spawnError: err.message, timedOut }));
    child.on('close', (code, signal) => finish({ code: code ?? (signal ? 128 : 1), stdout, stderr, timedOut }));
    // A plugin that exits before reading its config closes stdin under us; that is its answer, not ours.
    child.stdin.on('error', () => {});
    child.stdin.end(opts.input ?? '');
  });
}

/** Like run, but throws with the tool's own words when it fails. */
export async function runOk(cmd: string, args: string[], opts: RunOptions = {}): Promise<string> {
  const r = await run(cmd, args, opts);
  if (r.code !== 0) {
    const why = r.spawnError ?? (r.timedOut ? 'timed out' : (r.stderr.trim() || r.stdout.trim() || `exit code ${r.code}`));
    throw new Error(`${cmd} ${args.join(' ')}: ${why}`);
  }
  return r.stdout;
}
