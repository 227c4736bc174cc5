import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ApiServer } from './server.js';
import { openSqliteStore } from '../storage/sqlite.js';
import type { Store } from '../storage/store.js';
import { isLongRunning } from './overload.js';
import { parseRequestInfo } from './request-info.js';

/**
 * A plain-HTTP API server whose bearer tokens name users ("Bearer jane" is jane, authenticated;
 * "Bearer sa-x" a service account):
 * with 16 seats, global-default gets 2 (ceil(16 × 20 / 245)) and one queue slot per queue.
 */
describe('overload protection over HTTP', () => {
  let dir: string;
  let store: Store;
  let server: ApiServer;
  let port: number;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'skiff-overload-'));
    store = await openSqliteStore(join(dir, 'state.db'));
    server = new ApiServer({ store, overload: { concurrencyLimit: 16, queueWaitMs: 300, requestTimeoutMs: 1500 } });
    server.tokenAuthenticators.push({
      authenticateToken: (t) =>
        t.startsWith('sa-')
          ? { user: { name: `system:serviceaccount:default:${t}`, groups: ['system:serviceaccounts', 'system:serviceaccounts:default', 'system:authenticated'] } }
          : { user: { name: t, groups: ['system:authenticated'] } },
    });
    await server.start();
    port = await server.listen(0);
  });
  after(async () => {
    await server.close();
    await store.close();
    await rm(dir, { recursive: true, force: true });
  });

  /** Opens a POST whose body never completes: the request holds its seat while the server waits for the body. */
  const stuckPost = (token: string, query = ''): Promise<{ sock: net.Socket; received: () => string }> =>
    new Promise((resolve) => {
      const sock = net.connect(port, '127.0.0.1', () => {
        sock.write(`POST /api/v1/namespaces/default/configmaps${query} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${token}\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"a":`);
        let got = '';
        sock.on('data', (d) => (got += d.toString()));
        sock.on('error', () => {});
        resolve({ sock, received: () => got });
      });
    });

  const get = (token: string, path = '/api/v1/namespaces/default/configmaps') =>
    fetch(`http://127.0.0.1:${port}${path}`, { headers: { Authorization: `Bearer ${token}` } });

  it('answers 429 with Retry-After and the flow schema headers once a level is full', async () => {
    const level = server.overload.flowControl.level('global-default')!;
    assert.equal(level.concurrencyLimit, 2);
    const held = await Promise.all([stuckPost('jane'), stuckPost('jane')]);
    await waitFor(() => level.executing === 2);
    // Queued until the queue wait limit (300 ms) runs out, then refused.
    const res = await get('jane');
    assert.equal(res.status, 429);
    assert.equal(res.headers.get('retry-after'), '1');
    assert.match(res.headers.get('x-kubernetes-pf-flowschema-uid') ?? '', /^[0-9a-f-]{36}$/);
    assert.match(res.headers.get('x-kubernetes-pf-prioritylevel-uid') ?? '', /^[0-9a-f-]{36}$/);
    assert.equal(await res.text(), 'Too many requests, please try again later.\n');
    // Other levels are not affected: a service account is served.
    assert.equal((await get('sa-builder')).status, 200);
    for (const h of held) h.sock.destroy();
    await waitFor(() => level.executing === 0);
    assert.equal((await get('jane')).status, 200);
  });

  it('serves a queued request once a seat frees up', async () => {
    const level = server.overload.flowControl.level('global-default')!;
    const held = await Promise.all([stuckPost('bob'), stuckPost('bob')]);
    await waitFor(() => level.executing === 2);
    const queued = get('carol');
    await waitFor(() => level.waiting === 1);
    held[0].sock.destroy();
    assert.equal((await queued).status, 200);
    held[1].sock.destroy();
    await waitFor(() => level.executing === 0);
  });

  it('holds a seat for a watch only while it is set up', async () => {
    const level = server.overload.flowControl.level('global-default')!;
    const watches = await Promise.all(
      Array.from({ length: 6 }, async () => {
        const ac = new AbortController();
        const res = await fetch(`http://127.0.0.1:${port}/api/v1/namespaces/default/configmaps?watch=true`, { headers: { Authorization: 'Bearer walt' }, signal: ac.signal });
        return { res, ac };
      }),
    );
    for (const w of watches) assert.equal(w.res.status, 200);
    assert.equal(level.executing, 0);
    assert.equal((await get('walt')).status, 200);
    for (const w of watches) w.ac.abort();
  });

  it('times out a request that does not finish: 504 Timeout, honouring a shorter ?timeout=', async () => {
    const { sock, received } = await stuckPost('dave', '?timeout=200ms');
    // Well before the server's own 1.5 s.
    await waitFor(() => received().endsWith('}\n'), 1200);
    const text = received();
    sock.destroy();
    assert.match(text, /^HTTP\/1\.1 504 /);
    const body = JSON.parse(text.slice(text.indexOf('\r\n\r\n') + 4));
    assert.deepEqual(
      { code: body.code, reason: body.reason, message: body.message },
      { code: 504, reason: 'Timeout', message: 'Timeout: request did not complete within the allotted timeout' },
    );
    // The timed-out request gave its seat back.
    await waitFor(() => server.overload.flowControl.level('global-default')!.executing === 0);
  });

  it('refuses a malformed timeout with 400', async () => {
    const res = await get('erin', '/api/v1/namespaces/default/configmaps?timeout=10');
    assert.equal(res.status, 400);
    const s = (await res.json()) as { message: string };
    assert.equal(s.message, 'invalid timeout specified in the request URL - time: missing unit in duration "10"');
    const bad = await get('erin', '/api/v1/namespaces/default/configmaps?timeout=soon');
    assert.equal(bad.status, 400);
  });

  it('never limits system:masters (plain HTTP without a token is the administrator)', async () => {
    const many = await Promise.all(Array.from({ length: 50 }, () => fetch(`http://127.0.0.1:${port}/api/v1/namespaces/default/configmaps`)));
    assert.ok(many.every((r) => r.status === 200));
  });

  it('knows the long-running requests: watches, pod streams, logs', () => {
    const q = (s: string) => new URLSearchParams(s);
    assert.equal(isLongRunning(parseRequestInfo('GET', '/api/v1/pods', q('watch=true'))), true);
    assert.equal(isLongRunning(parseRequestInfo('POST', '/api/v1/namespaces/a/pods/p/exec', q(''))), true);
    assert.equal(isLongRunning(parseRequestInfo('GET', '/api/v1/namespaces/a/pods/p/log', q(''))), true);
    assert.equal(isLongRunning(parseRequestInfo('GET', '/api/v1/namespaces/a/pods/p', q(''))), false);
  });
});

async function waitFor(cond: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 10));
  }
}
