/**
 * The load generator's HTTPS clients, both keep-alive, one request at a time per connection:
 *
 * - `https` (the default): node:https with a keep-alive Agent (maxSockets 32).
 * - `raw`: a small HTTP/1.1 client on raw TLS sockets: the status line and two headers parsed, the
 *   body counted and dropped unless asked for. It costs the bench less than half the CPU, but on
 *   loopback a mostly idle client makes the *server* pay more: every response's send() has to wake
 *   the sleeping client (18% of the server's samples in the kernel's wake-up path with this client,
 *   4% with node:https, measured with perf), so GET throughput reads ~25% lower. Over a real
 *   network that cost is not the server's, so the default is node:https. The watch phase always
 *   sends its timestamped writes on raw connections (the bytes leave right after the timestamp).
 */
import https from 'node:https';
import tls from 'node:tls';
import { StringDecoder } from 'node:string_decoder';

export interface TlsCreds {
  ca: string;
  cert: string;
  key: string;
}

export interface Endpoint extends TlsCreds {
  host: string;
  port: number;
  /** Sent as `Authorization: Bearer` on every request (then cert and key may be empty). */
  bearerToken?: string;
}

/** The client certificate, when the endpoint has one (a token endpoint has none). */
function clientCert(ep: Endpoint): { cert?: string; key?: string } {
  return ep.cert ? { cert: ep.cert, key: ep.key } : {};
}

export interface Reply {
  status: number;
  /** Body bytes received. */
  bytes: number;
  /** The body, when the caller asked to keep it or the status is not 2xx. */
  body?: Buffer;
}

/** One connection (or, for node:https, one slot of a shared agent) that runs one request at a time. */
export interface Client {
  request(method: string, path: string, body?: string, contentType?: string, keepBody?: boolean): Promise<Reply>;
  close(): void;
}

export type ClientKind = 'raw' | 'https';

/** A request that has not answered in this long fails (and its connection is dropped). */
const REQUEST_TIMEOUT_MS = 60_000;

export function makeClientFactory(kind: ClientKind, ep: Endpoint, maxSockets: number): { newClient(): Client; close(): void } {
  if (kind === 'raw') return { newClient: () => new RawConnection(ep), close: () => {} };
  const agent = new https.Agent({ keepAlive: true, maxSockets, maxFreeSockets: maxSockets, ca: ep.ca, ...clientCert(ep) });
  return { newClient: () => new AgentClient(ep, agent), close: () => agent.destroy() };
}

/** Decodes a chunked body incrementally; hands out data pieces; `done` once the last chunk and trailer are in. */
export class ChunkedDecoder {
  private state: 'size' | 'data' | 'crlf' | 'trailer' = 'size';
  private line = '';
  private left = 0;
  done = false;

  constructor(private readonly onData: (piece: Buffer) => void) {}

  /** Consumes from `buf` at `start`; returns where it stopped (end of buffer, or just past the message). */
  push(buf: Buffer, start = 0): number {
    let i = start;
    while (i < buf.length && !this.done) {
      if (this.state === 'data') {
        const n = Math.min(this.left, buf.length - i);
        this.onData(buf.subarray(i, i + n));
        i += n;
        this.left -= n;
        if (this.left === 0) {
          this.state = 'crlf';
          this.left = 2;
        }
      } else if (this.state === 'crlf') {
        const n = Math.min(this.left, buf.length - i);
        i += n;
        this.left -= n;
        if (this.left === 0) this.state = 'size';
      } else {
        const nl = buf.indexOf(10, i);
        if (nl === -1) {
          this.line += buf.toString('latin1', i);
          return buf.length;
        }
        this.line += buf.toString('latin1', i, nl);
        i = nl + 1;
        const line = this.line.endsWith('\r') ? this.line.slice(0, -1) : this.line;
        this.line = '';
        if (this.state === 'size') {
          const size = parseInt(line, 16);
          if (!Number.isFinite(size) || size < 0) throw new Error(`bad chunk size line ${JSON.stringify(line)}`);
          if (size === 0) this.state = 'trailer';
          else {
            this.state = 'data';
            this.left = size;
          }
        } else if (line === '') {
          this.done = true;
        }
      }
    }
    return i;
  }
}

