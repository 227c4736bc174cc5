/**
 * Container logs in the CRI format conmon writes: one record per line,
 *
 *   2024-05-01T10:00:00.123456789Z stdout F hello world
 *   <RFC 3339 nano timestamp> <stream> <tag> <text>
 *
 * where tag F ends a line and P is a partial record (the runtime cut a long line; the next record
 * of the same stream continues it). This module reads them as the kubelet serves `kubectl logs`
 * (tailLines, sinceTime, timestamps, limitBytes, follow) and rotates them.
 *
 * Rotation: the current file keeps its path; older content lives beside it as
 * `<path>.<YYYYMMDD-hhmmss>` (the kubelet's naming, plus `.N` when two rotations share a second),
 * so the names sort oldest first. Unlike the kubelet, which serves only the current file, reading
 * here walks the rotated files first, so a tail or a since filter reaches across a rotation.
 */
import { open, readdir, rename, stat, unlink, type FileHandle } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

export type LogStream = 'stdout' | 'stderr';

export interface LogRecord {
  /** The timestamp exactly as written. */
  time: string;
  /** Nanoseconds since the epoch, for comparisons. */
  nanos: bigint;
  stream: LogStream;
  partial: boolean;
  /** The text without the record's newline. */
  text: Buffer;
}

/** Parses one record (without its newline); undefined for a line that is not CRI format. */
export function parseRecord(line: Buffer): LogRecord | undefined {
  const s1 = line.indexOf(0x20);
  if (s1 <= 0) return undefined;
  const s2 = line.indexOf(0x20, s1 + 1);
  if (s2 < 0) return undefined;
  const time = line.subarray(0, s1).toString('latin1');
  const nanos = parseTimeNanos(time);
  if (nanos === undefined) return undefined;
  const stream = line.subarray(s1 + 1, s2).toString('latin1');
  if (stream !== 'stdout' && stream !== 'stderr') return undefined;
  // The tag field may carry more than one flag upstream (":"-separated); only P matters.
  const s3 = line.indexOf(0x20, s2 + 1);
  const tag = line.subarray(s2 + 1, s3 < 0 ? line.length : s3).toString('latin1');
  const text = s3 < 0 ? Buffer.alloc(0) : line.subarray(s3 + 1);
  return { time, nanos, stream, partial: tag.split(':').includes('P'), text };
}

/** A CRI record line for `text` (used by writers and tests). */
export function formatRecord(time: Date | string, stream: LogStream, text: string | Buffer, partial = false): Buffer {
  const t = typeof time === 'string' ? time : time.toISOString();
  return Buffer.concat([Buffer.from(`${t} ${stream} ${partial ? 'P' : 'F'} `), Buffer.isBuffer(text) ? text : Buffer.from(text), Buffer.from('\n')]);
}

const RFC3339 = /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(Z|z|[+-]\d{2}:\d{2})$/;

/** RFC 3339 (with up to nanosecond fractions) to nanoseconds since the epoch. */
export function parseTimeNanos(s: string): bigint | undefined {
  const m = RFC3339.exec(s);
  if (!m) return undefined;
  const ms = Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6]));
  if (Number.isNaN(ms)) return undefined;
  let offsetMin = 0;
  if (m[8] !== 'Z' && m[8] !== 'z') {
    const sign = m[8][0] === '-' ? -1 : 1;
    offsetMin = sign * (Number(m[8].slice(1, 3)) * 60 + Number(m[8].slice(4, 6)));
  }
  const frac = BigInt((m[7] ?? '').padEnd(9, '0') || '0');
  return (BigInt(ms) - BigInt(offsetMin) * 60_000n) * 1_000_000n + frac;
}

/**
 * The timestamp as the kubelet prints it with `timestamps=true`: Go's
 * "2006-01-02T15:04:05.000000000Z07:00" (nine fraction digits, the record's own offset).
 */
export function formatTimestamp(time: string): string {
  const m = RFC3339.exec(time);
  if (!m) return time;
  // Go prints a zero offset as Z, however the record spelled it.
  const zone = m[8] === 'z' || m[8] === '+00:00' || m[8] === '-00:00' ? 'Z' : m[8];
  return `${m[1]}-${m[2]}-${m[3]}T${m[4]}:${m[5]}:${m[6]}.${(m[7] ?? '').padEnd(9, '0')}${zone}`;
}

// ---------------------------------------------------------------------------------------------
// Rotation

/** The rotated files of `logPath`, oldest first. */
export async function rotatedFiles(logPath: string): Promise<string[]> {
  const dir = dirname(logPath);
  const base = basename(logPath);
  let names: string[];
  try {
    names = await readdir(dir);
  } catch {
    return [];
  }
  const ours = names.filter((n) => n.startsWith(base + '.') && /^\d{8}-\d{6}(\.\d+)?$/.test(n.slice(base.length + 1)));
  return ours.sort(compareRotated).map((n) => join(dir, n));
}

