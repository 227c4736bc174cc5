/**
 * SPDY/3.1 as Kubernetes speaks it (port-forward, and exec/attach from older clients): the frame
 * codec and a small session for the server side. Kubernetes uses SPDY only as a stream multiplexer
 * over one upgraded connection — no priorities, no server push, and its Go peer (moby/spdystream)
 * neither sends nor honours flow-control windows — so this implements the frames and what a
 * multiplexer needs, and accepts (and ignores) the rest.
 *
 * Header blocks are zlib streams seeded with SPDY's dictionary, one compression context per
 * direction for the whole session, each block ended by a sync flush.
 */
import { EventEmitter } from 'node:events';
import type { Duplex } from 'node:stream';
import zlib from 'node:zlib';
import { SPDY3_DICTIONARY } from './spdy-dictionary.js';

export const SPDY_VERSION = 3;

export const FrameType = {
  SynStream: 1,
  SynReply: 2,
  RstStream: 3,
  Settings: 4,
  Ping: 6,
  GoAway: 7,
  Headers: 8,
  WindowUpdate: 9,
} as const;

export const FLAG_FIN = 0x01;
export const FLAG_UNIDIRECTIONAL = 0x02;

/** RST_STREAM status codes. */
export const RstStatus = {
  ProtocolError: 1,
  InvalidStream: 2,
  RefusedStream: 3,
  UnsupportedVersion: 4,
  Cancel: 5,
  InternalError: 6,
  FlowControlError: 7,
  StreamInUse: 8,
  StreamAlreadyClosed: 9,
} as const;

/** Header names are lower case (SPDY requires it); a name may carry several values. */
export type SpdyHeaders = Record<string, string[]>;

export type Frame =
  | { type: 'data'; streamId: number; flags: number; data: Buffer }
  | { type: 'syn_stream'; streamId: number; associatedStreamId: number; priority: number; slot: number; flags: number; headers: SpdyHeaders }
  | { type: 'syn_reply'; streamId: number; flags: number; headers: SpdyHeaders }
  | { type: 'rst_stream'; streamId: number; status: number }
  | { type: 'settings'; flags: number; entries: { flags: number; id: number; value: number }[] }
  | { type: 'ping'; id: number }
  | { type: 'goaway'; lastGoodStreamId: number; status: number }
  | { type: 'headers'; streamId: number; flags: number; headers: SpdyHeaders }
  | { type: 'window_update'; streamId: number; delta: number };

export class SpdyProtocolError extends Error {}

// ---------------------------------------------------------------------------------------------
// Header blocks

/** The uncompressed name/value block: count, then length-prefixed names and NUL-joined values. */
export function encodeHeaderBlock(headers: SpdyHeaders): Buffer {
  const parts: Buffer[] = [];
  const names = Object.keys(headers);
  const count = Buffer.alloc(4);
  count.writeUInt32BE(names.length);
  parts.push(count);
  for (const name of names) {
    const n = Buffer.from(name.toLowerCase(), 'utf8');
    const v = Buffer.from(headers[name].join('\0'), 'utf8');
    const nl = Buffer.alloc(4);
    nl.writeUInt32BE(n.length);
    const vl = Buffer.alloc(4);
    vl.writeUInt32BE(v.length);
    parts.push(nl, n, vl, v);
  }
  return Buffer.concat(parts);
}

export function decodeHeaderBlock(block: Buffer): SpdyHeaders {
  const out: SpdyHeaders = {};
  let at = 0;
  const u32 = () => {
    if (at + 4 > block.length) throw new SpdyProtocolError('truncated header block');
    const v = block.readUInt32BE(at);
    at += 4;
    return v;
  };
  const bytes = (n: number) => {
    if (at + n > block.length) throw new SpdyProtocolError('truncated header block');
    const b = block.subarray(at, at + n);
    at += n;
    return b;
  };
  const count = u32();
  for (let i = 0; i < count; i++) {
    const name = bytes(u32()).toString('utf8').toLowerCase();
    const values = bytes(u32()).toString('utf8').split('\0');
    if (name === '') throw new SpdyProtocolError('empty header name');
    out[name] = [...(out[name] ?? []), ...values];
  }
  return out;
}

