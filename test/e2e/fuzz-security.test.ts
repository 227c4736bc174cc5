/**
 * Structured fuzzing, complementing fuzz.test.ts (which throws garbage everywhere): inputs that are
 * well-formed enough to get deep into the server.
 *
 * 1. Against a real `skiff up`: JSON patches, merge patches and strategic merge patches (with
 *    their directives: $patch, $retainKeys, $setElementOrder, $deleteFromPrimitiveList) built from
 *    the real objects' paths; label and field selectors from their grammars with mutations; bodies
 *    that stress the decoders (escapes, lone surrogates, huge numbers, duplicate keys, a BOM, YAML
 *    anchors, merge keys, tags and several documents). No answer may be a 5xx (save upstream's own
 *    500 for a strategic merge patch's plain Go error and 504 for a too-large resourceVersion),
 *    every error is a Status, and the server serves afterwards.
 * 2. The exec stream framing, in process: an API server proxying exec to a node agent's streaming
 *    server (whose "containers" run host processes); websocket channel frames with random channel
 *    bytes and payloads, resize messages of junk, random close codes, and raw malformed websocket
 *    frames after a good handshake. Nothing may crash, and a clean exec works afterwards.
 *
 * Everything comes from a seeded PRNG; the seed is printed and SKIFF_FUZZ_SEED replays it.
 * SKIFF_FUZZ_COUNT bounds the number of requests (default 1500) and exec sessions (a tenth).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import https from 'node:https';
import http from 'node:http';
import net from 'node:net';
import { randomInt } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import WebSocket from 'ws';
import { Draws, mulberry32 } from '../harness/random.js';
import { API_ONLY_ARGS, startSkiff, type SkiffProcess } from '../harness/skiff.js';
import { KubeHttp } from './http-client.js';
import { ApiServer } from '../../src/apiserver/server.js';
import { InProcessClient } from '../../src/client/in-process.js';
import { openSqliteStore } from '../../src/storage/sqlite.js';
import type { Store } from '../../src/storage/store.js';
import { createCa, issueLeaf } from '../../src/pki/issue.js';
import { StreamingServer } from '../../src/agent/streaming/server.js';
import { HostProcessBackend } from '../../src/agent/streaming/testing.js';

const SEED = process.env.SKIFF_FUZZ_SEED ? Number(process.env.SKIFF_FUZZ_SEED) : randomInt(1, 2 ** 31);
const COUNT = Number(process.env.SKIFF_FUZZ_COUNT ?? 1500);
const WORKERS = 8;
const NS = 'fz';


class Gen extends Draws {
  str(): string {
    return this.pick<() => string>([
      () => 'a',
      () => 'app',
      () => 'x'.repeat(this.int(300)),
      () => 'example.com/key',
      () => 'a/b/c',
      () => '',
      () => '-lead',
      () => 'trail-',
      () => 'ünï',
      () => '\u0000',
      () => '\\',
      () => ',',
      () => '=',
      () => '(',
      () => '!',
      () => ' ',
      () => String(this.int(1e6)),
    ])();
  }
  value(depth = 0): unknown {
    if (depth > 4) return this.str();
    return this.pick<() => unknown>([
      () => null,
      () => this.str(),
      () => this.int(100),
      () => this.pick([1e308, -0, 2 ** 63, 0.5, -1]),
      () => this.chance(0.5),
      () => Array.from({ length: this.int(4) }, () => this.value(depth + 1)),
      () => Object.fromEntries(Array.from({ length: this.int(4) }, () => [this.str(), this.value(depth + 1)])),
    ])();
  }
}

// ---- generators ----

const DEPLOYMENT_PATHS = [
  '/metadata/labels',
  '/metadata/labels/app',
  '/metadata/annotations',
  '/metadata/finalizers',
  '/metadata/finalizers/0',
  '/metadata/finalizers/-',
  '/spec/replicas',
  '/spec/selector',
  '/spec/template/spec/containers',
  '/spec/template/spec/containers/0',
  '/spec/template/spec/containers/0/env',
  '/spec/template/spec/containers/0/env/-',
  '/spec/template/spec/containers/1',
  '/spec/template/spec/containers/-',
  '/spec/template/metadata/labels/app',
  '/spec/strategy',
  '/status',
  '/metadata/name',
  '/metadata/resourceVersion',
  '/metadata/labels/a~1b',
  '/metadata/labels/~2',
  '',
  '/',
];

function jsonPatch(g: Gen): unknown {
  return Array.from({ length: 1 + g.int(6) }, () => {
    const op = g.pick(['add', 'remove', 'replace', 'move', 'copy', 'test']);
    const o: Record<string, unknown> = { op, path: g.pick(DEPLOYMENT_PATHS) };
    if (op === 'move' || op === 'copy') o.from = g.pick(DEPLOYMENT_PATHS);
    if (op !== 'remove' && g.chance(0.95)) o.value = g.chance(0.5) ? g.value() : g.pick([{ name: 'c2', image: 'busybox' }, 'v', 3, [], {}]);
    return o;
  });
}

function mergePatch(g: Gen): unknown {
  const p: Record<string, unknown> = {};
  if (g.chance(0.6)) p.metadata = { labels: g.chance(0.8) ? { [g.str()]: g.chance(0.3) ? null : g.str() } : g.value(), annotations: g.chance(0.5) ? null : { k: g.str() } };
  if (g.chance(0.5)) p.data = g.chance(0.8) ? { [g.str()]: g.chance(0.2) ? null : g.str() } : g.value();
  if (g.chance(0.5)) p.spec = g.chance(0.5) ? g.value() : { replicas: g.pick([1, -1, 'x', null, 1e10]), template: { spec: { containers: g.chance(0.5) ? null : [{ name: g.str(), image: g.str() }] } } };
  if (g.chance(0.1)) return g.value();
  return p;
}

function strategicPatch(g: Gen): unknown {
  const containers: unknown[] = Array.from({ length: g.int(3) }, () => {
    const c: Record<string, unknown> = { name: g.pick(['c', 'c2', g.str()]) };
    if (g.chance(0.5)) c.image = g.str();
    if (g.chance(0.3)) c.$patch = g.pick(['delete', 'replace', 'merge', 'bogus']);
    if (g.chance(0.3)) c.env = [{ name: g.str(), value: g.str(), ...(g.chance(0.3) ? { $patch: g.pick(['delete', 'replace']) } : {}) }];
    return c;
  });
  const spec: Record<string, unknown> = { containers };
  if (g.chance(0.3)) spec['$setElementOrder/containers'] = g.chance(0.7) ? [{ name: 'c' }, { name: g.str() }] : g.value();
  if (g.chance(0.2)) spec.$retainKeys = g.chance(0.7) ? ['containers', g.str()] : g.value();
  const p: Record<string, unknown> = { spec: { template: { spec } } };
  if (g.chance(0.3)) p.metadata = { finalizers: [g.str()], ...(g.chance(0.5) ? { '$deleteFromPrimitiveList/finalizers': g.chance(0.7) ? [g.str()] : g.value() } : {}) };
  if (g.chance(0.2)) p.$patch = g.pick(['replace', 'delete', 'merge', 'nonsense']);
  if (g.chance(0.2)) (p.spec as Record<string, unknown>).strategy = { $retainKeys: [g.str()], type: g.pick(['Recreate', 'RollingUpdate', g.str()]) };
  if (g.chance(0.1)) return g.value();
  return p;
}

const LABEL_KEYS = ['app', 'tier', 'example.com/role', 'a.b-c_d', 'x'.repeat(64), 'UPPER', '-bad', 'k8s.io/', '/x'];
function labelSelector(g: Gen): string {
  const reqs = Array.from({ length: 1 + g.int(4) }, () => {
    const k = g.pick(LABEL_KEYS);
    const vals = () => Array.from({ length: g.int(4) }, () => g.pick(['a', 'b', '', 'x'.repeat(64), 'v.1', '-v'])).join(',');
    return g.pick([`${k}`, `!${k}`, `${k}=${g.pick(['a', '', 'b-c'])}`, `${k}==a`, `${k}!=a`, `${k} in (${vals()})`, `${k} notin (${vals()})`, `${k} in ()`, `${k}>1`, `${k}<${g.int(9)}`, `${k} gt 1`]);
  });
  let s = reqs.join(g.pick([',', ', ', ',,']));
  if (g.chance(0.2)) {
    const at = g.int(s.length + 1);
    s = s.slice(0, at) + g.pick(['(', ')', '!', '=', ',', ' ', '\\', '\u0000', 'in', 'notin']) + s.slice(at);
  }
  return s;
}

const FIELDS = ['metadata.name', 'metadata.namespace', 'spec.nodeName', 'status.phase', 'spec.restartPolicy', 'spec.schedulerName', 'spec.serviceAccountName', 'status.podIP', 'type', 'nonsense.field', ''];
function fieldSelector(g: Gen): string {
  const reqs = Array.from({ length: 1 + g.int(3) }, () => `${g.pick(FIELDS)}${g.pick(['=', '==', '!=', '', '=!', '>'])}${g.pick(['a', 'fz-a', 'Running', 'x\\,y', 'x\\=y', '\\', '', 'x,'])}`);
  return reqs.join(',');
}

function decoderBody(g: Gen, name: string): { body: string; contentType: string } {
  const kind = g.int(10);
  const meta = `"metadata":{"name":"${name}"}`;
  switch (kind) {
    case 0:
      return { body: `{"apiVersion":"v1","kind":"ConfigMap",${meta},"data":{"k":"${g.pick(['\\ud800', '\\udc00\\ud800', '\\u0000', '\\uFFFF', '\\"', '\\/'])}"}}`, contentType: 'application/json' };
    case 1:
      return { body: `{"apiVersion":"v1","kind":"ConfigMap",${meta},"data":{"k":"v"},"extra":${g.pick(['1e999', '-1e999', '123456789012345678901234567890', '0.000000000000000000000000001', '-0', '1E+2'])}}`, contentType: 'application/json' };
    case 2:
      return { body: `{"apiVersion":"v1","kind":"ConfigMap",${meta},"data":{"k":"a","k":"b"},"data":{}}`, contentType: 'application/json' };
    case 3:
      return { body: `\ufeff{"apiVersion":"v1","kind":"ConfigMap",${meta}}`, contentType: 'application/json' };
    case 4:
      return { body: `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ${name}\n  labels: &l {a: b}\n  annotations: *l\ndata:\n  <<: {k: v}\n  x: !!binary aGVsbG8=\n`, contentType: 'application/yaml' };
    case 5:
      return { body: `apiVersion: v1\nkind: ConfigMap\nmetadata: {name: ${name}}\n---\napiVersion: v1\nkind: Secret\n`, contentType: 'application/yaml' };
    case 6:
      return { body: `apiVersion: v1\nkind: ConfigMap\nmetadata: {name: ${name}}\ndata: {k: ${g.pick(['!!int x', '!!float', '!custom v', '? [a]\n  : b', '0o17', '.nan', '~', '2001-12-14t21:59:43.10-05:00'])}}\n`, contentType: 'application/yaml' };
    case 7:
      return { body: `{"apiVersion":"v1","kind":"ConfigMap",${meta},"data":${JSON.stringify(Object.fromEntries(Array.from({ length: 1 + g.int(2000) }, (_, i) => [`k${i}`, 'v'])))}}`, contentType: 'application/json' };
    case 8:
      return { body: `{"apiVersion":"v1","kind":"ConfigMap",${meta},"binaryData":{"b":"${g.pick(['!!!', 'aGVsbG8', 'aGVsbG8=', '====', ''])}"}}`, contentType: 'application/json' };
    default:
      return { body: `{"apiVersion":"${g.pick(['v1', 'v2', 'apps/v1', '', '/'])}","kind":"${g.pick(['ConfigMap', 'Secret', 'Pod', '', 'configmap'])}",${meta}}`, contentType: 'application/json' };
  }
}

interface Req {
  method: string;
  path: string;
  body?: string;
  contentType?: string;
  note: string;
}

function makeRequest(i: number): Req {
  const g = new Gen(mulberry32((Math.imul(SEED, 0x9e3779b1) ^ Math.imul(i + 1, 0x85ebca6b)) >>> 0));
  const target = g.pick([
    `/apis/apps/v1/namespaces/${NS}/deployments/fz-dep`,
    `/api/v1/namespaces/${NS}/configmaps/fz-a`,
    `/api/v1/namespaces/${NS}/pods/fz-pod`,
    `/apis/apps/v1/namespaces/${NS}/deployments/fz-dep/status`,
    `/apis/apps/v1/namespaces/${NS}/deployments/fz-dep/scale`,
  ]);
  const what = g.pick(['json-patch', 'merge', 'strategic', 'strategic', 'labels', 'fields', 'decode', 'decode']);
  switch (what) {
    case 'json-patch':
      return { method: 'PATCH', path: target, body: JSON.stringify(jsonPatch(g)), contentType: 'application/json-patch+json', note: what };
    case 'merge':
      return { method: 'PATCH', path: target, body: JSON.stringify(mergePatch(g)), contentType: 'application/merge-patch+json', note: what };
    case 'strategic':
      return { method: 'PATCH', path: target, body: JSON.stringify(strategicPatch(g)), contentType: 'application/strategic-merge-patch+json', note: what };
    case 'labels':
    case 'fields': {
      const res = g.pick([`/api/v1/namespaces/${NS}/pods`, '/api/v1/pods', `/api/v1/namespaces/${NS}/configmaps`, '/apis/apps/v1/deployments', '/api/v1/events', '/api/v1/secrets']);
      const q = new URLSearchParams();
      q.set(what === 'labels' ? 'labelSelector' : 'fieldSelector', what === 'labels' ? labelSelector(g) : fieldSelector(g));
      if (g.chance(0.3)) q.set('watch', 'true');
      if (g.chance(0.3)) q.set('resourceVersion', g.pick(['0', '']));
      if (g.chance(0.2)) q.set('limit', String(g.int(5)));
      return { method: 'GET', path: `${res}?${q}`, note: what };
    }
    default: {
      const d = decoderBody(g, g.pick(['fz-new', `fz-${g.int(50)}`, 'fz-a']));
      const put = g.chance(0.3);
      return { method: put ? 'PUT' : 'POST', path: put ? `/api/v1/namespaces/${NS}/configmaps/fz-a` : `/api/v1/namespaces/${NS}/configmaps`, body: d.body, contentType: d.contentType, note: 'decode' };
    }
  }
}

function send(agent: https.Agent, port: number, r: Req): Promise<{ status: number; text: string; error?: string }> {
  return new Promise((resolve) => {
    const headers: Record<string, string> = {};
    if (r.body !== undefined) {
      headers['Content-Type'] = r.contentType!;
      headers['Content-Length'] = String(Buffer.byteLength(r.body));
    }
    const req = https.request({ host: '127.0.0.1', port, method: r.method, path: r.path, headers, agent }, (res) => {
      const status = res.statusCode ?? 0;
      if (status < 400) {
        // Watches never end: a success is judged by its status alone.
        res.destroy();
        return resolve({ status, text: '' });
      }
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status, text: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', (e) => resolve({ status, text: '', error: e.message }));
    });
    req.setTimeout(20_000, () => req.destroy(new Error('no answer in 20 s')));
    req.on('error', (e) => resolve({ status: 0, text: '', error: e.message }));
    req.end(r.body);
  });
}

function judge(r: Req, a: { status: number; text: string; error?: string }): string | undefined {
  if (a.status === 0) return `no answer: ${a.error}`;
  if (a.status < 400) return undefined;
  let s: any;
  try {
    s = JSON.parse(a.text);
  } catch {
    return `${a.status} is not JSON: ${a.text.slice(0, 200)}`;
  }
  if (s?.kind !== 'Status' || s.code !== a.status) return `${a.status} is not a matching Status: ${a.text.slice(0, 200)}`;
  if (a.status >= 500) {
    const upstreamSmp500 = a.status === 500 && r.contentType === 'application/strategic-merge-patch+json' && s.reason === undefined;
    const tooLargeRv = a.status === 504 && /Too large resource version/.test(s.message);
    if (!upstreamSmp500 && !tooLargeRv) return `${a.status} ${s.reason}: ${s.message}`;
  }
  return undefined;
}

describe('structured fuzzing: patches, selectors, decoders', () => {
  let skiff: SkiffProcess;
  let k: KubeHttp;

  before(async () => {
    skiff = await startSkiff({ extraArgs: API_ONLY_ARGS });
    k = await KubeHttp.fromKubeconfig(skiff.kubeconfig);
    await k.ok('POST', '/api/v1/namespaces', { body: { metadata: { name: NS } } });
    await k.ok('POST', `/api/v1/namespaces/${NS}/configmaps`, { body: { metadata: { name: 'fz-a', labels: { app: 'a' } }, data: { k: 'v' } } });
    await k.ok('POST', `/apis/apps/v1/namespaces/${NS}/deployments`, {
      body: {
        metadata: { name: 'fz-dep', labels: { app: 'fz' } },
        spec: { replicas: 1, selector: { matchLabels: { app: 'fz' } }, template: { metadata: { labels: { app: 'fz' } }, spec: { containers: [{ name: 'c', image: 'busybox', env: [{ name: 'A', value: '1' }] }] } } },
      },
    });
    await k.ok('POST', `/api/v1/namespaces/${NS}/pods`, { body: { metadata: { name: 'fz-pod', labels: { app: 'fz' } }, spec: { containers: [{ name: 'c', image: 'busybox' }] } } });
  });
  after(async () => {
    k?.close();
    await skiff?.stop();
  });

  it(`answers ${COUNT} structured requests without 5xx and keeps serving`, async () => {
    console.log(`fuzz-security seed ${SEED} (replay with SKIFF_FUZZ_SEED=${SEED})`);
    const agent = new https.Agent({ keepAlive: true, maxSockets: WORKERS, ...k.tls });
    const findings = new Map<string, { count: number; example: string }>();
    const statuses = new Map<string, number>();
    let next = 0;
    try {
      await Promise.all(
        Array.from({ length: WORKERS }, async () => {
          for (let i = next++; i < COUNT; i = next++) {
            const r = makeRequest(i);
            const a = await send(agent, skiff.port, r);
            const key = `${r.note}:${a.status}`;
            statuses.set(key, (statuses.get(key) ?? 0) + 1);
            const f = judge(r, a);
            if (!f) continue;
            const sig = `${r.note} → ${f.replace(/"[^"]*"/g, '"…"').replace(/\d+/g, 'N').slice(0, 140)}`;
            const prev = findings.get(sig);
            if (prev) prev.count++;
            else findings.set(sig, { count: 1, example: `#${i} ${r.method} ${r.path.slice(0, 200)} ${r.body?.slice(0, 300) ?? ''}\n      → ${f}` });
          }
        }),
      );
    } finally {
      agent.destroy();
    }
    console.log(`fuzz-security: ${[...statuses].sort().map(([k2, n]) => `${k2}×${n}`).join(' ')}`);
    const report = [...findings].map(([sig, f]) => `  ${f.count} × ${sig}\n      e.g. ${f.example}`).join('\n');
    assert.equal(findings.size, 0, `seed ${SEED}:\n${report}`);
    assert.equal((await k.get('/readyz')).status, 200);
    const probe = await k.request('POST', `/api/v1/namespaces/${NS}/configmaps`, { body: { metadata: { name: 'alive-probe' }, data: { ok: 'yes' } } });
    assert.equal(probe.status, 201, probe.text);
  });
});

describe('exec stream framing fuzz (API server → node agent streaming server)', () => {
  let dir: string;
  let store: Store;
  let server: ApiServer;
  let streaming: StreamingServer;
  let apiPort: number;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'skiff-fuzz-exec-'));
    const ca = await createCa('fuzz-exec-ca');
    const serving = await issueLeaf(ca, { commonName: 'system:node:n1', usage: 'server', ipAddresses: ['127.0.0.1'], validityDays: 1 });
    const kubeletClient = await issueLeaf(ca, { commonName: 'kube-apiserver-kubelet-client', organizations: ['system:masters'], usage: 'client', validityDays: 1 });
    const backend = new HostProcessBackend(join(dir, 'containers'));
    await backend.addPod(NS, 'p', ['c']);
    streaming = new StreamingServer({ backend, cert: serving.cert, key: serving.key, ca: ca.cert, port: 0, host: '127.0.0.1' });
    const agentPort = await streaming.listen();
    store = await openSqliteStore(join(dir, 'state.db'));
    server = new ApiServer({ store, kubeletClient: { cert: kubeletClient.cert, key: kubeletClient.key, ca: ca.cert } });
    await server.start();
    apiPort = await server.listen(0);
    const c = new InProcessClient(server);
    await c.create({ group: '', version: 'v1', resource: 'namespaces' }, '', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: NS } });
    await c.create({ group: '', version: 'v1', resource: 'serviceaccounts' }, NS, { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'default' } });
    const node = await c.create({ group: '', version: 'v1', resource: 'nodes' }, '', { apiVersion: 'v1', kind: 'Node', metadata: { name: 'n1' } });
    await c.update({ group: '', version: 'v1', resource: 'nodes' }, '', { ...node, status: { addresses: [{ type: 'InternalIP', address: '127.0.0.1' }], daemonEndpoints: { kubeletEndpoint: { Port: agentPort } } } }, { subresource: 'status' });
    await c.create({ group: '', version: 'v1', resource: 'pods' }, NS, { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p' }, spec: { nodeName: 'n1', containers: [{ name: 'c', image: 'busybox' }] } });
  });
  after(async () => {
    await server?.close();
    await streaming?.close();
    await store?.close();
    await rm(dir, { recursive: true, force: true });
  });

  const execUrl = (cmd: string[], tty = false) =>
    `ws://127.0.0.1:${apiPort}/api/v1/namespaces/${NS}/pods/p/exec?container=c&stdin=true&stdout=true&stderr=${!tty}&tty=${tty}&${cmd.map((c) => `command=${encodeURIComponent(c)}`).join('&')}`;

  /** One exec session; resolves with what came back on stdout once the stream ends (or after `ms`). */
  const session = (cmd: string[], drive: (ws: WebSocket) => void, tty = false, ms = 3000): Promise<{ out: Buffer; opened: boolean; status?: number }> =>
    new Promise((resolve) => {
      const ws = new WebSocket(execUrl(cmd, tty), ['v5.channel.k8s.io', 'v4.channel.k8s.io']);
      const chunks: Buffer[] = [];
      let opened = false;
      let status: number | undefined;
      const done = () => {
        clearTimeout(timer);
        resolve({ out: Buffer.concat(chunks), opened, status });
      };
      const timer = setTimeout(() => {
        ws.terminate();
        done();
      }, ms);
      ws.on('open', () => {
        opened = true;
        drive(ws);
      });
      ws.on('message', (d: Buffer) => {
        if (d[0] === 1) chunks.push(d.subarray(1));
      });
      ws.on('unexpected-response', (_req, res: http.IncomingMessage) => {
        status = res.statusCode;
        res.resume();
        ws.terminate();
        done();
      });
      ws.on('error', () => {});
      ws.on('close', done);
    });

  it('survives random channel frames, junk resizes, bad close codes and malformed websocket frames', async () => {
    console.log(`exec framing fuzz seed ${SEED} (replay with SKIFF_FUZZ_SEED=${SEED})`);
    const g = new Gen(mulberry32(SEED ^ 0x5eed));
    const sessions = Math.max(20, Math.floor(COUNT / 10));
    const statuses: number[] = [];
    for (let s = 0; s < sessions; s += 4) {
      await Promise.all(
        Array.from({ length: 4 }, async () => {
          const kind = g.int(3);
          if (kind < 2) {
            const frames = Array.from({ length: 1 + g.int(20) }, () => {
              const channel = g.pick([0, 0, 1, 2, 3, 4, 255, g.int(256)]);
              const payload = g.chance(0.3) && channel === 4 ? Buffer.from(JSON.stringify(g.chance(0.5) ? { Width: g.pick([0, -1, 1e9, 'x', 80]), Height: g.value() } : g.value())) : Buffer.from(Array.from({ length: g.int(3000) }, () => g.int(256)));
              return g.chance(0.1) ? Buffer.alloc(0) : Buffer.concat([Buffer.from([channel]), payload]);
            });
            const closeCode = g.pick([1000, 1001, 1011, 3000, 4999, undefined]);
            const r = await session(
              g.pick([['cat'], ['sh', '-c', 'head -c 100'], ['true'], ['/nonexistent']]),
              (ws) => {
                for (const f of frames) {
                  if (ws.readyState !== WebSocket.OPEN) break;
                  if (g.chance(0.1)) ws.send(f.toString('latin1'));
                  else ws.send(f);
                }
                if (closeCode !== undefined && ws.readyState === WebSocket.OPEN) ws.close(closeCode, g.chance(0.5) ? 'x'.repeat(g.int(120)) : undefined);
              },
              g.chance(0.3),
              1500,
            );
            if (r.status) statuses.push(r.status);
          } else {
            // A good handshake, then raw bytes that are not websocket frames (or broken ones).
            await new Promise<void>((resolve) => {
              const sock = net.connect(apiPort, '127.0.0.1', () => {
                const key = Buffer.from(Array.from({ length: 16 }, () => g.int(256))).toString('base64');
                const path = execUrl(['cat']).replace(`ws://127.0.0.1:${apiPort}`, '');
                sock.write(`GET ${path} HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: ${key}\r\nSec-WebSocket-Protocol: v5.channel.k8s.io\r\n\r\n`);
                const junk = [
                  Buffer.from(Array.from({ length: g.int(4000) }, () => g.int(256))),
                  Buffer.from([0x82, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]),
                  Buffer.from([0x82, 0x05, 1, 2, 3]),
                  Buffer.from([0x88, 0x80, 0, 0, 0, 0]),
                  Buffer.from([0x8f, 0x80, 1, 2, 3, 4]),
                  Buffer.from([0x02, 0x81, 0, 0, 0, 0, 1, 0x02, 0x81, 0, 0, 0, 0, 1]),
                ];
                setTimeout(() => sock.write(g.pick(junk)), 50);
              });
              const t = setTimeout(() => sock.destroy(), 800);
              sock.on('data', () => {});
              sock.on('error', () => {});
              sock.on('close', () => {
                clearTimeout(t);
                resolve();
              });
            });
          }
        }),
      );
    }
    for (const st of statuses) assert.ok(st < 500, `seed ${SEED}: an exec upgrade answered ${st}`);
    // Still serving: a clean exec echoes stdin back, and the API answers.
    const clean = await session(['cat'], (ws) => {
      ws.send(Buffer.concat([Buffer.from([0]), Buffer.from('still alive\n')]));
      setTimeout(() => ws.send(Buffer.from([255, 0])), 100);
    });
    assert.ok(clean.opened, 'a clean exec upgrades');
    assert.match(clean.out.toString(), /still alive/);
    const res = await fetch(`http://127.0.0.1:${apiPort}/api/v1/namespaces/${NS}/pods/p`);
    assert.equal(res.status, 200);
  });
});
