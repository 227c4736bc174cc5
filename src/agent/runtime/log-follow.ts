/**
 * Attach output without conmon's attach socket (SOCK_SEQPACKET, which Node's net cannot open): the
 * container's CRI log, followed from its current end. Each line is "<RFC3339Nano> <stream> <P|F>
 * <text>"; a P(artial) line continues in the next one, an F(ull) line ends with a newline.
 */
import { closeSync, openSync, readSync, statSync, watch, type FSWatcher } from 'node:fs';
import { PassThrough } from 'node:stream';
import { parseRecord } from '../logs/cri-log.js';

const NEWLINE = Buffer.from('\n');

export interface LogFollower {
  stdout: PassThrough;
  stderr: PassThrough;
  stop(): void;
}

/**
 * Follows `path` from its end (a log rotated under it is read from its start again). `isDone` is
 * asked on every poll: once true, what is left is read and the streams end.
 */
export function followLog(path: string, isDone: () => boolean, pollMs = 200): LogFollower {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let offset = size(path);
  let ino = inode(path);
  let rest = '';
  let stopped = false;
  let watcher: FSWatcher | undefined;
  try {
    watcher = watch(path, () => drain());
    watcher.on('error', () => {});
  } catch {
    watcher = undefined;
  }
  const timer = setInterval(() => {
    const done = isDone();
    drain();
    if (done) stop();
  }, pollMs);

  function drain(): void {
    if (stopped) return;
    const nowIno = inode(path);
    if (nowIno !== ino || size(path) < offset) {
      ino = nowIno;
      offset = 0;
      rest = '';
    }
    let fd: number;
    try {
      fd = openSync(path, 'r');
    } catch {
      return;
    }
    try {
      const buf = Buffer.alloc(64 * 1024);
      for (;;) {
        const n = readSync(fd, buf, 0, buf.length, offset);
        if (n <= 0) break;
        offset += n;
        rest += buf.subarray(0, n).toString('utf8');
      }
    } finally {
      closeSync(fd);
    }
    let nl: number;
    while ((nl = rest.indexOf('\n')) >= 0) {
      const parsed = parseRecord(Buffer.from(rest.slice(0, nl), 'utf8'));
      rest = rest.slice(nl + 1);
      if (!parsed) continue;
      (parsed.stream === 'stdout' ? stdout : stderr).write(parsed.partial ? parsed.text : Buffer.concat([parsed.text, NEWLINE]));
    }
  }

  function stop(): void {
    if (stopped) return;
    stopped = true;
    clearInterval(timer);
    watcher?.close();
    stdout.end();
    stderr.end();
  }
  return { stdout, stderr, stop };
}

function size(path: string): number {
  try {
    return statSync(path).size;
  } catch {
    return 0;
  }
}

function inode(path: string): number {
  try {
    return statSync(path).ino;
  } catch {
    return -1;
  }
}