interface Head {
  status: number;
  contentLength: number;
  chunked: boolean;
  close: boolean;
}

const HEAD_END = Buffer.from('\r\n\r\n');

/** Parses a response head; `undefined` until it is complete. Returns the head and where the body starts. */
export function parseHead(buf: Buffer): { head: Head; bodyStart: number } | undefined {
  const end = buf.indexOf(HEAD_END);
  if (end === -1) return undefined;
  const text = buf.toString('latin1', 0, end);
  const sp = text.indexOf(' ');
  const status = Number(text.slice(sp + 1, sp + 4));
  if (!text.startsWith('HTTP/1.') || !Number.isInteger(status)) throw new Error(`bad status line: ${text.slice(0, 80)}`);
  const head: Head = { status, contentLength: -1, chunked: false, close: false };
  let at = text.indexOf('\r\n') + 2;
  while (at > 1 && at < text.length) {
    const nl = text.indexOf('\r\n', at);
    const line = nl === -1 ? text.slice(at) : text.slice(at, nl);
    const colon = line.indexOf(':');
    if (colon > 0) {
      const name = line.slice(0, colon).toLowerCase();
      if (name === 'content-length') head.contentLength = Number(line.slice(colon + 1).trim());
      else if (name === 'transfer-encoding') head.chunked = /chunked/i.test(line.slice(colon + 1));
      else if (name === 'connection') head.close = /close/i.test(line.slice(colon + 1));
    }
    if (nl === -1) break;
    at = nl + 2;
  }
  return { head, bodyStart: end + 4 };
}

export function connectTls(ep: Endpoint): tls.TLSSocket {
  return tls.connect({ host: ep.host, port: ep.port, ca: ep.ca, ...clientCert(ep) });
}

interface Pending {
  resolve(r: Reply): void;
  reject(e: Error): void;
  keepBody: boolean;
}

/** A keep-alive HTTP/1.1 connection on a raw TLS socket; (re)connects lazily. */
export class RawConnection implements Client {
  private sock: tls.TLSSocket | undefined;
  private pending: Pending | undefined;
  private headBuf: Buffer | undefined;
  private head: Head | undefined;
  private left = 0;
  private chunked: ChunkedDecoder | undefined;
  private pieces: Buffer[] = [];
  private bytes = 0;
  private readonly hostHeader: string;

  constructor(private readonly ep: Endpoint) {
    this.hostHeader = `${ep.host}:${ep.port}`;
  }

