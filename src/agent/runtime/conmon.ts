/**
 * Starting a container under conmon, CRI-O's container monitor, the way CRI-O does: conmon runs
 * `crun create`, reports the container's pid on the sync pipe (`_OCI_SYNCPIPE`, one JSON line
 * `{"data": <pid>}`, or a negative value and the runtime's stderr as `message`), then stays as the
 * container's parent: it writes the log in CRI format, an exit file when the process ends (`<exit
 * dir>/<id>` and `<persist dir>/exit`), an `oom` file in the persist dir when the memory cgroup reports
 * an OOM kill, and listens on `<bundle>/ctl` for control lines "<type> <height> <width>\n" (1 resize,
 * 2 reopen the log). conmon double-forks into its own session, so it outlives the agent. It first
 * blocks on the start pipe (`_OCI_STARTPIPE`) so the caller can move it into a cgroup of its own
 * before it forks (a service manager stopping the agent's cgroup must not kill the monitors).
 */
import { spawn } from 'node:child_process';
import { constants, openSync, closeSync, writeSync } from 'node:fs';
import type { Socket } from 'node:net';
import { join } from 'node:path';

export interface ConmonCreateOptions {
  conmon: string;
  crun: string;
  /** crun's state directory (`crun --root`). */
  crunRoot: string;
  id: string;
  bundle: string;
  name: string;
  exitDir: string;
  socketDir: string;
  logPath: string;
  /** Bytes after which conmon truncates the log (the agent rotates before that); absent: no limit. */
  logSizeMax?: number;
  stdin: boolean;
  stdinOnce: boolean;
  tty: boolean;
  /** Called with conmon's pid before it forks (to move it into a cgroup). */
  beforeStart?: (conmonPid: number) => void;
  timeoutMs?: number;
}

export class ConmonError extends Error {}

/** Runs `crun create` under a new conmon; resolves with the container's pid once it is created. */
export function createUnderConmon(o: ConmonCreateOptions): Promise<number> {
  const args = [
    '--api-version', '1',
    '-c', o.id,
    '-u', o.id,
    '-n', o.name,
    '-r', o.crun,
    '--runtime-arg', `--root=${o.crunRoot}`,
    '-b', o.bundle,
    '-p', join(o.bundle, 'pidfile'),
    '-P', join(o.bundle, 'conmon.pid'),
    '-0', o.bundle,
    '--exit-dir', o.exitDir,
    '--socket-dir-path', o.socketDir,
    '-l', `k8s-file:${o.logPath}`,
    '--log-level', 'error',
  ];
  if (o.logSizeMax !== undefined && o.logSizeMax > 0) args.push('--log-size-max', String(o.logSizeMax));
  if (o.tty) args.push('-t');
  if (o.stdin) {
    args.push('-i');
    if (!o.stdinOnce) args.push('--leave-stdin-open');
  }
  return new Promise((resolve, reject) => {
    const child = spawn(o.conmon, args, {
      cwd: o.bundle,
      detached: true,
      stdio: ['ignore', 'ignore', 'pipe', 'pipe', 'pipe'],
      env: { ...process.env, _OCI_SYNCPIPE: '3', _OCI_STARTPIPE: '4' },
    });
    const sync = child.stdio[3] as Socket;
    const start = child.stdio[4] as Socket;
    let stderr = '';
    let buf = '';
    let settled = false;
    const timer = setTimeout(() => finish(new ConmonError(`conmon: no answer from crun create after ${(o.timeoutMs ?? 60_000) / 1000}s`)), o.timeoutMs ?? 60_000);
    const finish = (result: number | Error) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      sync.destroy();
      start.destroy();
      child.stderr?.destroy();
      child.unref();
      if (typeof result === 'number') resolve(result);
      else reject(result);
    };
    child.stderr?.on('data', (d) => (stderr += String(d)));
    child.on('error', (err) => finish(new ConmonError(`conmon: ${err.message}`)));
    sync.on('data', (d) => {
      buf += String(d);
      const nl = buf.indexOf('\n');
      if (nl < 0) return;
      let msg: { data?: number; message?: string };
      try {
        msg = JSON.parse(buf.slice(0, nl));
      } catch {
        finish(new ConmonError(`conmon: unreadable sync message ${JSON.stringify(buf.slice(0, nl))}`));
        return;
      }
      if (typeof msg.data === 'number' && msg.data > 0) finish(msg.data);
      else finish(new ConmonError((msg.message ?? stderr).trim() || 'crun create failed'));
    });
    sync.on('error', () => {});
    start.on('error', () => {});
    // Both ends close without a pid: conmon (or crun under it) failed before creating the container.
    sync.on('close', () => setTimeout(() => finish(new ConmonError(stderr.trim() || 'conmon exited before the container was created')), 50));
    if (child.pid !== undefined) {
      try {
        o.beforeStart?.(child.pid);
      } catch {
        /* accounting only */
      }
    }
    start.write('0');
  });
}

/** Writes a control line to conmon's ctl fifo; false when no conmon reads it any more. */
export function writeControl(bundle: string, line: string): boolean {
  let fd: number;
  try {
    fd = openSync(join(bundle, 'ctl'), constants.O_WRONLY | constants.O_NONBLOCK);
  } catch {
    return false;
  }
  try {
    writeSync(fd, line);
    return true;
  } catch {
    return false;
  } finally {
    closeSync(fd);
  }
}

export const REOPEN_LOG = '2 0 0\n';
export function resizeLine(cols: number, rows: number): string {
  return `1 ${Math.max(1, Math.floor(rows))} ${Math.max(1, Math.floor(cols))}\n`;
}