function compareRotated(a: string, b: string): number {
  const [sa, na] = splitSuffix(a);
  const [sb, nb] = splitSuffix(b);
  return sa < sb ? -1 : sa > sb ? 1 : na - nb;
}

function splitSuffix(name: string): [string, number] {
  const m = /\.(\d{8}-\d{6})(?:\.(\d+))?$/.exec(name);
  return m ? [m[1], Number(m[2] ?? 0)] : [name, 0];
}

function stamp(now: Date): string {
  const p = (n: number) => String(n).padStart(2, '0');
  return `${now.getUTCFullYear()}${p(now.getUTCMonth() + 1)}${p(now.getUTCDate())}-${p(now.getUTCHours())}${p(now.getUTCMinutes())}${p(now.getUTCSeconds())}`;
}

/**
 * Rotates `logPath` when it has reached `maxBytes`: renames it to `<path>.<timestamp>` and removes
 * the oldest rotated files so that at most `maxFiles` files (the current one included, as the
 * kubelet's containerLogMaxFiles counts) remain. Returns true when it renamed: the writer must then
 * reopen its file (ContainerRuntime.reopenLog).
 */
export async function rotate(logPath: string, maxBytes: number, maxFiles: number, now = new Date()): Promise<boolean> {
  let size: number;
  try {
    size = (await stat(logPath)).size;
  } catch {
    return false;
  }
  if (size < maxBytes || size === 0) return false;
  const existing = await rotatedFiles(logPath);
  let target = `${logPath}.${stamp(now)}`;
  for (let n = 1; existing.includes(target); n++) target = `${logPath}.${stamp(now)}.${n}`;
  await rename(logPath, target);
  const all = [...existing, target].sort((a, b) => compareRotated(basename(a), basename(b)));
  const keep = Math.max(0, maxFiles - 1);
  for (const old of all.slice(0, Math.max(0, all.length - keep))) await unlink(old).catch(() => undefined);
  return true;
}

// ---------------------------------------------------------------------------------------------
// Reading

export interface ReadLogOptions {
  /** Only the last N lines (before since/limit filters apply to what is written). */
  tailLines?: number;
  /** Only records at or after this time (nanoseconds since the epoch). */
  sinceNanos?: bigint;
  timestamps?: boolean;
  /** Stop after this many bytes of output (the last line may be cut). */
  limitBytes?: number;
  /** Keep reading as the file grows until `until` resolves (the container exited) or the signal aborts. */
  follow?: boolean;
  until?: Promise<unknown>;
  signal?: AbortSignal;
  /** How often a follow looks for new data (default 200 ms). */
  pollMs?: number;
}

/** Where the output goes; a returned promise holds the reader back until the sink has room. */
export interface LogSink {
  write(chunk: Buffer): void | Promise<void>;
}

/**
 * Turns record lines into output, joining partial records. A line is emitted record by record (as
 * the kubelet does), with the timestamp in front of its first record only.
 */
class Formatter {
  /** The stream whose line is open (the previous record was partial). */
  private open: LogStream | undefined;
  private written = 0;
  done = false;

  constructor(
    private readonly opts: ReadLogOptions,
    private readonly sink: LogSink,
  ) {}

  async record(r: LogRecord): Promise<void> {
    if (this.done) return;
    if (this.opts.sinceNanos !== undefined && r.nanos < this.opts.sinceNanos) return;
    const startsLine = this.open !== r.stream;
    let out = r.partial ? r.text : Buffer.concat([r.text, NL]);
    if (this.opts.timestamps && startsLine) out = Buffer.concat([Buffer.from(formatTimestamp(r.time) + ' '), out]);
    this.open = r.partial ? r.stream : undefined;
    if (this.opts.limitBytes !== undefined) {
      const room = this.opts.limitBytes - this.written;
      if (out.length >= room) {
        out = out.subarray(0, room);
        this.done = true;
      }
    }
    this.written += out.length;
    if (out.length > 0) {
      await this.sink.write(out);
    }
  }
}

const NL = Buffer.from('\n');

/** Yields the lines of a file from `offset`, and where the last complete line ended. */
async function readLines(fh: FileHandle, offset: number, onLine: (line: Buffer) => Promise<void>): Promise<number> {
  const buf = Buffer.alloc(64 * 1024);
  let carry: Buffer = Buffer.alloc(0);
  let pos = offset;
  let consumed = offset;
  for (;;) {
    const { bytesRead } = await fh.read(buf, 0, buf.length, pos);
    if (bytesRead === 0) break;
    pos += bytesRead;
    let data = carry.length ? Buffer.concat([carry, buf.subarray(0, bytesRead)]) : Buffer.from(buf.subarray(0, bytesRead));
    let nl: number;
    while ((nl = data.indexOf(0x0a)) >= 0) {
      const line = data.subarray(0, nl);
      consumed += nl + 1;
      data = data.subarray(nl + 1);
      await onLine(line);
    }
    carry = data;
  }
  return consumed;
}