/**
 * One direction's zlib context. Blocks go through one at a time (the session serializes them), so
 * whatever the stream emits between a write and its sync flush is exactly that block's output.
 */
class ZlibContext {
  private chunks: Buffer[] = [];
  private failure: Error | undefined;

  constructor(private readonly z: zlib.Deflate | zlib.Inflate) {
    z.on('data', (c: Buffer) => this.chunks.push(c));
    z.on('error', (err: Error) => (this.failure = err));
  }

  process(input: Buffer): Promise<Buffer> {
    return new Promise((resolve, reject) => {
      if (this.failure) return reject(this.failure);
      this.z.write(input);
      this.z.flush(zlib.constants.Z_SYNC_FLUSH, () => {
        if (this.failure) return reject(new SpdyProtocolError(`header block: ${this.failure.message}`));
        const out = Buffer.concat(this.chunks);
        this.chunks = [];
        resolve(out);
      });
    });
  }

  close(): void {
    this.z.destroy();
  }
}

export class HeaderCompressor {
  private readonly ctx = new ZlibContext(zlib.createDeflate({ dictionary: SPDY3_DICTIONARY }));
  compress(headers: SpdyHeaders): Promise<Buffer> {
    return this.ctx.process(encodeHeaderBlock(headers));
  }
  close(): void {
    this.ctx.close();
  }
}

export class HeaderDecompressor {
  private readonly ctx = new ZlibContext(zlib.createInflate({ dictionary: SPDY3_DICTIONARY }));
  async decompress(block: Buffer): Promise<SpdyHeaders> {
    return decodeHeaderBlock(await this.ctx.process(block));
  }
  close(): void {
    this.ctx.close();
  }
}

// ---------------------------------------------------------------------------------------------
// Frames

/** A frame as it arrives: control frames with their header block still compressed. */
export type RawFrame =
  | { control: false; streamId: number; flags: number; data: Buffer }
  | { control: true; version: number; type: number; flags: number; data: Buffer };

/** Cuts a byte stream into frames. */
export class FrameReader {
  private buf: Buffer = Buffer.alloc(0);

  push(chunk: Buffer): RawFrame[] {
    this.buf = this.buf.length === 0 ? chunk : Buffer.concat([this.buf, chunk]);
    const frames: RawFrame[] = [];
    while (this.buf.length >= 8) {
      const length = this.buf.readUInt32BE(4) & 0xffffff;
      if (this.buf.length < 8 + length) break;
      const flags = this.buf[4];
      const data = this.buf.subarray(8, 8 + length);
      if (this.buf[0] & 0x80) {
        frames.push({ control: true, version: this.buf.readUInt16BE(0) & 0x7fff, type: this.buf.readUInt16BE(2), flags, data });
      } else {
        frames.push({ control: false, streamId: this.buf.readUInt32BE(0) & 0x7fffffff, flags, data });
      }
      this.buf = this.buf.subarray(8 + length);
    }
    return frames;
  }
}

function controlFrame(type: number, flags: number, body: Buffer): Buffer {
  if (body.length > 0xffffff) throw new SpdyProtocolError('frame too large');
  const head = Buffer.alloc(8);
  head.writeUInt16BE(0x8000 | SPDY_VERSION, 0);
  head.writeUInt16BE(type, 2);
  head.writeUInt32BE(((flags & 0xff) << 24) | body.length, 4);
  return Buffer.concat([head, body]);
}

export function encodeDataFrame(streamId: number, flags: number, data: Buffer): Buffer {
  if (data.length > 0xffffff) throw new SpdyProtocolError('frame too large');
  const head = Buffer.alloc(8);
  head.writeUInt32BE(streamId & 0x7fffffff, 0);
  head.writeUInt32BE(((flags & 0xff) << 24) | data.length, 4);
  return Buffer.concat([head, data]);
}

function u32s(...values: number[]): Buffer {
  const b = Buffer.alloc(values.length * 4);
  values.forEach((v, i) => b.writeUInt32BE(v >>> 0, i * 4));
  return b;
}

