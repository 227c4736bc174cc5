import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { PassThrough, Duplex } from 'node:stream';
import zlib from 'node:zlib';
import { SPDY3_DICTIONARY } from './spdy-dictionary.js';
import {
  FLAG_FIN,
  FrameReader,
  HeaderCompressor,
  HeaderDecompressor,
  SpdySession,
  decodeFrame,
  decodeHeaderBlock,
  encodeFrame,
  encodeHeaderBlock,
  type Frame,
} from './spdy.js';

describe('SPDY/3.1 codec', () => {
  it('uses the SPDY/3 header dictionary byte for byte', () => {
    assert.equal(SPDY3_DICTIONARY.length, 1423);
    // The hash of the dictionary as the SPDY/3 spec and Go's spdy package define it.
    assert.equal(createHash('sha256').update(SPDY3_DICTIONARY).digest('hex'), '51d27341373f923f3cd88e1eb7162aeaa3723d7585ff2399201dc06498407f02');
  });

  it('round-trips every frame type through one compression context per direction', async () => {
    const c = new HeaderCompressor();
    const d = new HeaderDecompressor();
    const frames: Frame[] = [
      { type: 'syn_stream', streamId: 1, associatedStreamId: 0, priority: 0, slot: 0, flags: 0, headers: { streamtype: ['error'], port: ['8080'], requestid: ['0'] } },
      { type: 'syn_stream', streamId: 3, associatedStreamId: 0, priority: 2, slot: 0, flags: FLAG_FIN, headers: { streamtype: ['data'], port: ['8080'], requestid: ['0'] } },
      { type: 'syn_reply', streamId: 3, flags: 0, headers: {} },
      { type: 'headers', streamId: 3, flags: 0, headers: { 'x-many': ['a', 'b'] } },
      { type: 'data', streamId: 3, flags: FLAG_FIN, data: Buffer.from('hello') },
      { type: 'rst_stream', streamId: 5, status: 5 },
      { type: 'settings', flags: 0, entries: [{ flags: 0, id: 7, value: 65536 }] },
      { type: 'ping', id: 1 },
      { type: 'window_update', streamId: 3, delta: 1024 },
      { type: 'goaway', lastGoodStreamId: 3, status: 0 },
    ];
    const bytes = Buffer.concat(await Promise.all(frames.map((f) => encodeFrame(f, c))).then((bs) => bs));
    // Cut the stream at odd places: the reader must reassemble frames.
    const reader = new FrameReader();
    const raws = [];
    for (let i = 0; i < bytes.length; i += 7) raws.push(...reader.push(bytes.subarray(i, i + 7)));
    const back = [];
    for (const r of raws) back.push(await decodeFrame(r, d));
    assert.deepEqual(back, frames);
    c.close();
    d.close();
  });

  it('reads header blocks zlib-compressed by another SPDY implementation (zlib with the dictionary, sync flushes)', async () => {
    const z = zlib.createDeflate({ dictionary: SPDY3_DICTIONARY });
    const out: Buffer[] = [];
    z.on('data', (b: Buffer) => out.push(b));
    const block = async (h: Record<string, string[]>) => {
      z.write(encodeHeaderBlock(h));
      await new Promise<void>((r) => z.flush(zlib.constants.Z_SYNC_FLUSH, () => r()));
      return Buffer.concat(out.splice(0));
    };
    const d = new HeaderDecompressor();
    assert.deepEqual(await d.decompress(await block({ ':method': ['post'], streamtype: ['data'] })), { ':method': ['post'], streamtype: ['data'] });
    assert.deepEqual(await d.decompress(await block({ streamtype: ['error'] })), { streamtype: ['error'] });
    z.close();
    d.close();
  });

  it('header blocks: names are lower-cased, values NUL-joined', () => {
    assert.deepEqual(decodeHeaderBlock(encodeHeaderBlock({ StreamType: ['data'], multi: ['1', '2'] })), { streamtype: ['data'], multi: ['1', '2'] });
    assert.throws(() => decodeHeaderBlock(Buffer.from([0, 0, 0, 1, 0, 0, 0, 9])));
  });

  it('a session answers streams, echoes pings, refuses bad streams and carries data both ways', async () => {
    const toServer = new PassThrough();
    const toClient = new PassThrough();
    const serverSide = Duplex.from({ readable: toServer, writable: toClient });
    const session = new SpdySession(serverSide, (h) => (h['port'] ? undefined : 'no port'));
    const got: string[] = [];
    session.on('stream', (s) => {
      s.on('data', (b: Buffer) => {
        got.push(b.toString());
        void s.write(Buffer.from(b.toString().toUpperCase()));
      });
      s.on('end', () => s.end());
    });
    const c = new HeaderCompressor();
    const d = new HeaderDecompressor();
    const reader = new FrameReader();
    const received: Frame[] = [];
    toClient.on('data', async (b: Buffer) => {
      for (const r of reader.push(b)) {
        const f = await decodeFrame(r, d);
        if (f) received.push(f);
      }
    });
    toServer.write(await encodeFrame({ type: 'syn_stream', streamId: 1, associatedStreamId: 0, priority: 0, slot: 0, flags: 0, headers: { port: ['80'] } }, c));
    toServer.write(await encodeFrame({ type: 'syn_stream', streamId: 3, associatedStreamId: 0, priority: 0, slot: 0, flags: 0, headers: {} }, c));
    toServer.write(await encodeFrame({ type: 'ping', id: 1 }, c));
    toServer.write(await encodeFrame({ type: 'data', streamId: 1, flags: FLAG_FIN, data: Buffer.from('abc') }, c));
    const until = async (pred: () => boolean) => {
      for (let i = 0; i < 200 && !pred(); i++) await new Promise((r) => setTimeout(r, 10));
    };
    await until(() => received.some((f) => f.type === 'data' && (f.flags & FLAG_FIN) !== 0));
    assert.deepEqual(got, ['abc']);
    assert.ok(received.some((f) => f.type === 'syn_reply' && f.streamId === 1));
    assert.ok(received.some((f) => f.type === 'rst_stream' && f.streamId === 3), 'the stream without a port is reset');
    assert.ok(received.some((f) => f.type === 'ping' && f.id === 1));
    const data = received.filter((f) => f.type === 'data') as Extract<Frame, { type: 'data' }>[];
    assert.equal(Buffer.concat(data.map((f) => f.data)).toString(), 'ABC');
    session.close();
    c.close();
    d.close();
  });
});
