/**
 * The node agent's streaming server, at the kubelet's address and paths (HTTPS, port 10250):
 *
 *   GET  /containerLogs/{ns}/{pod}/{container}?follow&previous&tailLines&sinceSeconds&sinceTime&timestamps&limitBytes
 *   GET|POST /exec/{ns}/{pod}/{container}?command=…&stdin&stdout&stderr&tty     (websocket)
 *   GET|POST /attach/{ns}/{pod}/{container}?stdin&stdout&stderr&tty              (websocket)
 *   GET|POST /portForward/{ns}/{pod}[?port=…]   (SPDY/3.1 upgrade, SPDY tunnelled in a websocket, or a v4 channel websocket)
 *
 * Only the API server talks to it: a client certificate signed by the cluster CA is required
 * (401 otherwise), and only the API server's identity (or system:masters) is allowed (403).
 * exec and attach speak websockets only; their SPDY form (what kubectl falls back to when a
 * websocket upgrade fails) is answered 400 and is not implemented.
 */
import https from 'node:https';
import net from 'node:net';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import type { TLSSocket } from 'node:tls';
import { WebSocketServer, createWebSocketStream, type WebSocket } from 'ws';
import { userFromCertificate } from '../../pki/identity.js';
import { parseTimeNanos, readLog } from '../logs/cri-log.js';
import { isStreamingError, type ResolvedContainer, type ResolvedPod, type StreamingBackend, type StreamingError } from './backend.js';
import { PORT_FORWARD_WS_PROTOCOLS, REMOTE_COMMAND_PROTOCOLS, SPDY_TUNNEL_PROTOCOL, pickProtocol, type RemoteCommandProtocol } from './channels.js';
import { parsePorts, serveSpdyPortForward, serveWebSocketPortForward, type PortForwardTarget } from './port-forward.js';
import { serveRemoteCommand } from './remote-command.js';

export const DEFAULT_STREAMING_PORT = 10250;

/** The identity the API server presents to nodes (kubeadm's apiserver-kubelet-client). */
export const API_SERVER_KUBELET_CLIENT = 'kube-apiserver-kubelet-client';

export interface StreamingServerOptions {
  backend: StreamingBackend;
  /** Serving certificate and key (PEM). */
  cert: string;
  key: string;
  /** The cluster CA: client certificates must chain to it. */
  ca: string;
  /** Default 10250; 0 picks a free port. */
  port?: number;
  host?: string;
  /** Who may use the server, beyond system:masters (default: the API server's client identity). */
  allowedUsers?: string[];
  /** How often `logs -f` looks for new data (default 200 ms). */
  logPollMs?: number;
}

interface Authorized {
  name: string;
  groups: string[];
}

/** What the server has served, by protocol (for operators and tests). */
export interface StreamingStats {
  logs: number;
  /** exec and attach sessions by negotiated websocket subprotocol. */
  remoteCommand: Record<string, number>;
  portForwardSpdy: number;
  portForwardSpdyTunnel: number;
  portForwardWebSocket: number;
  /** Requests refused for their client certificate (401) or identity (403). */
  refused: number;
}

export class StreamingServer {
  readonly stats: StreamingStats = { logs: 0, remoteCommand: {}, portForwardSpdy: 0, portForwardSpdyTunnel: 0, portForwardWebSocket: 0, refused: 0 };
  private server: https.Server | undefined;
  /**
   * The subprotocol chosen for each upgrade. ws rejects Kubernetes' "SPDY/3.1+portforward.k8s.io"
   * ('/' is not an RFC 7230 token character, but Go's websocket servers accept it), so the server
   * negotiates itself and hands ws a request without the header.
   */
  private readonly chosen = new WeakMap<IncomingMessage, string>();
  private readonly wss = new WebSocketServer({ noServer: true, perMessageDeflate: false });
  private readonly sockets = new Set<Duplex>();

  constructor(private readonly opts: StreamingServerOptions) {}