/** Encodes a frame; frames with headers need the session's compressor. */
export async function encodeFrame(frame: Frame, compressor?: HeaderCompressor): Promise<Buffer> {
  const block = async (h: SpdyHeaders) => {
    if (!compressor) throw new Error('a header block needs a compressor');
    return compressor.compress(h);
  };
  switch (frame.type) {
    case 'data':
      return encodeDataFrame(frame.streamId, frame.flags, frame.data);
    case 'syn_stream': {
      const head = Buffer.alloc(10);
      head.writeUInt32BE(frame.streamId & 0x7fffffff, 0);
      head.writeUInt32BE(frame.associatedStreamId & 0x7fffffff, 4);
      head[8] = (frame.priority & 0x7) << 5;
      head[9] = frame.slot & 0xff;
      return controlFrame(FrameType.SynStream, frame.flags, Buffer.concat([head, await block(frame.headers)]));
    }
    case 'syn_reply':
      return controlFrame(FrameType.SynReply, frame.flags, Buffer.concat([u32s(frame.streamId & 0x7fffffff), await block(frame.headers)]));
    case 'headers':
      return controlFrame(FrameType.Headers, frame.flags, Buffer.concat([u32s(frame.streamId & 0x7fffffff), await block(frame.headers)]));
    case 'rst_stream':
      return controlFrame(FrameType.RstStream, 0, u32s(frame.streamId & 0x7fffffff, frame.status));
    case 'settings': {
      const body = Buffer.alloc(4 + frame.entries.length * 8);
      body.writeUInt32BE(frame.entries.length, 0);
      frame.entries.forEach((e, i) => {
        body.writeUInt32BE(((e.flags & 0xff) << 24) | (e.id & 0xffffff), 4 + i * 8);
        body.writeUInt32BE(e.value >>> 0, 8 + i * 8);
      });
      return controlFrame(FrameType.Settings, frame.flags, body);
    }
    case 'ping':
      return controlFrame(FrameType.Ping, 0, u32s(frame.id));
    case 'goaway':
      return controlFrame(FrameType.GoAway, 0, u32s(frame.lastGoodStreamId & 0x7fffffff, frame.status));
    case 'window_update':
      return controlFrame(FrameType.WindowUpdate, 0, u32s(frame.streamId & 0x7fffffff, frame.delta & 0x7fffffff));
  }
}

/** Decodes a raw frame; undefined for control frame types SPDY/3 does not define (to be ignored). */
export async function decodeFrame(raw: RawFrame, decompressor: HeaderDecompressor): Promise<Frame | undefined> {
  if (!raw.control) return { type: 'data', streamId: raw.streamId, flags: raw.flags, data: raw.data };
  if (raw.version !== SPDY_VERSION) throw new SpdyProtocolError(`unsupported SPDY version ${raw.version}`);
  const d = raw.data;
  const need = (n: number) => {
    if (d.length < n) throw new SpdyProtocolError(`control frame ${raw.type} too short`);
  };
  switch (raw.type) {
    case FrameType.SynStream:
      need(10);
      return {
        type: 'syn_stream',
        streamId: d.readUInt32BE(0) & 0x7fffffff,
        associatedStreamId: d.readUInt32BE(4) & 0x7fffffff,
        priority: d[8] >> 5,
        slot: d[9],
        flags: raw.flags,
        headers: await decompressor.decompress(d.subarray(10)),
      };
    case FrameType.SynReply:
      need(4);
      return { type: 'syn_reply', streamId: d.readUInt32BE(0) & 0x7fffffff, flags: raw.flags, headers: await decompressor.decompress(d.subarray(4)) };
    case FrameType.Headers:
      need(4);
      return { type: 'headers', streamId: d.readUInt32BE(0) & 0x7fffffff, flags: raw.flags, headers: await decompressor.decompress(d.subarray(4)) };
    case FrameType.RstStream:
      need(8);
      return { type: 'rst_stream', streamId: d.readUInt32BE(0) & 0x7fffffff, status: d.readUInt32BE(4) };
    case FrameType.Settings: {
      need(4);
      const n = d.readUInt32BE(0);
      need(4 + n * 8);
      const entries = [];
      for (let i = 0; i < n; i++) {
        const w = d.readUInt32BE(4 + i * 8);
        entries.push({ flags: w >>> 24, id: w & 0xffffff, value: d.readUInt32BE(8 + i * 8) });
      }
      return { type: 'settings', flags: raw.flags, entries };
    }
    case FrameType.Ping:
      need(4);
      return { type: 'ping', id: d.readUInt32BE(0) };
    case FrameType.GoAway:
      need(4);
      return { type: 'goaway', lastGoodStreamId: d.readUInt32BE(0) & 0x7fffffff, status: d.length >= 8 ? d.readUInt32BE(4) : 0 };
    case FrameType.WindowUpdate:
      need(8);
      return { type: 'window_update', streamId: d.readUInt32BE(0) & 0x7fffffff, delta: d.readUInt32BE(4) & 0x7fffffff };
    default:
      return undefined;
  }
}

