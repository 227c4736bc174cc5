/**
 * Port-forward, as the kubelet serves it: over SPDY (kubectl, directly or tunnelled in a websocket)
 * each forwarded connection is a pair of streams (data, error) named by `requestID`; over a v4
 * channel websocket (client libraries) each requested port is a pair of channels. Either way the
 * data goes to a TCP connection to the pod, and a failure is written on the error stream.
 */
import net from 'node:net';
import type { WebSocket } from 'ws';
import { frame, parseMessage, portPrefix } from './channels.js';
import { SpdySession, type SpdyHeaders, type SpdyStream } from './spdy.js';
import type { Duplex } from 'node:stream';

export interface PortForwardTarget {
  podName: string;
  podUid: string;
  /** Connects to the pod's port (podIP:port, or loopback for hostNetwork pods). */
  dial(port: number): net.Socket;
}

/** How long the second stream of a pair may take to arrive (the kubelet's streamCreationTimeout). */
const PAIR_TIMEOUT_MS = 30_000;

/** The stream headers upstream's handler requires; a message when they are wrong. */
export function checkStreamHeaders(h: SpdyHeaders): string | undefined {
  const port = h['port']?.[0];
  if (!port) return '"port" header is required';
  const n = Number(port);
  if (!/^\d+$/.test(port) || n > 65535) return `unable to parse "${port}" as a port`;
  if (n < 1) return `port "${port}" must be > 0`;
  const type = h['streamtype']?.[0];
  if (!type) return '"streamType" header is required';
  if (type !== 'error' && type !== 'data') return `invalid stream type "${type}"`;
  return undefined;
}

function errorResponse(port: number, t: PortForwardTarget, err: Error): string {
  const code = (err as NodeJS.ErrnoException).code;
  // Resets and broken pipes are the target's doing; the rest means the forward cannot work at all.
  const closeConnection = code !== 'ECONNRESET' && code !== 'EPIPE';
  const message = `error forwarding port ${port} to pod ${t.podName}, uid ${t.podUid}: ${describe(err, port)}`;
  return JSON.stringify(closeConnection ? { closeConnection, message } : { message }) + '\n';
}

function describe(err: Error, port: number): string {
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'ECONNREFUSED') return `failed to connect to localhost:${port} inside namespace: dial tcp :${port}: connect: connection refused`;
  return err.message;
}

/** Serves port-forward streams on a SPDY connection (an upgraded socket or a websocket tunnel). */
export function serveSpdyPortForward(conn: Duplex, target: PortForwardTarget): SpdySession {
  const session = new SpdySession(conn, checkStreamHeaders);
  const pairs = new Map<string, { data?: SpdyStream; error?: SpdyStream; timer: NodeJS.Timeout }>();
  session.on('stream', (stream) => {
    const type = stream.header('streamType');
    // Clients older than requestID pair streams by consecutive IDs; upstream derives an ID the same way.
    const requestID = stream.header('requestID') ?? String(type === 'error' ? stream.id : stream.id - 2);
    let pair = pairs.get(requestID);
    if (!pair) {
      const timer = setTimeout(() => {
        const p = pairs.get(requestID);
        pairs.delete(requestID);
        if (p?.error) {
          void p.error.write(Buffer.from(`(conn=${session.isClosed ? 'closed' : 'open'}, request=${requestID}) timed out waiting for streams`));
          p.error.end();
        }
        p?.data?.resetStream();
      }, PAIR_TIMEOUT_MS);
      timer.unref();
      pair = { timer };
      pairs.set(requestID, pair);
    }
    if (type === 'data') {
      if (pair.data) return stream.resetStream();
      pair.data = stream;
    } else {
      if (pair.error) return stream.resetStream();
      pair.error = stream;
    }
    if (pair.data && pair.error) {
      clearTimeout(pair.timer);
      pairs.delete(requestID);
      forwardPair(pair.data, pair.error, target);
    }
  });
  session.on('close', () => {
    for (const p of pairs.values()) clearTimeout(p.timer);
    pairs.clear();
  });
  return session;
}

function forwardPair(data: SpdyStream, error: SpdyStream, target: PortForwardTarget): void {
  const port = Number(data.header('port'));
  const sock = target.dial(port);
  let done = false;
  const finish = (err?: Error) => {
    if (done) return;
    done = true;
    if (err) void error.write(Buffer.from(errorResponse(port, target, err)));
    data.end();
    error.end();
    sock.destroy();
  };
  // Data that arrives before the connection is up waits in the socket's buffer.
  data.on('data', (chunk: Buffer) => {
    if (!sock.destroyed && !sock.write(chunk)) {
      // Nothing to pause in SPDY without flow control: the socket buffers, as spdystream would.
    }
  });
  data.on('end', () => {
    if (!sock.destroyed) sock.end();
  });
  data.on('reset', () => finish());
  sock.on('data', (chunk: Buffer) => {
    sock.pause();
    void data.write(chunk).then(() => sock.resume());
  });
  sock.on('end', () => data.end());
  sock.on('close', () => finish());
  sock.on('error', (err) => finish(err));
}

/**
 * Port-forward on a channel websocket: channels 2i (data) and 2i+1 (error) for the i-th port of the
 * request, each opened with the port number; one connection to the pod per port for the life of
 * the socket.
 */
export function serveWebSocketPortForward(ws: WebSocket, ports: number[], target: PortForwardTarget): void {
  const send = (channel: number, data: Buffer) => {
    if (ws.readyState === ws.OPEN) ws.send(frame(channel, data));
  };
  const sockets: net.Socket[] = [];
  let open = ports.length;
  ports.forEach((port, i) => {
    send(2 * i, portPrefix(port));
    send(2 * i + 1, portPrefix(port));
    const sock = target.dial(port);
    sockets.push(sock);
    sock.on('data', (chunk: Buffer) => send(2 * i, chunk));
    sock.on('error', (err) => send(2 * i + 1, Buffer.from(`error forwarding port ${port} to pod ${target.podName}, uid ${target.podUid}: ${describe(err, port)}`)));
    sock.on('close', () => {
      if (--open === 0 && ws.readyState === ws.OPEN) ws.close(1000);
    });
  });
  ws.on('message', (raw: Buffer, isBinary: boolean) => {
    if (!isBinary) return;
    const m = parseMessage(Buffer.isBuffer(raw) ? raw : Buffer.from(raw), false);
    if (m.kind !== 'data' || m.channel % 2 !== 0) return;
    const sock = sockets[m.channel / 2];
    if (sock && !sock.destroyed) sock.write(m.data);
  });
  ws.on('close', () => {
    for (const s of sockets) s.destroy();
  });
}

/** The ports a websocket port-forward asks for: `?port=80&port=443` or `?port=80,443`. */
export function parsePorts(values: string[]): number[] | string {
  if (values.length === 0) return 'query parameter "port" is required';
  const ports: number[] = [];
  for (const v of values) {
    if (v === '') return 'query parameter "port" cannot be empty';
    for (const p of v.split(',')) {
      if (!/^\d+$/.test(p) || Number(p) > 65535) return `unable to parse "${v}" as a port`;
      if (Number(p) < 1) return `port "${v}" must be > 0`;
      ports.push(Number(p));
    }
  }
  return ports;
}
