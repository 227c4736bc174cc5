/**
 * The audit log backend: events as JSON lines in a file (or stdout), written off the request path.
 *
 * Upstream's log backend blocks by default (--audit-log-mode=blocking); skiff's works like
 * upstream's "batch" mode: events go to a bounded buffer and are written in batches; when the
 * buffer is full (the disk cannot keep up), new events are dropped and counted, and the drop is
 * reported as upstream's batch backend reports it ("audit buffer queue blocked").
 */
import { createWriteStream, type WriteStream } from 'node:fs';
import { readdir, rename, rm, stat } from 'node:fs/promises';
import { basename, dirname, extname, join } from 'node:path';

export interface AuditBackend {
  process(event: object): void;
  /** Writes what is buffered, then releases the file. */
  close(): Promise<void>;
}

export interface LogBackendOptions {
  /** A file path, or '-' for stdout. */
  path: string;
  /** Buffered events at most (upstream's --audit-log-batch-buffer-size default). */
  bufferSize?: number;
  /** Events per write at most (upstream's --audit-log-batch-max-size is 1 for the log; we batch more). */
  maxBatchSize?: number;
  /** Rotate the file when it grows past this many megabytes (--audit-log-maxsize; 0 = never). */
  maxSizeMB?: number;
  /** Rotated files kept (--audit-log-maxbackup; 0 = all). */
  maxBackups?: number;
}

export class LogBackend implements AuditBackend {
  /** Events dropped because the buffer was full. */
  dropped = 0;
  private queue: object[] = [];
  private writing = false;
  private scheduled = false;
  private stream: WriteStream | NodeJS.WriteStream;
  private size = 0;
  private lastDropReport = 0;
  private idle: (() => void)[] = [];
  private readonly bufferSize: number;
  private readonly maxBatch: number;

  private constructor(private readonly opts: LogBackendOptions, size: number) {
    this.bufferSize = opts.bufferSize ?? 10_000;
    this.maxBatch = opts.maxBatchSize ?? 400;
    this.size = size;
    this.stream = opts.path === '-' ? process.stdout : this.open();
  }

  static async create(opts: LogBackendOptions): Promise<LogBackend> {
    let size = 0;
    if (opts.path !== '-') size = await stat(opts.path).then((s) => s.size, () => 0);
    return new LogBackend(opts, size);
  }

  private open(): WriteStream {
    const s = createWriteStream(this.opts.path, { flags: 'a', mode: 0o600 });
    s.on('error', (err) => console.error(`audit: writing ${this.opts.path}: ${err.message}`));
    return s;
  }

  process(event: object): void {
    if (this.queue.length >= this.bufferSize) {
      this.dropped++;
      const now = Date.now();
      if (now - this.lastDropReport > 1000) {
        this.lastDropReport = now;
        console.error(`Error in audit plugin 'log' affecting 1 audit events: audit buffer queue blocked (${this.dropped} dropped so far)`);
      }
      return;
    }
    this.queue.push(event);
    if (!this.scheduled && !this.writing) {
      this.scheduled = true;
      setImmediate(() => {
        this.scheduled = false;
        void this.flush();
      });
    }
  }

  private async flush(): Promise<void> {
    if (this.writing) return;
    this.writing = true;
    try {
      while (this.queue.length > 0) {
        const batch = this.queue.splice(0, this.maxBatch);
        let text = '';
        for (const e of batch) text += JSON.stringify(e) + '\n';
        await new Promise<void>((resolve) => this.stream.write(text, () => resolve()));
        this.size += Buffer.byteLength(text);
        await this.maybeRotate();
      }
    } finally {
      this.writing = false;
      for (const r of this.idle.splice(0)) r();
    }
  }

  /** lumberjack's rotation, as upstream: the old file becomes name-<UTC time>.ext; the oldest beyond maxBackups go. */
  private async maybeRotate(): Promise<void> {
    const max = (this.opts.maxSizeMB ?? 0) * 1024 * 1024;
    if (this.opts.path === '-' || max <= 0 || this.size < max) return;
    const old = this.stream as WriteStream;
    await new Promise<void>((resolve) => old.end(() => resolve()));
    const ext = extname(this.opts.path);
    const base = basename(this.opts.path, ext);
    const stamp = new Date().toISOString().replace(/:/g, '-').replace('Z', '');
    await rename(this.opts.path, join(dirname(this.opts.path), `${base}-${stamp}${ext}`)).catch(() => undefined);
    this.stream = this.open();
    this.size = 0;
    const keep = this.opts.maxBackups ?? 0;
    if (keep > 0) {
      const dir = dirname(this.opts.path);
      const backups = (await readdir(dir)).filter((f) => f.startsWith(`${base}-`) && f.endsWith(ext)).sort();
      for (const f of backups.slice(0, Math.max(0, backups.length - keep))) await rm(join(dir, f), { force: true });
    }
  }

  async close(): Promise<void> {
    await this.flush();
    while (this.writing) await new Promise<void>((r) => this.idle.push(r));
    if (this.stream !== process.stdout) await new Promise<void>((resolve) => (this.stream as WriteStream).end(() => resolve()));
  }
}