// ---------------------------------------------------------------------------------------------
// Session

/** Data frames are cut to this size so that one large write does not hold the connection. */
const MAX_DATA_FRAME = 32 * 1024;

/** A stream the peer opened: its headers, its data as events, and our half to write. */
export class SpdyStream extends EventEmitter {
  /** The peer sent FIN (or the stream was reset). */
  remoteClosed = false;
  /** We sent FIN (or the stream was reset). */
  localClosed = false;
  reset = false;

  constructor(
    private readonly session: SpdySession,
    readonly id: number,
    readonly headers: SpdyHeaders,
  ) {
    super();
  }

  header(name: string): string | undefined {
    return this.headers[name.toLowerCase()]?.[0];
  }

  /** Resolves once the bytes are handed to the connection (for back-pressure). */
  write(data: Buffer): Promise<void> {
    if (this.localClosed) return Promise.resolve();
    const writes: Promise<void>[] = [];
    for (let at = 0; at < data.length; at += MAX_DATA_FRAME) {
      writes.push(this.session.send({ type: 'data', streamId: this.id, flags: 0, data: data.subarray(at, at + MAX_DATA_FRAME) }));
    }
    return Promise.all(writes).then(() => undefined);
  }

  /** Half-closes our side (DATA with FIN). */
  end(): void {
    if (this.localClosed) return;
    this.localClosed = true;
    void this.session.send({ type: 'data', streamId: this.id, flags: FLAG_FIN, data: Buffer.alloc(0) });
    this.session.maybeForget(this);
  }

  /** Aborts both directions. */
  resetStream(status: number = RstStatus.Cancel): void {
    if (this.reset) return;
    void this.session.send({ type: 'rst_stream', streamId: this.id, status });
    this.onReset();
  }

  /** @internal */
  onData(data: Buffer, fin: boolean): void {
    if (this.remoteClosed) return;
    if (data.length > 0) this.emit('data', data);
    if (fin) {
      this.remoteClosed = true;
      this.emit('end');
      this.session.maybeForget(this);
    }
  }

  /** @internal */
  onReset(): void {
    if (this.reset) return;
    this.reset = true;
    const wasOpen = !this.remoteClosed;
    this.remoteClosed = true;
    this.localClosed = true;
    if (wasOpen) this.emit('end');
    this.emit('reset');
    this.session.maybeForget(this);
  }
}

export interface SpdySessionEvents {
  /** A peer-opened stream, already answered with SYN_REPLY unless `accept` said no. */
  stream: [SpdyStream];
  close: [];
}

/**
 * The server side of a SPDY session over any duplex byte stream (an upgraded socket, or the byte
 * stream carried in websocket messages). `accept` decides about each new stream before it is
 * answered: an error string resets it, as upstream's stream handler does.
 */
export class SpdySession extends EventEmitter<SpdySessionEvents> {
  private readonly reader = new FrameReader();
  private readonly compressor = new HeaderCompressor();
  private readonly decompressor = new HeaderDecompressor();
  private readonly streams = new Map<number, SpdyStream>();
  private inbound: Promise<void> = Promise.resolve();
  private outbound: Promise<void> = Promise.resolve();
  private lastStreamId = 0;
  private closed = false;