  request(method: string, path: string, body?: string, contentType?: string, keepBody = false): Promise<Reply> {
    if (this.pending) return Promise.reject(new Error('RawConnection: one request at a time'));
    let text = `${method} ${path} HTTP/1.1\r\nHost: ${this.hostHeader}\r\nAccept: application/json\r\nUser-Agent: skiff-bench\r\n`;
    if (this.ep.bearerToken) text += `Authorization: Bearer ${this.ep.bearerToken}\r\n`;
    if (body !== undefined) text += `Content-Type: ${contentType ?? 'application/json'}\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;
    else text += '\r\n';
    return new Promise<Reply>((resolve, reject) => {
      this.pending = { resolve, reject, keepBody };
      this.headBuf = undefined;
      this.head = undefined;
      this.chunked = undefined;
      this.pieces = [];
      this.bytes = 0;
      this.socket().write(text);
    });
  }

  close(): void {
    this.sock?.destroy();
    this.sock = undefined;
  }

  private socket(): tls.TLSSocket {
    if (this.sock && !this.sock.destroyed) return this.sock;
    const s = connectTls(this.ep);
    s.setNoDelay(true);
    s.setTimeout(REQUEST_TIMEOUT_MS);
    s.on('data', (b: Buffer) => this.onData(b));
    s.on('timeout', () => {
      if (this.pending) s.destroy(new Error(`no answer in ${REQUEST_TIMEOUT_MS} ms`));
    });
    s.on('error', (err) => this.fail(err));
    s.on('close', () => {
      if (this.sock === s) this.sock = undefined;
      this.fail(new Error('connection closed'));
    });
    this.sock = s;
    return s;
  }

  private fail(err: Error): void {
    const p = this.pending;
    this.pending = undefined;
    p?.reject(err);
  }

  private onData(b: Buffer): void {
    if (!this.pending) return;
    let start = 0;
    if (!this.head) {
      const buf = this.headBuf ? Buffer.concat([this.headBuf, b]) : b;
      let parsed;
      try {
        parsed = parseHead(buf);
      } catch (err) {
        this.sock?.destroy(err as Error);
        return;
      }
      if (!parsed) {
        this.headBuf = buf;
        return;
      }
      this.headBuf = undefined;
      this.head = parsed.head;
      b = buf;
      start = parsed.bodyStart;
      if (this.head.chunked) this.chunked = new ChunkedDecoder((piece) => this.take(piece));
      else this.left = this.head.contentLength < 0 ? 0 : this.head.contentLength;
    }
    if (this.chunked) {
      try {
        this.chunked.push(b, start);
      } catch (err) {
        this.sock?.destroy(err as Error);
        return;
      }
      if (this.chunked.done) this.finish();
    } else {
      const n = Math.min(this.left, b.length - start);
      if (n > 0) this.take(start === 0 && n === b.length ? b : b.subarray(start, start + n));
      this.left -= n;
      if (this.left === 0) this.finish();
    }
  }

  private take(piece: Buffer): void {
    this.bytes += piece.length;
    // Error bodies are kept too, so a failed phase can say why.
    if (this.pending?.keepBody || this.head!.status >= 300) this.pieces.push(Buffer.from(piece));
  }

  private finish(): void {
    const p = this.pending!;
    const head = this.head!;
    this.pending = undefined;
    if (head.close) this.close();
    const keep = p.keepBody || head.status >= 300;
    p.resolve({ status: head.status, bytes: this.bytes, body: keep ? Buffer.concat(this.pieces) : undefined });
    this.pieces = [];
  }
}

/** node:https with a shared keep-alive Agent (the cross-check client). */
class AgentClient implements Client {
  constructor(
    private readonly ep: Endpoint,
    private readonly agent: https.Agent,
  ) {}

  request(method: string, path: string, body?: string, contentType?: string, keepBody = false): Promise<Reply> {
    return new Promise((resolve, reject) => {
      const headers: Record<string, string | number> = { Accept: 'application/json', 'User-Agent': 'skiff-bench' };
      if (this.ep.bearerToken) headers.Authorization = `Bearer ${this.ep.bearerToken}`;
      if (body !== undefined) {
        headers['Content-Type'] = contentType ?? 'application/json';
        headers['Content-Length'] = Buffer.byteLength(body);
      }
      const req = https.request({ host: this.ep.host, port: this.ep.port, method, path, headers, agent: this.agent, timeout: REQUEST_TIMEOUT_MS }, (res) => {
        let bytes = 0;
        const pieces: Buffer[] = [];
        const keep = keepBody || (res.statusCode ?? 0) >= 300;
        res.on('data', (b: Buffer) => {
          bytes += b.length;
          if (keep) pieces.push(b);
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, bytes, body: keep ? Buffer.concat(pieces) : undefined }));
        res.on('error', reject);
      });
      req.on('timeout', () => req.destroy(new Error(`no answer in ${REQUEST_TIMEOUT_MS} ms`)));
      req.on('error', reject);
      req.end(body);
    });
  }

  close(): void {}
}

/** A few connections shared by callers that do not own one (paced writers, lists). */
export class Pool {
  private readonly idle: Client[] = [];
  private readonly all: Client[] = [];
  private readonly waiting: ((c: Client) => void)[] = [];

  constructor(
    private readonly newClient: () => Client,
    private readonly max: number,
  ) {}

  async request(method: string, path: string, body?: string, contentType?: string, keepBody = false): Promise<Reply> {
    const c = await this.acquire();
    try {
      return await c.request(method, path, body, contentType, keepBody);
    } finally {
      this.release(c);
    }
  }

  close(): void {
    for (const c of this.all) c.close();
  }

  private acquire(): Promise<Client> {
    const c = this.idle.pop();
    if (c) return Promise.resolve(c);
    if (this.all.length < this.max) {
      const n = this.newClient();
      this.all.push(n);
      return Promise.resolve(n);
    }
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  private release(c: Client): void {
    const w = this.waiting.shift();
    if (w) w(c);
    else this.idle.push(c);
  }
}

/**
 * A watch stream on its own raw TLS connection: each complete line of the chunked body is handed
 * over with the moment its bytes arrived (performance.now(), taken before any decoding).
 */
export class WatchStream {
  private sock: tls.TLSSocket | undefined;
  private headBuf: Buffer | undefined;
  private decoder: ChunkedDecoder | undefined;
  private readonly text = new StringDecoder('utf8');
  private partial = '';
  private arrivedAt = 0;
  status = 0;
  ended = false;
  error: Error | undefined;

  constructor(
    private readonly ep: Endpoint,
    private readonly path: string,
    private readonly onLine: (line: string, arrivedAt: number) => void,
  ) {}

  /** Resolves once the response head is in (the server has registered the watch by then). */
  open(timeoutMs: number): Promise<void> {
    return new Promise((resolve, reject) => {
      const s = connectTls(this.ep);
      this.sock = s;
      s.setNoDelay(true);
      const timer = setTimeout(() => {
        reject(new Error(`watch did not start in ${timeoutMs} ms`));
        s.destroy();
      }, timeoutMs);
      s.on('error', (err) => {
        this.error ??= err;
        clearTimeout(timer);
        reject(err);
      });
      s.on('close', () => {
        this.ended = true;
        clearTimeout(timer);
        reject(new Error('watch connection closed'));
      });
      s.on('data', (b: Buffer) => {
        this.arrivedAt = performance.now();
        if (!this.decoder) {
          const buf = this.headBuf ? Buffer.concat([this.headBuf, b]) : b;
          const parsed = parseHead(buf);
          if (!parsed) {
            this.headBuf = buf;
            return;
          }
          this.headBuf = undefined;
          this.status = parsed.head.status;
          clearTimeout(timer);
          if (this.status !== 200 || !parsed.head.chunked) {
            reject(new Error(`watch answered ${this.status}: ${buf.toString('utf8', parsed.bodyStart, parsed.bodyStart + 300)}`));
            s.destroy();
            return;
          }
          this.decoder = new ChunkedDecoder((piece) => this.onPiece(piece));
          resolve();
          b = buf.subarray(parsed.bodyStart);
        }
        this.decoder.push(b);
        if (this.decoder.done) this.ended = true;
      });
      s.write(`GET ${this.path} HTTP/1.1\r\nHost: ${this.ep.host}:${this.ep.port}\r\nAccept: application/json\r\nUser-Agent: skiff-bench-watch\r\n\r\n`);
    });
  }

  close(): void {
    this.sock?.destroy();
  }

  private onPiece(piece: Buffer): void {
    const s = this.partial + this.text.write(piece);
    let from = 0;
    for (let nl = s.indexOf('\n'); nl !== -1; nl = s.indexOf('\n', from)) {
      if (nl > from) this.onLine(s.slice(from, nl), this.arrivedAt);
      from = nl + 1;
    }
    this.partial = from === 0 ? s : s.slice(from);
  }
}