  async listen(): Promise<number> {
    const o = this.opts;
    this.wss.on('headers', (headers, req) => {
      const p = this.chosen.get(req);
      if (p) headers.push(`Sec-WebSocket-Protocol: ${p}`);
    });
    const server = https.createServer({ cert: o.cert, key: o.key, ca: o.ca, requestCert: true, rejectUnauthorized: false });
    server.on('request', (req: IncomingMessage, res: ServerResponse) => {
      this.handleRequest(req, res).catch((err) => {
        if (!res.headersSent) sendError(res, { code: 500, message: (err as Error).message });
        else res.destroy();
      });
    });
    server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
      this.sockets.add(socket);
      socket.once('close', () => this.sockets.delete(socket));
      socket.on('error', () => socket.destroy());
      this.handleUpgrade(req, socket, head).catch((err) => writeRawError(socket, { code: 500, message: (err as Error).message }));
    });
    server.on('connection', (s: net.Socket) => {
      this.sockets.add(s);
      s.once('close', () => this.sockets.delete(s));
    });
    server.requestTimeout = 0;
    server.headersTimeout = 60_000;
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(o.port ?? DEFAULT_STREAMING_PORT, o.host ?? '0.0.0.0', () => resolve());
    });
    return (server.address() as AddressInfo).port;
  }

  async close(): Promise<void> {
    for (const ws of this.wss.clients) ws.terminate();
    for (const s of this.sockets) s.destroy();
    this.wss.close();
    const s = this.server;
    if (!s) return;
    await new Promise<void>((resolve) => {
      s.close(() => resolve());
      s.closeAllConnections();
    });
  }

  /** 401 without a CA-signed client certificate, 403 for anyone but the API server and masters. */
  private authorize(req: IncomingMessage, verb: string, subresource: string): StreamingError | Authorized {
    const sock = req.socket as TLSSocket;
    let user: Authorized | undefined;
    try {
      if (sock.authorized) user = userFromCertificate(sock.getPeerCertificate());
    } catch {
      user = undefined;
    }
    if (!user) {
      this.stats.refused++;
      return { code: 401, message: 'Unauthorized' };
    }
    const allowed = this.opts.allowedUsers ?? [API_SERVER_KUBELET_CLIENT];
    if (user.groups.includes('system:masters') || allowed.includes(user.name)) return user;
    this.stats.refused++;
    return { code: 403, message: `Forbidden (user=${user.name}, verb=${verb}, resource=nodes, subresource=${subresource})` };
  }

  private async handleRequest(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'https://agent');
    const segs = url.pathname.split('/').filter(Boolean).map(safeDecode);
    const what = segs[0] ?? '';
    const auth = this.authorize(req, (req.method ?? 'GET').toLowerCase(), what === 'containerLogs' ? 'log' : 'proxy');
    if (isStreamingError(auth)) return sendError(res, auth);
    if (what === 'healthz') {
      res.writeHead(200, { 'Content-Type': 'text/plain' });
      res.end('ok');
      return;
    }
    if (what === 'containerLogs' && segs.length === 4) {
      if (req.method !== 'GET') return sendError(res, { code: 400, message: `method ${req.method} not allowed` });
      return this.serveLogs(req, res, segs[1], segs[2], segs[3], url.searchParams);
    }
    if ((what === 'exec' || what === 'attach') && segs.length === 4) {
      return sendError(res, { code: 400, message: 'Upgrade request required' });
    }
    if (what === 'portForward' && segs.length === 3) return sendError(res, { code: 400, message: 'Upgrade request required' });
    return sendError(res, { code: 404, message: '404 page not found' });
  }

  private async handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    const url = new URL(req.url ?? '/', 'https://agent');
    const segs = url.pathname.split('/').filter(Boolean).map(safeDecode);
    const what = segs[0] ?? '';
    const auth = this.authorize(req, (req.method ?? 'GET').toLowerCase(), 'proxy');
    if (isStreamingError(auth)) return writeRawError(socket, auth);
    const upgrade = String(req.headers.upgrade ?? '').toLowerCase();
    const q = url.searchParams;

    if ((what === 'exec' || what === 'attach') && segs.length === 4) {
      if (upgrade !== 'websocket') return writeRawError(socket, { code: 400, message: `${upgrade} streams are not supported for ${what}: use websockets (v5.channel.k8s.io)` });
      const flag = (n: string) => q.get(n) === '1' || q.get(n) === 'true';
      const opts = { stdin: flag('stdin'), stdout: flag('stdout'), stderr: flag('stderr'), tty: flag('tty') };
      if (opts.tty) opts.stderr = false;
      if (!opts.stdin && !opts.stdout && !opts.stderr) return writeRawError(socket, { code: 400, message: 'you must specify at least 1 of stdin, stdout, stderr' });
      const command = q.getAll('command');
      if (what === 'exec' && command.length === 0) return writeRawError(socket, { code: 400, message: 'you must specify a command' });
      const c = await this.opts.backend.resolveContainer(segs[1], segs[2], segs[3]);
      if (isStreamingError(c)) return writeRawError(socket, c);
      const accepted = await this.accept(req, socket, head, REMOTE_COMMAND_PROTOCOLS);
      if (!accepted) return;
      const { ws, protocol } = accepted;
      const rt = this.opts.backend.runtime;
      this.stats.remoteCommand[protocol || '(none)'] = (this.stats.remoteCommand[protocol || '(none)'] ?? 0) + 1;
      await serveRemoteCommand(
        ws,
        protocol as RemoteCommandProtocol,
        opts,
        (size) => (what === 'exec' ? rt.exec(c.containerId, command, { tty: opts.tty, stdin: opts.stdin, cols: size?.width, rows: size?.height }) : rt.attach(c.containerId, { stdin: opts.stdin, tty: opts.tty })),
        what === 'exec' ? 'error executing command in container' : 'error attaching to container',
      );
      return;
    }

    if (what === 'portForward' && segs.length === 3) {
      const pod = await this.opts.backend.resolvePod(segs[1], segs[2]);
      if (isStreamingError(pod)) return writeRawError(socket, pod);
      const target = dialTarget(segs[2], pod);
      if (upgrade === 'spdy/3.1') {
        const wanted = String(req.headers['x-stream-protocol-version'] ?? '').split(',').map((s) => s.trim());
        if (!wanted.includes('portforward.k8s.io')) {
          return writeRawError(socket, { code: 403, message: `unable to upgrade: unable to negotiate protocol: client supports [${wanted.join(' ')}], server supports [portforward.k8s.io]` });
        }
        socket.write('HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: SPDY/3.1\r\nX-Stream-Protocol-Version: portforward.k8s.io\r\n\r\n');
        if (head.length) socket.unshift(head);
        this.stats.portForwardSpdy++;
        serveSpdyPortForward(socket, target);
        return;
      }
      if (upgrade === 'websocket') {
        const accepted = await this.accept(req, socket, head, [SPDY_TUNNEL_PROTOCOL, ...PORT_FORWARD_WS_PROTOCOLS]);
        if (!accepted) return;
        const { ws, protocol } = accepted;
        if (protocol === SPDY_TUNNEL_PROTOCOL) {
          this.stats.portForwardSpdyTunnel++;
          serveSpdyPortForward(createWebSocketStream(ws), target);
          return;
        }
        const ports = parsePorts(q.getAll('port'));
        if (typeof ports === 'string') {
          ws.close(1008, ports);
          return;
        }
        this.stats.portForwardWebSocket++;
        serveWebSocketPortForward(ws, ports, target);
        return;
      }
      return writeRawError(socket, { code: 400, message: `unsupported upgrade "${upgrade}"` });
    }
    return writeRawError(socket, { code: 404, message: '404 page not found' });
  }

  /** Completes a websocket handshake with one of `protocols`; undefined (and 400) when none fits. */
  private accept(req: IncomingMessage, socket: Duplex, head: Buffer, protocols: readonly string[]): Promise<{ ws: WebSocket; protocol: string } | undefined> {
    const offered = String(req.headers['sec-websocket-protocol'] ?? '')
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean);
    const protocol = pickProtocol(offered, protocols) ?? '';
    if (offered.length > 0 && !protocol) {
      writeRawError(socket, { code: 400, message: `unable to upgrade: requested protocol(s) are not supported: [${offered.join(' ')}]; supports [${protocols.join(' ')}]` });
      return Promise.resolve(undefined);
    }
    delete req.headers['sec-websocket-protocol'];
    if (protocol) this.chosen.set(req, protocol);
    return new Promise((resolve) => {
      this.wss.handleUpgrade(req, socket, head, (ws) => {
        // A malformed frame is an 'error' on the socket; unheard, it would take the whole agent down.
        ws.on('error', () => ws.terminate());
        resolve({ ws, protocol });
      });
    });
  }

  private async serveLogs(req: IncomingMessage, res: ServerResponse, ns: string, pod: string, container: string, q: URLSearchParams): Promise<void> {
    const bool = (n: string) => q.get(n) === 'true' || q.get(n) === '1';
    const int = (n: string): number | undefined | StreamingError => {
      const v = q.get(n);
      if (v === null || v === '') return undefined;
      if (!/^-?\d+$/.test(v)) return { code: 400, message: `invalid ${n}: ${JSON.stringify(v)}` };
      return Number(v);
    };
    const tailLines = int('tailLines');
    const limitBytes = int('limitBytes');
    const sinceSeconds = int('sinceSeconds');
    for (const v of [tailLines, limitBytes, sinceSeconds]) if (isStreamingError(v)) return sendError(res, v);
    let sinceNanos: bigint | undefined;
    const sinceTime = q.get('sinceTime');
    if (sinceTime) {
      sinceNanos = parseTimeNanos(sinceTime);
      if (sinceNanos === undefined) return sendError(res, { code: 400, message: `invalid sinceTime: ${JSON.stringify(sinceTime)}` });
    } else if (typeof sinceSeconds === 'number') {
      sinceNanos = (BigInt(Date.now()) - BigInt(sinceSeconds) * 1000n) * 1_000_000n;
    }
    const c = await this.opts.backend.resolveContainer(ns, pod, container);
    if (isStreamingError(c)) return sendError(res, c);
    const previous = bool('previous');
    if (previous && !c.previousLogPath) {
      return sendError(res, { code: 400, message: `previous terminated container "${container}" in pod "${pod}" not found` });
    }
    const follow = bool('follow') && !previous;
    this.stats.logs++;
    const abort = new AbortController();
    res.on('close', () => abort.abort());
    res.writeHead(200, { 'Content-Type': 'text/plain', 'Transfer-Encoding': 'chunked', 'Cache-Control': 'no-cache, private' });
    res.flushHeaders();
    await readLog(
      previous ? c.previousLogPath! : c.logPath,
      {
        tailLines: typeof tailLines === 'number' ? tailLines : undefined,
        limitBytes: typeof limitBytes === 'number' ? limitBytes : undefined,
        sinceNanos,
        timestamps: bool('timestamps'),
        follow,
        until: follow ? exitOf(c) : undefined,
        signal: abort.signal,
        pollMs: this.opts.logPollMs,
      },
      {
        write: (chunk) => {
          if (res.destroyed) return;
          if (!res.write(chunk)) return new Promise<void>((resolve) => {
            const done = () => {
              res.off('drain', done);
              res.off('close', done);
              resolve();
            };
            res.on('drain', done);
            res.on('close', done);
          });
        },
      },
    );
    if (!res.destroyed) res.end();
    void req;
  }
}