/**
 * Which records the tail keeps: scanning every file once, counting complete lines from the end.
 * Returns the file index and byte offset where output starts.
 */
async function tailStart(files: string[], tailLines: number): Promise<{ file: number; offset: number }> {
  if (tailLines <= 0) return { file: files.length, offset: 0 };
  // Line starts (file, offset) of every logical line, keeping only the last tailLines.
  const starts: { file: number; offset: number }[] = [];
  const partialOpen = new Map<LogStream, boolean>();
  for (let i = 0; i < files.length; i++) {
    let fh: FileHandle;
    try {
      fh = await open(files[i], 'r');
    } catch {
      continue;
    }
    try {
      let at = 0;
      await readLines(fh, 0, async (line) => {
        const here = at;
        at += line.length + 1;
        const r = parseRecord(line);
        if (!r) return;
        if (!partialOpen.get(r.stream)) {
          starts.push({ file: i, offset: here });
          if (starts.length > tailLines) starts.shift();
        }
        partialOpen.set(r.stream, r.partial);
      });
    } finally {
      await fh.close();
    }
  }
  return starts[0] ?? { file: files.length, offset: 0 };
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const t = setTimeout(done, ms);
    function done() {
      clearTimeout(t);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}

/**
 * Writes the log of `logPath` (its rotated files first) to `sink` as `opts` asks. With `follow`,
 * keeps reading the current file as it grows — and the new file after a rotation — until `until`
 * resolves (and what was written by then is read) or `signal` aborts.
 */
export async function readLog(logPath: string, opts: ReadLogOptions, sink: LogSink): Promise<void> {
  const fmt = new Formatter(opts, sink);
  const rotated = await rotatedFiles(logPath);
  const files = [...rotated, logPath];
  let start = { file: 0, offset: 0 };
  if (opts.tailLines !== undefined) start = await tailStart(files, opts.tailLines);
  const onLine = async (line: Buffer) => {
    if (fmt.done || opts.signal?.aborted) return;
    const r = parseRecord(line);
    if (r) await fmt.record(r);
  };
  // Everything before the current file is settled: read it once.
  for (let i = start.file; i < rotated.length; i++) {
    const fh = await open(files[i], 'r').catch(() => undefined);
    if (!fh) continue;
    try {
      await readLines(fh, i === start.file ? start.offset : 0, onLine);
    } finally {
      await fh.close();
    }
  }
  // A tail of zero lines still follows what comes next.
  let offset = start.file === files.length - 1 ? start.offset : 0;
  if (start.file === files.length) offset = await stat(logPath).then((s) => s.size, () => 0);
  await followCurrent(logPath, offset, opts, fmt, onLine);
}

async function followCurrent(logPath: string, offset: number, opts: ReadLogOptions, fmt: Formatter, onLine: (l: Buffer) => Promise<void>): Promise<void> {
  let exited = !opts.follow;
  if (opts.follow && opts.until) void opts.until.then(() => (exited = true), () => (exited = true));
  let fh = await open(logPath, 'r').catch(() => undefined);
  let ino = fh ? (await fh.stat()).ino : -1;
  try {
    for (;;) {
      // Read whether or not the container has exited: what it wrote before exiting belongs to the output.
      const wasExited = exited;
      if (fh) offset = await readLines(fh, offset, onLine);
      if (fmt.done || opts.signal?.aborted || wasExited) return;
      // A rotation leaves our handle on the renamed file: once it is drained, move to the new one.
      const cur = await stat(logPath).catch(() => undefined);
      if (cur && cur.ino !== ino) {
        if (fh) offset = await readLines(fh, offset, onLine);
        await fh?.close();
        fh = await open(logPath, 'r').catch(() => undefined);
        ino = fh ? (await fh.stat()).ino : -1;
        offset = 0;
        continue;
      }
      await Promise.race([sleep(opts.pollMs ?? 200, opts.signal), opts.until?.then(() => undefined, () => undefined)]);
    }
  } finally {
    await fh?.close();
  }
}

/** The whole log as text (tests, small logs). */
export async function readLogText(logPath: string, opts: ReadLogOptions = {}): Promise<string> {
  const chunks: Buffer[] = [];
  await readLog(logPath, opts, { write: (c) => void chunks.push(c) });
  return Buffer.concat(chunks).toString('utf8');
}
