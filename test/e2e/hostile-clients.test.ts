/**
 * Hostile and broken clients against a real `skiff up` (raw TLS sockets to loopback): headers
 * trickled for ever (slowloris), a body trickled for ever, an oversized body, deeply nested JSON,
 * oversized headers and URLs, and a watcher that never reads while 2,000 large objects change.
 * The server must answer or cut each of them, keep its memory bounded, and keep serving everyone
 * else. The server runs with --request-timeout 4s so that the deadlines show within the test.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import tls from 'node:tls';
import { API_ONLY_ARGS, startSkiff, type SkiffProcess } from '../harness/skiff.js';
import { KubeHttp } from './http-client.js';
import { rssBytes, skiffPid } from './proc.js';

const REQUEST_TIMEOUT_S = 4;
const MAX_BODY = 3 * 1024 * 1024;
const FLOOD_OBJECTS = 2000;
const FLOOD_VALUE = 'x'.repeat(16 * 1024);

interface RawConnection {
  sock: tls.TLSSocket;
  received(): string;
  closed(): boolean;
  /** Resolves once the server closed the connection; rejects after `ms`. */
  waitClosed(ms: number): Promise<void>;
}

describe('hostile clients', () => {
  let s: SkiffProcess;
  let k: KubeHttp;
  let pid: number;
  const sockets: tls.TLSSocket[] = [];

  const connect = (): Promise<RawConnection> =>
    new Promise((resolve, reject) => {
      const url = new URL(s.url);
      const sock = tls.connect({ host: url.hostname, port: Number(url.port), ca: k.tls.ca, cert: k.tls.cert, key: k.tls.key }, () => {
        let got = '';
        let isClosed = false;
        const closedP = new Promise<void>((r) => sock.once('close', () => ((isClosed = true), r())));
        sock.on('data', (d: Buffer) => (got += d.toString('latin1')));
        resolve({
          sock,
          received: () => got,
          closed: () => isClosed,
          waitClosed: (ms) =>
            Promise.race([closedP, new Promise<void>((_, rej) => setTimeout(() => rej(new Error(`connection still open after ${ms} ms; got: ${got.slice(0, 300)}`)), ms).unref())]),
        });
      });
      sock.on('error', () => {});
      sock.once('error', reject);
      sockets.push(sock);
    });

  const statusLine = (text: string) => text.split('\r\n')[0];

  before(async () => {
    s = await startSkiff({ extraArgs: [...API_ONLY_ARGS, '--request-timeout', `${REQUEST_TIMEOUT_S}s`] });
    k = await KubeHttp.fromKubeconfig(s.kubeconfig);
    pid = await skiffPid(s.dataDir);
    await k.ok('POST', '/api/v1/namespaces', { body: { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'flood' } } });
  });
  after(async () => {
    for (const sock of sockets) sock.destroy();
    k?.close();
    await s?.stop();
  });

  it('cuts slowloris connections (headers trickled for ever) while serving everyone else', async () => {
    const slow = await Promise.all(Array.from({ length: 50 }, () => connect()));
    const timers = slow.map((c) => {
      c.sock.write('GET /version HTTP/1.1\r\nHost: x\r\n');
      return setInterval(() => c.sock.writable && c.sock.write('X-Slow: y\r\n'), 300);
    });
    try {
      // Meanwhile others are served as usual.
      for (let i = 0; i < 20; i++) assert.equal((await k.get('/version')).status, 200);
      // Headers get HEADERS_TIMEOUT (the request timeout here) plus Node's one-second check.
      await Promise.all(slow.map((c) => c.waitClosed(REQUEST_TIMEOUT_S * 1000 + 8000)));
      for (const c of slow) assert.match(statusLine(c.received()), /^(HTTP\/1\.1 408 |$)/);
    } finally {
      timers.forEach(clearInterval);
    }
  });

  it('cuts a request whose body is trickled for ever', async () => {
    const c = await connect();
    c.sock.write('POST /api/v1/namespaces/flood/configmaps HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n{"apiVersion":"v1",');
    const t = setInterval(() => c.sock.writable && c.sock.write(' '), 300);
    try {
      await c.waitClosed(REQUEST_TIMEOUT_S * 1000 + 8000);
    } finally {
      clearInterval(t);
    }
    // The deadline's 504 Timeout or Node's 408, whichever came first.
    assert.match(statusLine(c.received()), /^HTTP\/1\.1 (408|504) /);
    assert.equal((await k.get('/version')).status, 200);
  });

  it('refuses an oversized body with 413, whether announced or chunked', async () => {
    const big = Buffer.alloc(MAX_BODY + 1024, 'a');
    for (const chunked of [false, true]) {
      const r = await k.request('POST', '/api/v1/namespaces/flood/configmaps', { body: big, chunked });
      assert.equal(r.status, 413, `chunked=${chunked}: ${r.text.slice(0, 200)}`);
      assert.equal(r.json.reason, 'RequestEntityTooLarge');
      assert.equal(r.json.message, `Request entity too large: limit is ${MAX_BODY}`);
    }
  });

  it('refuses deeply nested JSON with 400, without harm to the server', async () => {
    const depth = 100_000;
    const body = `{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"deep"},"data":${'['.repeat(depth)}${']'.repeat(depth)}}`;
    const r = await k.request('POST', '/api/v1/namespaces/flood/configmaps', { body });
    assert.equal(r.status, 400, r.text.slice(0, 200));
    assert.equal(r.json.reason, 'BadRequest');
    assert.equal((await k.get('/livez')).status, 200);
  });

  it('answers 431 to oversized headers and URLs', async () => {
    for (const head of [`GET /version HTTP/1.1\r\nHost: x\r\nX-Big: ${'b'.repeat(100_000)}\r\n\r\n`, `GET /api/v1/${'a'.repeat(100_000)} HTTP/1.1\r\nHost: x\r\n\r\n`]) {
      const c = await connect();
      c.sock.write(head);
      await c.waitClosed(10_000);
      assert.match(statusLine(c.received()), /^HTTP\/1\.1 431 /);
    }
  });

  it('closes a watcher that never reads while 2,000 large objects change; memory stays bounded; others are served', async () => {
    // Warm up the paths the flood takes, then take the baseline.
    await k.ok('POST', '/api/v1/namespaces/flood/configmaps', { body: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'warm' }, data: { v: FLOOD_VALUE } } }).catch((e) => assert.fail(`warm: ${e}`));
    const startRss = await rssBytes(pid);

    const stuck = await connect();
    stuck.sock.write('GET /api/v1/namespaces/flood/configmaps?watch=true&resourceVersion=0 HTTP/1.1\r\nHost: x\r\n\r\n');
    await new Promise((r) => setTimeout(r, 200));
    stuck.sock.pause();
    const healthy = await k.watch('/api/v1/namespaces/flood/configmaps?watch=true&resourceVersion=0');

    let peakRss = startRss;
    const sampler = setInterval(() => void rssBytes(pid).then((r) => (peakRss = Math.max(peakRss, r)), () => {}), 100);
    try {
      let next = 0;
      const worker = async () => {
        while (next < FLOOD_OBJECTS) {
          const i = next++;
          await k.ok('POST', '/api/v1/namespaces/flood/configmaps', { body: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: `cm-${i}` }, data: { v: FLOOD_VALUE } } });
          if (i % 200 === 0) assert.equal((await k.get('/version')).status, 200);
        }
      };
      await Promise.all(Array.from({ length: 16 }, worker));
      // The reading watcher got every object.
      await healthy.waitFor((evs) => evs.filter((e) => e.type === 'ADDED').length >= FLOOD_OBJECTS + 1, 'every ADDED event', 30_000);
    } finally {
      clearInterval(sampler);
      healthy.close();
    }

    // The stuck watcher was cut off: reading now drains what the kernel held, then the end.
    stuck.sock.resume();
    await stuck.waitClosed(20_000);
    const added = stuck.received().split('"type":"ADDED"').length - 1;
    console.log(`stuck watcher received ${added} events; RSS +${Math.round((peakRss - startRss) / 1048576)} MiB`);
    assert.ok(added < FLOOD_OBJECTS, `the stuck watcher was cut off (it received ${added} of ${FLOOD_OBJECTS + 1} events)`);
    // 2,000 × 16 KiB objects are ~32 MiB of data held by the watch cache; a watcher buffering all
    // of it for a client that never reads would add as much again per stuck watcher.
    assert.ok(peakRss - startRss < 300 * 1024 * 1024, `RSS grew by ${Math.round((peakRss - startRss) / 1048576)} MiB`);
    assert.equal((await k.get('/version')).status, 200);
  });
});
