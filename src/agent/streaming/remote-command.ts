/**
 * exec and attach over a websocket, as the kubelet serves them: the process's streams go out on
 * their channels, stdin and terminal resizes come in, and when the process is done (and its output
 * is out) the final Status goes on the error channel and the socket closes.
 */
import type { Readable } from 'node:stream';
import type { WebSocket } from 'ws';
import type { ProcessIO } from '../cri.js';
import {
  Channel,
  exitStatus,
  frame,
  internalErrorStatus,
  parseMessage,
  parseResize,
  type Incoming,
  type RemoteCommandProtocol,
  type TerminalSize,
} from './channels.js';

export interface RemoteCommandOptions {
  stdin: boolean;
  stdout: boolean;
  stderr: boolean;
  tty: boolean;
}

/** How long a terminal session waits for the client's first size before starting at 80x24. */
const FIRST_RESIZE_WAIT_MS = 1000;

/** Bytes queued on the socket above which process output is paused. */
const HIGH_WATER = 1 << 20;

/**
 * Runs one session. `start` creates the process (exec or attach) once the socket is open; it may
 * throw (the container is gone), which ends the session with an InternalError Status.
 */
export async function serveRemoteCommand(
  ws: WebSocket,
  protocol: RemoteCommandProtocol,
  opts: RemoteCommandOptions,
  start: (size?: TerminalSize) => ProcessIO,
  errorPrefix = 'error executing command in container',
): Promise<void> {
  const v5 = protocol === 'v5.channel.k8s.io';
  const jsonStatus = v5 || protocol === 'v4.channel.k8s.io';
  let socketClosed = false;
  const closed = new Promise<void>((resolve) => ws.once('close', () => resolve()));
  void closed.then(() => (socketClosed = true));

  const send = (data: Buffer) => {
    if (!socketClosed && ws.readyState === ws.OPEN) ws.send(data);
  };
  const writeStatus = (status: { status?: string; message?: string } & object) => {
    if (jsonStatus) send(frame(Channel.error, JSON.stringify(status)));
    // Before v4 the error channel carries only a failure's message, as text.
    else if (status.status !== 'Success') send(frame(Channel.error, status.message ?? 'error'));
  };
  const finish = () => {
    if (!socketClosed && ws.readyState === ws.OPEN) ws.close(1000);
  };

  // The kubelet's "connection established" signal: an empty message on the lowest writable channel.
  send(frame(opts.stdout ? Channel.stdout : opts.stderr ? Channel.stderr : Channel.error));

  // With a terminal, the client's first resize comes right after the upgrade: waiting for it
  // (briefly) lets the process start at the right size instead of racing a resize.
  const running: { proc?: ProcessIO } = {};
  let firstSize: TerminalSize | undefined;
  let sizeArrived: () => void = () => undefined;
  const sized = new Promise<void>((resolve) => (sizeArrived = resolve));
  const early: Incoming[] = [];

  const handle = (p: ProcessIO, m: Incoming) => {
    if (m.kind === 'close') {
      if (m.channel === Channel.stdin) p.stdin?.end();
      return;
    }
    if (m.kind !== 'data') return;
    if (m.channel === Channel.stdin && opts.stdin && p.stdin && !p.stdin.writableEnded) p.stdin.write(m.data);
    else if (m.channel === Channel.resize && opts.tty) {
      const size = parseResize(m.data);
      if (size) p.resize(size.width, size.height);
    }
  };
  ws.on('message', (raw: Buffer | ArrayBuffer | Buffer[], isBinary: boolean) => {
    if (!isBinary) return;
    const msg = Buffer.isBuffer(raw) ? raw : Array.isArray(raw) ? Buffer.concat(raw) : Buffer.from(raw);
    const m = parseMessage(msg, v5);
    if (!running.proc) {
      if (opts.tty && !firstSize && m.kind === 'data' && m.channel === Channel.resize) {
        firstSize = parseResize(m.data);
        if (firstSize) return sizeArrived();
      }
      early.push(m);
      return;
    }
    handle(running.proc, m);
  });

  if (opts.tty) await Promise.race([sized, closed, new Promise<void>((r) => setTimeout(r, FIRST_RESIZE_WAIT_MS).unref())]);
  if (socketClosed) return;
  let p: ProcessIO;
  try {
    p = start(firstSize);
  } catch (err) {
    writeStatus(internalErrorStatus(`${errorPrefix}: ${(err as Error).message}`));
    finish();
    return;
  }
  running.proc = p;
  p.stdin?.on('error', () => undefined);
  for (const m of early.splice(0)) handle(p, m);

  const pump = (stream: Readable | undefined, channel: number, wanted: boolean): Promise<void> => {
    if (!stream) return Promise.resolve();
    return new Promise((resolve) => {
      stream.on('data', (chunk: Buffer | string) => {
        if (!wanted) return;
        send(frame(channel, typeof chunk === 'string' ? Buffer.from(chunk) : chunk));
        if (ws.bufferedAmount > HIGH_WATER) {
          stream.pause();
          const wait = setInterval(() => {
            if (socketClosed || ws.bufferedAmount < HIGH_WATER / 2) {
              clearInterval(wait);
              stream.resume();
            }
          }, 10);
        }
      });
      stream.once('end', () => resolve());
      stream.once('close', () => resolve());
      stream.once('error', () => resolve());
    });
  };
  const output = Promise.all([pump(p.stdout, Channel.stdout, opts.stdout), pump(p.stderr, Channel.stderr, opts.stderr)]);

  // The client going away ends an exec (as the kubelet's context cancellation does).
  void closed.then(() => p.kill());

  let code: number;
  try {
    code = await p.exited;
  } catch (err) {
    await output;
    writeStatus(internalErrorStatus(`${errorPrefix}: ${(err as Error).message}`));
    finish();
    return;
  }
  await output;
  writeStatus(code >= 0 ? exitStatus(code) : internalErrorStatus(`${errorPrefix}: process ended by signal`));
  finish();
}
