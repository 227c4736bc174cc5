/**
 * What keeps the API server serving under hostile input and overload, after upstream's handler
 * chain (server/config.go DefaultBuildHandlerChain) and its HTTP server settings:
 *
 * - connection limits (configure): request headers (with the request line, so also the URL)
 *   at most MAX_HEADER_BYTES, and received within HEADERS_TIMEOUT_MS (upstream's ReadHeaderTimeout
 *   is 32 s); a whole request, body included, received within the request timeout (upstream's
 *   timeout filter fails body reads after the deadline too: a body trickled byte by byte cannot
 *   hold a connection, a seat and its buffers for ever); idle keep-alive
 *   connections closed after KEEP_ALIVE_TIMEOUT_MS. Node answers 431 and 408 itself.
 * - a deadline for every request that is not long-running (WithRequestDeadline and
 *   WithTimeoutForNonLongRunningRequests): 60 s, or less with `?timeout=`, then a 504 Timeout Status;
 * - API Priority and Fairness (flowcontrol/): seats, fair queues, 429 when full.
 *
 * Request bodies are limited to 3 MiB where they are read (codec.ts readBody, 413) and their
 * nesting depth where they are decoded (nesting.ts, 400). There is no cap on the number of
 * connections (upstream has none either); every connection is bounded by the timeouts above.
 */