function exitOf(c: ResolvedContainer): Promise<void> {
  return c.waitForExit();
}

function dialTarget(podName: string, pod: ResolvedPod): PortForwardTarget {
  const host = pod.hostNetwork || !pod.podIP ? '127.0.0.1' : pod.podIP;
  return { podName, podUid: pod.podUid, dial: (port) => net.connect({ host, port }) };
}

function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

function statusBody(err: StreamingError): string {
  const reason = err.code === 400 ? 'BadRequest' : err.code === 401 ? 'Unauthorized' : err.code === 403 ? 'Forbidden' : err.code === 404 ? 'NotFound' : err.code === 503 ? 'ServiceUnavailable' : 'InternalError';
  return JSON.stringify({ kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message: err.message, reason, code: err.code });
}

function sendError(res: ServerResponse, err: StreamingError): void {
  const body = statusBody(err);
  res.writeHead(err.code, { 'Content-Type': 'application/json', 'Content-Length': String(Buffer.byteLength(body)) });
  res.end(body);
}

const REASONS: Record<number, string> = { 400: 'Bad Request', 401: 'Unauthorized', 403: 'Forbidden', 404: 'Not Found', 500: 'Internal Server Error', 503: 'Service Unavailable' };

/** An HTTP error answer on a socket whose upgrade is refused. */
function writeRawError(socket: Duplex, err: StreamingError): void {
  if (socket.destroyed) return;
  const body = statusBody(err);
  socket.end(`HTTP/1.1 ${err.code} ${REASONS[err.code] ?? 'Error'}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
}
