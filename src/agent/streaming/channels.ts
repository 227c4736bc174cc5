/**
 * Kubernetes' websocket channel protocols (k8s.io/apimachinery wsstream): every binary message
 * starts with a channel byte. For exec and attach the channels are 0 stdin, 1 stdout, 2 stderr,
 * 3 error (the final Status), 4 resize; v5 adds a close signal `[255, channel]` so a client can end
 * stdin without closing the socket. Port-forward websockets pair channels per port (2i data,
 * 2i+1 error) and open each channel with its port number, two bytes little-endian.
 */

export const Channel = { stdin: 0, stdout: 1, stderr: 2, error: 3, resize: 4 } as const;
export const CLOSE_SIGNAL = 255;

/** Remote command subprotocols, newest first, as a server prefers them. */
export const REMOTE_COMMAND_PROTOCOLS = ['v5.channel.k8s.io', 'v4.channel.k8s.io', 'v3.channel.k8s.io', 'v2.channel.k8s.io', 'channel.k8s.io'] as const;
export type RemoteCommandProtocol = (typeof REMOTE_COMMAND_PROTOCOLS)[number] | '';

/** Port-forward over websockets speaks v4 framing (no close signal: each channel lives as long as the socket). */
export const PORT_FORWARD_WS_PROTOCOLS = ['v4.channel.k8s.io', 'channel.k8s.io'] as const;
/** kubectl's port-forward: SPDY/3.1 frames carried in websocket binary messages. */
export const SPDY_TUNNEL_PROTOCOL = 'SPDY/3.1+portforward.k8s.io';

/** The client's first protocol that the server knows, as upstream's handshake picks it. */
export function pickProtocol(offered: Iterable<string>, supported: readonly string[]): string | undefined {
  for (const p of offered) if (supported.includes(p)) return p;
  return undefined;
}

export function frame(channel: number, data: Buffer | string = Buffer.alloc(0)): Buffer {
  const body = typeof data === 'string' ? Buffer.from(data) : data;
  const out = Buffer.allocUnsafe(body.length + 1);
  out[0] = channel;
  body.copy(out, 1);
  return out;
}

export function closeSignal(channel: number): Buffer {
  return Buffer.from([CLOSE_SIGNAL, channel]);
}

export type Incoming = { kind: 'data'; channel: number; data: Buffer } | { kind: 'close'; channel: number } | { kind: 'empty' };

/** Splits one message; the close signal exists only in v5. */
export function parseMessage(msg: Buffer, v5: boolean): Incoming {
  if (msg.length === 0) return { kind: 'empty' };
  if (v5 && msg[0] === CLOSE_SIGNAL) return msg.length >= 2 ? { kind: 'close', channel: msg[1] } : { kind: 'empty' };
  return { kind: 'data', channel: msg[0], data: msg.subarray(1) };
}

export interface TerminalSize {
  width: number;
  height: number;
}

/** A resize message (`{"Width":80,"Height":24}`); undefined when it is not one. */
export function parseResize(data: Buffer): TerminalSize | undefined {
  try {
    const v = JSON.parse(data.toString('utf8')) as { Width?: unknown; Height?: unknown };
    const w = Number(v.Width);
    const h = Number(v.Height);
    if (!Number.isInteger(w) || !Number.isInteger(h) || w <= 0 || h <= 0 || w > 65535 || h > 65535) return undefined;
    return { width: w, height: h };
  } catch {
    return undefined;
  }
}

/** The two-byte little-endian port that opens each port-forward channel. */
export function portPrefix(port: number): Buffer {
  const b = Buffer.alloc(2);
  b.writeUInt16LE(port);
  return b;
}

/** The Status a finished exec writes on the error channel, as the kubelet does (v4 and v5: JSON). */
export function exitStatus(exitCode: number): object {
  if (exitCode === 0) return { metadata: {}, status: 'Success' };
  return {
    metadata: {},
    status: 'Failure',
    message: `command terminated with non-zero exit code: exit status ${exitCode}`,
    reason: 'NonZeroExitCode',
    details: { causes: [{ reason: 'ExitCode', message: String(exitCode) }] },
  };
}

/** An InternalError Status (the exec could not run, or failed without an exit code). */
export function internalErrorStatus(message: string): object {
  return {
    metadata: {},
    status: 'Failure',
    message: `Internal error occurred: ${message}`,
    reason: 'InternalError',
    details: { causes: [{ message }] },
    code: 500,
  };
}