import type http from 'node:http';
import type https from 'node:https';
import type { ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { errors } from '../api/errors.js';
import { GO_DURATION_RE, goDurationMs } from '../api/go-duration.js';
import type { UserInfo } from './auth/user.js';
import type { RequestInfo } from './request-info.js';
import { FlowControl, type Classification, type FlowControlOptions } from './flowcontrol/flow-control.js';
import type { Waiter } from './flowcontrol/priority-level.js';

/** Node's default is 16 KiB; upstream (Go) allows 1 MiB. 64 KiB fits large bearer tokens (OIDC, many groups). */
export const MAX_HEADER_BYTES = 64 * 1024;
/** Upstream's ReadHeaderTimeout (shortened to the request timeout when that is shorter). */
export const HEADERS_TIMEOUT_MS = 32_000;
export const KEEP_ALIVE_TIMEOUT_MS = 65_000;
/**
 * Node 20's HTTP server pauses a keep-alive connection when a request arrives while the socket
 * still flags its last answer as undrained (written past the socket's high-water mark, 16 KiB,
 * and the 'drain' not yet run), and its parser then fails body bytes read meanwhile with
 * HPE_PAUSED and drops the connection: a client that sends a POST right after reading an answer
 * over 16 KiB gets "socket hang up". Over TLS the mark cannot be set through the server's options,
 * so each TLS socket's is raised when it connects; answers below it never trip this.
 */
const TLS_SOCKET_HIGH_WATER_MARK = 1024 * 1024;
/** How often Node looks for connections past headersTimeout/requestTimeout (its default is 30 s). */
const CONNECTIONS_CHECKING_INTERVAL_MS = 1_000;
/** Upstream's --request-timeout default. */
export const DEFAULT_REQUEST_TIMEOUT_MS = 60_000;

/** Upstream's BasicLongRunningRequestCheck (verbs watch and proxy; these subresources). */
const LONG_RUNNING_SUBRESOURCES = new Set(['attach', 'exec', 'proxy', 'log', 'portforward']);

export function isLongRunning(info: RequestInfo): boolean {
  return info.verb === 'watch' || info.verb === 'proxy' || (info.isResourceRequest && LONG_RUNNING_SUBRESOURCES.has(info.subresource));
}

export interface OverloadOptions extends FlowControlOptions {
  /** The longest a non-long-running request may take (default 60 s). */
  requestTimeoutMs?: number;
}

/** A request that was admitted: what finish() gives back. */
export interface Admission {
  c: Classification | undefined;
  timer: NodeJS.Timeout | undefined;
  res: ServerResponse | undefined;
  released: boolean;
}

/** Long-running requests other than watches: no seat, no deadline. */
const UNTRACKED: Admission = Object.freeze({ c: undefined, timer: undefined, res: undefined, released: true }) as Admission;

/** admit()'s answer when it has answered the request itself (429). */
export const REJECTED = null;

/**
 * The response of a request that timed out: what the handler writes later goes nowhere, as
 * upstream's timeoutWriter (the handler is not stopped: JavaScript cannot stop it).
 */
function silence(res: ServerResponse): void {
  const noop = function (this: ServerResponse) {
    return this;
  };
  const r = res as unknown as Record<string, unknown>;
  r.writeHead = noop;
  r.setHeader = noop;
  r.flushHeaders = noop;
  r.write = () => true;
  r.end = noop;
  r.destroy = noop;
}

const CLIENT_ERROR_ANSWERS: Record<string, string> = {
  HPE_HEADER_OVERFLOW: '431 Request Header Fields Too Large',
  ERR_HTTP_REQUEST_TIMEOUT: '408 Request Timeout',
};

/**
 * A request Node could not parse, or that came too slowly. Node's own answer writes and destroys
 * at once, which over TLS loses the answer; this one ends the connection after the answer is out
 * (and destroys it if the client does not let it go).
 */
function answerClientError(err: NodeJS.ErrnoException, socket: Duplex): void {
  // The parser goes on failing on what the client still sends: the answer is on its way already.
  if (socket.writableEnded && !socket.destroyed) return;
  const answering = (socket as Duplex & { _httpMessage?: ServerResponse | null })._httpMessage;
  if (!socket.writable || err.code === 'ECONNRESET' || answering?.headersSent) {
    socket.destroy();
    return;
  }
  const status = CLIENT_ERROR_ANSWERS[err.code ?? ''] ?? '400 Bad Request';
  socket.end(`HTTP/1.1 ${status}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
  setTimeout(() => socket.destroy(), 1000).unref();
}

function raiseHighWaterMark(socket: Duplex): void {
  const state = (socket as Duplex & { _writableState?: { highWaterMark: number } })._writableState;
  if (state && state.highWaterMark < TLS_SOCKET_HIGH_WATER_MARK) state.highWaterMark = TLS_SOCKET_HIGH_WATER_MARK;
}

export class OverloadProtection {
  readonly flowControl: FlowControl;
  private readonly requestTimeoutMs: number;

  constructor(opts: OverloadOptions = {}) {
    this.flowControl = new FlowControl(opts);
    this.requestTimeoutMs = opts.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
  }

  /** The options a server needs from its creation (Node reads these only then). */
  static serverOptions(): { maxHeaderSize: number; connectionsCheckingInterval: number } {
    return { maxHeaderSize: MAX_HEADER_BYTES, connectionsCheckingInterval: CONNECTIONS_CHECKING_INTERVAL_MS };
  }

  /**
   * Connection-level limits of a listening server. Node's requestTimeout bounds receiving a
   * request only, never the response: watches and log streams are not cut by it.
   */
  configure(server: http.Server | https.Server): void {
    // A request timeout of 0 turns deadlines off (and Node's receive limit with them), never the header limit.
    const t = this.requestTimeoutMs > 0 ? this.requestTimeoutMs : 0;
    server.headersTimeout = t > 0 ? Math.min(HEADERS_TIMEOUT_MS, t) : HEADERS_TIMEOUT_MS;
    server.requestTimeout = t;
    server.keepAliveTimeout = KEEP_ALIVE_TIMEOUT_MS;
    server.on('clientError', answerClientError);
    server.on('secureConnection', raiseHighWaterMark);
  }

  /**
   * Admits a request: arms its deadline and takes a seat of its priority level (waiting in a queue
   * if need be). Returns REJECTED after answering 429 itself; otherwise what finish() must get once
   * the handler is done (for a watch: once it is set up, as upstream counts watches only then).
   * Throws 400 for a malformed `timeout` parameter.
   */
  admit(res: ServerResponse, user: UserInfo, info: RequestInfo, query: URLSearchParams): Admission | typeof REJECTED | Promise<Admission | typeof REJECTED> {
    const longRunning = isLongRunning(info);
    // Upstream does not hold seats for long-running requests other than watches, nor time them out.
    if (longRunning && info.verb !== 'watch') return UNTRACKED;
    const ms = longRunning ? 0 : this.timeoutOf(query);
    const c = this.flowControl.classify(user, info);
    res.setHeader('X-Kubernetes-PF-FlowSchema-UID', c.schema.uid);
    res.setHeader('X-Kubernetes-PF-PriorityLevel-UID', c.level.uid);
    const a: Admission = { c, timer: undefined, res, released: false };
    if (ms > 0) a.timer = setTimeout(() => this.timedOut(a), ms);
    let waiter: Waiter | undefined;
    const seat = this.flowControl.acquire(c, (w) => (waiter = w));
    if (seat === true) return a;
    if (seat === false) return this.reject(a);
    const gone = () => {
      if (waiter) this.flowControl.abandon(c, waiter);
      a.released = true;
    };
    res.once('close', gone);
    return seat.then((admitted) => {
      res.off('close', gone);
      if (a.released) {
        // The client left while it waited: give the seat it just got back.
        if (admitted) this.flowControl.release(c);
        this.finish(a);
        return REJECTED;
      }
      if (admitted) return a;
      return this.reject(a);
    });
  }

  /** Gives back the request's seat and disarms its deadline. Safe to call twice. */
  finish(a: Admission | typeof REJECTED): void {
    if (!a || a === UNTRACKED) return;
    if (a.timer) {
      clearTimeout(a.timer);
      a.timer = undefined;
    }
    if (!a.released) {
      a.released = true;
      this.flowControl.release(a.c!);
    }
  }

  /** Upstream's tooManyRequests: plain text, Retry-After 1. */
  private reject(a: Admission): typeof REJECTED {
    if (a.timer) clearTimeout(a.timer);
    a.released = true;
    const res = a.res!;
    if (!res.headersSent && !res.destroyed) {
      const body = 'Too many requests, please try again later.\n';
      res.writeHead(429, {
        'Content-Type': 'text/plain; charset=utf-8',
        'X-Content-Type-Options': 'nosniff',
        'Retry-After': '1',
        'Content-Length': String(Buffer.byteLength(body)),
      });
      res.end(body);
    }
    return REJECTED;
  }

  /** Upstream's WithRequestDeadline: `?timeout=` (a Go duration) shortens the server's timeout, never lengthens it. */
  private timeoutOf(query: URLSearchParams): number {
    let ms = this.requestTimeoutMs;
    const t = query.get('timeout');
    if (t !== null && t !== '') {
      if (!GO_DURATION_RE.test(t)) {
        const why = /^[-+]?(\d+(\.\d*)?|\.\d+)$/.test(t) ? 'missing unit in duration' : 'invalid duration';
        throw errors.badRequest(`invalid timeout specified in the request URL - time: ${why} ${JSON.stringify(t)}`);
      }
      const asked = goDurationMs(t);
      // 0 (or less) means "no timeout of the client's own": the server's still applies.
      if (asked > 0 && asked < ms) ms = asked;
    }
    return ms;
  }

  /**
   * Upstream's timeout filter answers 504 and leaves the handler running; its seat is given back
   * here, so that a handler stuck for ever cannot hold a seat for ever.
   */
  private timedOut(a: Admission): void {
    a.timer = undefined;
    this.finish(a);
    const res = a.res!;
    if (res.writableEnded || res.destroyed) return;
    if (res.headersSent) {
      // Part of the answer is out: the only way to tell the client is to cut the connection.
      res.destroy();
      silence(res);
      return;
    }
    const status = errors.timeout('Timeout: request did not complete within the allotted timeout').toStatus();
    status.details = {};
    const body = JSON.stringify(status) + '\n';
    res.writeHead(504, { 'Content-Type': 'application/json', 'Cache-Control': 'no-cache, private', 'Content-Length': String(Buffer.byteLength(body)) });
    res.end(body);
    silence(res);
  }
}