  constructor(
    private readonly conn: Duplex,
    private readonly accept: (headers: SpdyHeaders) => string | undefined = () => undefined,
  ) {
    super();
    conn.on('data', (chunk: Buffer) => {
      let frames: RawFrame[];
      try {
        frames = this.reader.push(chunk);
      } catch {
        return this.close();
      }
      for (const raw of frames) this.inbound = this.inbound.then(() => this.receive(raw));
      this.inbound = this.inbound.catch(() => this.close());
    });
    conn.on('end', () => this.close());
    conn.on('close', () => this.close());
    conn.on('error', () => this.close());
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /** Queues a frame; frames leave in the order they were queued. */
  send(frame: Frame): Promise<void> {
    const next = this.outbound.then(async () => {
      if (this.closed) return;
      const bytes = await encodeFrame(frame, this.compressor);
      if (this.closed) return;
      if (!this.conn.write(bytes)) await new Promise<void>((resolve) => {
        const done = () => {
          this.conn.off('drain', done);
          this.conn.off('close', done);
          resolve();
        };
        this.conn.on('drain', done);
        this.conn.on('close', done);
      });
    });
    this.outbound = next.catch(() => this.close());
    return this.outbound;
  }

  /** GOAWAY, then closes the connection once queued frames are out. */
  async goAway(): Promise<void> {
    if (this.closed) return;
    await this.send({ type: 'goaway', lastGoodStreamId: this.lastStreamId, status: 0 });
    this.close();
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const s of [...this.streams.values()]) s.onReset();
    this.streams.clear();
    this.compressor.close();
    this.decompressor.close();
    this.conn.end();
    // A peer that never closes its side would keep the socket forever.
    setTimeout(() => this.conn.destroy(), 1000).unref();
    this.emit('close');
  }

  /** @internal Drops a stream both sides have finished with. */
  maybeForget(s: SpdyStream): void {
    if (s.localClosed && s.remoteClosed) this.streams.delete(s.id);
  }

  private async receive(raw: RawFrame): Promise<void> {
    if (this.closed) return;
    const frame = await decodeFrame(raw, this.decompressor);
    if (!frame) return;
    switch (frame.type) {
      case 'syn_stream': {
        if (this.streams.has(frame.streamId) || frame.streamId <= this.lastStreamId) {
          void this.send({ type: 'rst_stream', streamId: frame.streamId, status: RstStatus.ProtocolError });
          return;
        }
        this.lastStreamId = frame.streamId;
        const refused = this.accept(frame.headers);
        if (refused !== undefined) {
          void this.send({ type: 'rst_stream', streamId: frame.streamId, status: RstStatus.RefusedStream });
          return;
        }
        const stream = new SpdyStream(this, frame.streamId, frame.headers);
        this.streams.set(frame.streamId, stream);
        if (frame.flags & FLAG_UNIDIRECTIONAL) stream.localClosed = true;
        void this.send({ type: 'syn_reply', streamId: frame.streamId, flags: 0, headers: {} });
        this.emit('stream', stream);
        if (frame.flags & FLAG_FIN) stream.onData(Buffer.alloc(0), true);
        return;
      }
      case 'data': {
        const s = this.streams.get(frame.streamId);
        if (!s) {
          void this.send({ type: 'rst_stream', streamId: frame.streamId, status: RstStatus.InvalidStream });
          return;
        }
        s.onData(frame.data, (frame.flags & FLAG_FIN) !== 0);
        return;
      }
      case 'headers': {
        const s = this.streams.get(frame.streamId);
        if (s && frame.flags & FLAG_FIN) s.onData(Buffer.alloc(0), true);
        return;
      }
      case 'rst_stream':
        this.streams.get(frame.streamId)?.onReset();
        return;
      case 'ping':
        // Only the peer's own pings (odd ids from a client) are echoed; ours would come back.
        if (frame.id % 2 === 1) void this.send({ type: 'ping', id: frame.id });
        return;
      case 'goaway':
        this.close();
        return;
      case 'syn_reply':
      case 'settings':
      case 'window_update':
        return;
    }
  }
}
