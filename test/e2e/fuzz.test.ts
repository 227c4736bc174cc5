/**
 * Throws a bounded number of random and garbled requests at a real `skiff up` (loopback only):
 * random methods, paths built from the server's real resources mixed with junk, random query
 * parameters, truncated or garbled JSON and YAML, random content types, huge numbers, deep
 * nesting, unicode and NUL bytes. Everything comes from a seeded PRNG: the seed is printed, and
 * SKIFF_FUZZ_SEED=<seed> replays the same requests (with SKIFF_FUZZ_WORKERS=1, in the same order;
 * SKIFF_FUZZ_COUNT and SKIFF_FUZZ_SECONDS bound the run).
 *
 * It asserts that
 *  - no answer is a 5xx, except the ones upstream gives too: a strategic merge patch whose
 *    error is a plain Go error is a 500 with no reason (handlers/patch.go
 *    interpretStrategicMergePatchError; src/apiserver/patch/patch-errors.ts), and a read at a
 *    resourceVersion the server has not reached is a 504 Timeout (storage.NewTooLargeResourceVersionError);
 *  - every error answer is a Status whose code is the HTTP code;
 *  - requests upstream refuses outright (a DELETE of a whole namespaced resource across all
 *    namespaces, a DELETE of the namespace collection or of an immortal namespace) do not succeed;
 *  - the server is alive and serving afterwards, and objects created beforehand in a namespace the
 *    fuzzer never names are all still there, byte for byte.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomInt } from 'node:crypto';
import https from 'node:https';
import { Draws, mulberry32, type Rng } from '../harness/random.js';
import { API_ONLY_ARGS, e2eBackends, startSkiff, type SkiffProcess } from '../harness/skiff.js';
import { KubeHttp } from './http-client.js';

const COUNT = Number(process.env.SKIFF_FUZZ_COUNT ?? 5000);
const SECONDS = Number(process.env.SKIFF_FUZZ_SECONDS ?? 60);
/** Requests in flight at once; SKIFF_FUZZ_WORKERS=1 replays a seed in exactly the same order. */
const WORKERS = Number(process.env.SKIFF_FUZZ_WORKERS ?? 8);
const REQUEST_TIMEOUT_MS = 20_000;
const SENTINEL_NS = 'sentinel';
const FUZZ_NS = 'fuzz';
const IMMORTAL_NAMESPACES = ['default', 'kube-system', 'kube-public'];


function rngFor(seed: number, index: number): Rng {
  return mulberry32((Math.imul(seed, 0x9e3779b1) ^ Math.imul(index + 1, 0x85ebca6b)) >>> 0);
}

class Gen extends Draws {
  weighted<T>(xs: readonly [number, T][]): T {
    const total = xs.reduce((s, [w]) => s + w, 0);
    let x = this.r() * total;
    for (const [w, v] of xs) {
      if ((x -= w) < 0) return v;
    }
    return xs[xs.length - 1][1];
  }

  junkString(): string {
    return this.pick<() => string>([
      () => '',
      () => 'x'.repeat(1 + this.int(400)),
      () => '\u0000',
      () => 'a\u0000b',
      () => '日本語-ünïcødé-🚀',
      () => '\u202e\ufeff\ud83d',
      () => '..',
      () => '.',
      () => '%zz',
      () => '%00',
      () => '../../etc/passwd',
      () => 'UPPER_case',
      () => ' spaced out ',
      () => '"quoted"',
      () => '{}',
      () => String(this.hugeNumber()),
      () => Array.from({ length: 1 + this.int(12) }, () => String.fromCharCode(this.int(0x3000))).join(''),
    ])();
  }

  hugeNumber(): number | string {
    return this.pick<number | string>([
      1e308,
      -1e308,
      2 ** 53 + 1,
      -(2 ** 63),
      2 ** 64,
      1.5,
      -1,
      0,
      -0,
      '1e400',
      '123456789012345678901234567890',
      '-99999999999999999999',
      '0x10',
      'NaN',
      '007',
    ]);
  }

  junkValue(depth = 0): unknown {
    if (depth > 3) return this.junkString();
    return this.pick<() => unknown>([
      () => null,
      () => true,
      () => this.hugeNumber(),
      () => this.junkString(),
      () => [],
      () => ({}),
      () => Array.from({ length: this.int(4) }, () => this.junkValue(depth + 1)),
      () => Object.fromEntries(Array.from({ length: this.int(4) }, () => [this.junkString(), this.junkValue(depth + 1)])),
    ])();
  }
}

// ---- what the fuzzer knows about the server ----

interface ResourceInfo {
  prefix: string;
  plural: string;
  kind: string;
  apiVersion: string;
  namespaced: boolean;
  subresources: string[];
}

async function discover(k: KubeHttp): Promise<ResourceInfo[]> {
  const out: ResourceInfo[] = [];
  const gvs: [string, string][] = [['/api/v1', 'v1']];
  const groups = await k.ok('GET', '/apis');
  for (const g of groups.groups) for (const v of g.versions) gvs.push([`/apis/${v.groupVersion}`, v.groupVersion]);
  for (const [prefix, apiVersion] of gvs) {
    const list = await k.ok('GET', prefix);
    for (const r of list.resources) {
      if (r.name.includes('/')) continue;
      const subs = list.resources.filter((s: any) => s.name.startsWith(r.name + '/')).map((s: any) => s.name.split('/')[1]);
      out.push({ prefix, plural: r.name, kind: r.kind, apiVersion, namespaced: r.namespaced, subresources: subs });
    }
  }
  return out;
}

interface FuzzRequest {
  index: number;
  method: string;
  path: string;
  headers: Record<string, string>;
  body?: Buffer;
  /** A short description of the body, for failure messages. */
  bodyNote: string;
}

const CONTENT_TYPES = [
  'application/json',
  'application/json; charset=utf-8',
  'application/yaml',
  'application/merge-patch+json',
  'application/json-patch+json',
  'application/strategic-merge-patch+json',
  'application/apply-patch+yaml',
  'application/vnd.kubernetes.protobuf',
  'text/plain',
  'application/x-www-form-urlencoded',
  'multipart/form-data; boundary=x',
  '*/*',
  '',
  'application/JSON',
  'application/json;;;',
  'garbage/$$$',
];

const ACCEPTS = [
  'application/json',
  'application/json;as=Table;v=v1;g=meta.k8s.io',
  'application/json;as=Table;v=v1beta1;g=meta.k8s.io',
  'application/json;as=Table;v=v9;g=meta.k8s.io',
  'application/json;as=PartialObjectMetadataList;v=v1;g=meta.k8s.io',
  'application/json;as=PartialObjectMetadata;v=v1;g=meta.k8s.io',
  'application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList',
  'application/yaml',
  'application/vnd.kubernetes.protobuf',
  'application/vnd.kubernetes.protobuf;stream=watch',
  '*/*',
  'text/html',
  'application/json;q=0.1,application/yaml;q=0.9',
  ';;;',
];

const QUERY_KEYS = [
  'watch',
  'labelSelector',
  'fieldSelector',
  'limit',
  'continue',
  'resourceVersion',
  'resourceVersionMatch',
  'timeoutSeconds',
  'allowWatchBookmarks',
  'sendInitialEvents',
  'dryRun',
  'fieldValidation',
  'fieldManager',
  'propagationPolicy',
  'gracePeriodSeconds',
  'orphanDependents',
  'includeObject',
  'pretty',
  'force',
];

function queryValue(g: Gen, key: string): string {
  const specific: Record<string, () => string> = {
    watch: () => g.pick(['true', 'false', '1', '0', 'yes', '']),
    labelSelector: () => g.pick(['a=b', 'a in (x,y)', '!a', 'a notin', 'a in (x', '-bad-', 'a,b,,c', 'a=b=c', 'x'.repeat(300) + '=1', g.junkString()]),
    fieldSelector: () => g.pick(['metadata.name=fuzz-a', 'metadata.namespace!=x', 'spec.nodeName=n', 'status.phase=Running', 'nonsense', 'a==b==c', '\\', g.junkString()]),
    limit: () => String(g.hugeNumber()),
    continue: () => g.pick(['garbage', Buffer.from(JSON.stringify({ v: 'meta.k8s.io/v1', rv: g.hugeNumber(), start: g.junkString() })).toString('base64'), '']),
    resourceVersion: () => String(g.pick<string | number>(['0', '1', '', 'abc', g.hugeNumber(), '999999999', '-5'])),
    resourceVersionMatch: () => g.pick(['Exact', 'NotOlderThan', 'exact', '']),
    timeoutSeconds: () => String(g.pick<string | number>(['1', '0', '-1', 'abc', g.hugeNumber()])),
    dryRun: () => g.pick(['All', 'all', 'None', '']),
    fieldValidation: () => g.pick(['Strict', 'Warn', 'Ignore', 'strict', '']),
    propagationPolicy: () => g.pick(['Foreground', 'Background', 'Orphan', 'Sideways']),
    includeObject: () => g.pick(['None', 'Metadata', 'Object', 'All']),
  };
  if (g.chance(0.2)) return g.junkString();
  return (specific[key] ?? (() => g.pick(['true', 'false', String(g.hugeNumber()), g.junkString()])))();
}

/** Percent-encodes a path segment; lone surrogates become the (invalid UTF-8) bytes of a surrogate. */
function encodeSeg(s: string): string {
  return s.replace(/[\ud800-\udfff]/g, (c, i: number) => {
    const pair = /[\ud800-\udbff][\udc00-\udfff]/.test(s.slice(i, i + 2)) || /[\ud800-\udbff][\udc00-\udfff]/.test(s.slice(i - 1, i + 1));
    return pair ? c : '\u0000LONE\u0000';
  })
    .split('\u0000LONE\u0000')
    .map((part) => encodeURIComponent(part))
    .join('%ED%A0%80');
}

function buildPath(g: Gen, resources: ResourceInfo[]): string {
  const shape = g.weighted<string>([
    [70, 'resource'],
    [10, 'discovery'],
    [8, 'junk'],
    [7, 'nonresource'],
    [5, 'watchprefix'],
  ]);
  if (shape === 'discovery') return g.pick(['/api', '/apis', '/api/v1', '/apis/apps', '/apis/apps/v1', '/apis/nope', '/apis/apps/v0', '/api/v9', '/apis/', '/']);
  if (shape === 'nonresource') return g.pick(['/version', '/livez', '/readyz', '/healthz', '/openapi/v3', '/openapi/v3/api/v1', '/openapi/v3/nope', '/metrics', '/logs', '/healthz/ping']);
  if (shape === 'junk') {
    return '/' + Array.from({ length: 1 + g.int(6) }, () => (g.chance(0.5) ? g.pick(['api', 'apis', 'v1', 'namespaces', 'watch', '']) : encodeSeg(g.junkString()))).join('/');
  }
  const res = g.chance(0.85) ? g.pick(resources) : undefined;
  const prefix = res?.prefix ?? g.pick(['/api/v1', '/apis/apps/v1', '/apis/x.example.com/v1']);
  const plural = res?.plural ?? encodeSeg(g.junkString() || 'widgets');
  const segs: string[] = [prefix];
  if (shape === 'watchprefix') segs.push('watch');
  const nsChoice = g.weighted<string | undefined>([
    [55, FUZZ_NS],
    [10, 'default'],
    [5, 'ghost'],
    [5, g.junkString()],
    [25, undefined],
  ]);
  if (nsChoice !== undefined) segs.push('namespaces', encodeSeg(nsChoice));
  segs.push(plural);
  if (g.chance(0.6)) {
    segs.push(encodeSeg(g.weighted<string>([[60, 'fuzz-a'], [15, 'fuzz-b'], [25, g.junkString()]])));
    if (g.chance(0.25)) {
      const sub = res?.subresources.length && g.chance(0.7) ? g.pick(res.subresources) : g.pick(['status', 'scale', 'finalize', 'log', 'exec', 'binding', g.junkString()]);
      segs.push(encodeSeg(sub));
      if (g.chance(0.05)) segs.push('extra');
    }
  }
  let path = segs.join('/');
  if (g.chance(0.03)) path = path.replace('/', '//');
  if (g.chance(0.03)) path += '/';
  return path;
}

function objectFor(g: Gen, res: ResourceInfo | undefined): Record<string, any> {
  const obj: Record<string, any> = {
    apiVersion: res?.apiVersion ?? 'v1',
    kind: res?.kind ?? 'ConfigMap',
    metadata: { name: g.weighted<string>([[50, 'fuzz-a'], [20, `fz-${g.int(1000)}`], [30, g.junkString()]]) },
  };
  if (g.chance(0.5)) obj.metadata.namespace = g.pick([FUZZ_NS, 'default', 'ghost', g.junkString()]);
  if (g.chance(0.3)) obj.metadata.labels = { [g.junkString()]: g.junkString() };
  if (g.chance(0.2)) obj.metadata.generateName = g.junkString();
  if (g.chance(0.2)) obj.metadata.resourceVersion = String(g.hugeNumber());
  if (g.chance(0.2)) obj.metadata.finalizers = [g.junkString()];
  if (g.chance(0.5)) obj.data = { [g.junkString() || 'k']: g.chance(0.7) ? g.junkString() : g.junkValue() };
  if (g.chance(0.5)) obj.spec = g.chance(0.5) ? g.junkValue() : { replicas: g.hugeNumber(), containers: [{ name: g.junkString(), image: g.junkString() }] };
  if (g.chance(0.3)) obj.status = g.junkValue();
  // Random mutations anywhere in the object.
  for (let i = g.int(4); i > 0; i--) {
    const key = g.pick(['apiVersion', 'kind', 'metadata', 'data', 'spec', 'status', g.junkString()]);
    obj[key] = g.junkValue();
  }
  return obj;
}

function deepNest(g: Gen): string {
  const depth = g.pick([100, 1_000, 10_001, 50_000]);
  const [open, close] = g.chance(0.5) ? ['[', ']'] : ['{"a":', '}'];
  const inner = open === '[' ? '' : '1';
  return `{"metadata":{"name":"fz-deep"},"${g.pick(['data', 'spec', 'x', 'metadata'])}":${open.repeat(depth)}${inner}${close.repeat(depth)}}`;
}

function yamlBomb(levels: number): string {
  const lines = ['a0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]'];
  for (let i = 1; i <= levels; i++) lines.push(`a${i}: &a${i} [${Array(9).fill(`*a${i - 1}`).join(',')}]`);
  lines.push(`metadata: {name: bomb}`, `data: {k: *a${levels}}`);
  return lines.join('\n');
}

function buildBody(g: Gen, res: ResourceInfo | undefined): { body: Buffer; note: string } {
  const kind = g.weighted<string>([
    [25, 'object'],
    [12, 'truncated'],
    [10, 'garbled'],
    [10, 'merge'],
    [10, 'jsonpatch'],
    [8, 'yaml'],
    [5, 'deep'],
    [5, 'bytes'],
    [5, 'scalar'],
    [3, 'bomb'],
    [2, 'huge'],
    [5, 'empty'],
  ]);
  const json = () => JSON.stringify(objectFor(g, res));
  switch (kind) {
    case 'object':
      return { body: Buffer.from(json()), note: 'object' };
    case 'truncated': {
      const s = json();
      return { body: Buffer.from(s.slice(0, g.int(s.length))), note: 'truncated JSON' };
    }
    case 'garbled': {
      const b = Buffer.from(json());
      for (let i = 1 + g.int(8); i > 0; i--) b[g.int(b.length)] = g.int(256);
      return { body: b, note: 'garbled JSON' };
    }
    case 'merge':
      return { body: Buffer.from(JSON.stringify(g.chance(0.8) ? { metadata: { labels: { a: g.junkValue() } }, data: g.junkValue(), spec: g.junkValue() } : g.junkValue())), note: 'merge patch' };
    case 'jsonpatch': {
      const ops = Array.from({ length: g.int(5) }, () => ({
        op: g.pick(['add', 'remove', 'replace', 'move', 'copy', 'test', 'frob']),
        path: g.pick(['/data/a', '/metadata/name', '/metadata', '', '/spec/replicas', '/spec/template/spec/containers/-', '/x/y/z', '/metadata/labels/a~1b', g.junkString()]),
        ...(g.chance(0.3) ? { from: g.pick(['/data', '/metadata/labels', g.junkString()]) } : {}),
        ...(g.chance(0.8) ? { value: g.junkValue() } : {}),
      }));
      return { body: Buffer.from(JSON.stringify(g.chance(0.9) ? ops : g.junkValue())), note: 'JSON patch' };
    }
    case 'yaml': {
      const lines = ['apiVersion: v1', `kind: ${res?.kind ?? 'ConfigMap'}`, 'metadata:', `  name: ${g.pick(['fuzz-a', 'fz-yaml', '"quoted"', '[list]', '{a: b}', 'yes', '010'])}`, 'data:', `  k: ${g.pick(['v', '"unterminated', '&anchor x', '*missing', '!!binary AAA', ': :', '[1, 2'])}`];
      const text = lines.join('\n');
      return { body: Buffer.from(g.chance(0.3) ? text.slice(0, g.int(text.length)) : text), note: 'YAML' };
    }
    case 'deep':
      return { body: Buffer.from(deepNest(g)), note: 'deep nesting' };
    case 'bytes':
      return { body: Buffer.from(Array.from({ length: g.int(2000) }, () => g.int(256))), note: 'random bytes' };
    case 'scalar':
      return { body: Buffer.from(g.pick(['null', 'true', '1e400', '"s"', '[]', '123456789012345678901234567890', '\u0000', '{"a":1,"a":2}'])), note: 'scalar JSON' };
    case 'bomb':
      return { body: Buffer.from(yamlBomb(g.pick([3, 6, 9]))), note: 'YAML alias bomb' };
    case 'huge':
      return { body: Buffer.from(JSON.stringify({ metadata: { name: 'fz-huge' }, data: { k: 'x'.repeat(g.pick([1024 * 1024, 3 * 1024 * 1024 + 10])) } })), note: 'huge body' };
    default:
      return { body: Buffer.alloc(0), note: 'empty body' };
  }
}

function makeRequest(seed: number, index: number, resources: ResourceInfo[]): FuzzRequest {
  const g = new Gen(rngFor(seed, index));
  const method = g.weighted<string>([
    [30, 'GET'],
    [15, 'POST'],
    [15, 'PUT'],
    [20, 'PATCH'],
    [12, 'DELETE'],
    [3, 'HEAD'],
    [3, 'OPTIONS'],
    [2, 'PROPFIND'],
  ]);
  let path = buildPath(g, resources);
  const res = resources.find((r) => path.includes(`/${r.plural}`) && path.startsWith(r.prefix));
  const params = new URLSearchParams();
  for (let i = g.weighted<number>([[50, 0], [30, 1], [15, 2], [5, 4]]); i > 0; i--) {
    const key = g.chance(0.9) ? g.pick(QUERY_KEYS) : g.junkString();
    params.append(key, queryValue(g, key));
  }
  const qs = params.toString();
  if (qs) path += '?' + qs;
  const headers: Record<string, string> = {};
  if (g.chance(0.6)) headers.Accept = g.pick(ACCEPTS);
  let body: Buffer | undefined;
  let bodyNote = 'no body';
  if (method === 'POST' || method === 'PUT' || method === 'PATCH' || (method === 'DELETE' && g.chance(0.3))) {
    const b = buildBody(g, res);
    body = b.body;
    bodyNote = `${b.note} (${b.body.length} bytes)`;
    const ct = method === 'PATCH' ? g.weighted<string>([[70, g.pick(CONTENT_TYPES.slice(3, 7))], [30, g.pick(CONTENT_TYPES)]]) : g.weighted<string>([[70, 'application/json'], [30, g.pick(CONTENT_TYPES)]]);
    headers['Content-Type'] = ct;
  }
  return { index, method, path, headers, body, bodyNote };
}

// ---- sending ----

interface FuzzAnswer {
  status: number;
  contentType: string;
  text: string;
  error?: string;
}

function send(agent: https.Agent, port: number, fr: FuzzRequest): Promise<FuzzAnswer> {
  return new Promise((resolve) => {
    const headers: Record<string, string> = { ...fr.headers };
    if (fr.body) headers['Content-Length'] = String(fr.body.length);
    let req: ReturnType<typeof https.request>;
    try {
      req = https.request({ host: '127.0.0.1', port, method: fr.method, path: fr.path, headers, agent });
    } catch (err) {
      // The client refused to send it (not the server's doing): not a finding.
      resolve({ status: -1, contentType: '', text: '', error: `client refused: ${(err as Error).message}` });
      return;
    }
    let done = false;
    const finish = (a: FuzzAnswer) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      resolve(a);
    };
    const timer = setTimeout(() => {
      req.destroy();
      finish({ status: 0, contentType: '', text: '', error: `no complete answer within ${REQUEST_TIMEOUT_MS} ms` });
    }, REQUEST_TIMEOUT_MS);
    req.on('response', (res) => {
      const status = res.statusCode ?? 0;
      const contentType = String(res.headers['content-type'] ?? '');
      if (status < 400) {
        // Success bodies are not examined (watches would never end): hang up at once.
        res.destroy();
        req.destroy();
        finish({ status, contentType, text: '' });
        return;
      }
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => finish({ status, contentType, text: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', (err) => finish({ status, contentType, text: Buffer.concat(chunks).toString('utf8'), error: `response: ${err.message}` }));
    });
    req.on('error', (err) => finish({ status: 0, contentType: '', text: '', error: `request: ${err.message}` }));
    req.end(fr.body);
  });
}

// ---- judging ----

/** "<group-version prefix>|<plural>" of every namespaced resource, filled from discovery. */
const NAMESPACED = new Set<string>();

function judge(fr: FuzzRequest, a: FuzzAnswer): string | undefined {
  if (a.status === -1) return undefined;
  if (a.error && a.status === 0) return `transport failure: ${a.error}`;
  const ctBase = (fr.headers['Content-Type'] ?? '').split(';')[0];
  let status: any;
  if (a.status >= 400 && fr.method !== 'HEAD') {
    try {
      status = JSON.parse(a.text);
    } catch {
      return `${a.status} answer is not JSON: ${JSON.stringify(a.text.slice(0, 200))}`;
    }
    if (status?.kind !== 'Status' || status.apiVersion !== 'v1' || status.status !== 'Failure') return `${a.status} answer is not a failure Status: ${a.text.slice(0, 300)}`;
    if (status.code !== a.status) return `Status.code ${status.code} differs from HTTP ${a.status}`;
    if (typeof status.message !== 'string') return `Status without a message: ${a.text.slice(0, 300)}`;
  }
  if (a.status >= 500) {
    const upstreamSmp500 = a.status === 500 && fr.method === 'PATCH' && ctBase === 'application/strategic-merge-patch+json' && status && status.reason === undefined;
    const upstreamTooLargeRv = a.status === 504 && status?.reason === 'Timeout' && /Too large resource version/.test(status.message);
    if (!upstreamSmp500 && !upstreamTooLargeRv) return `${a.status} ${status?.reason ?? ''}: ${status?.message ?? a.text.slice(0, 300)}`;
  }
  if (a.status >= 200 && a.status < 300) {
    const p = fr.path.split('?')[0].replace(/\/+$/, '');
    if (fr.method === 'DELETE') {
      if (/^\/api\/v1\/namespaces$/.test(p)) return `DELETE of the whole namespace collection succeeded (${a.status}); upstream has no deletecollection for namespaces (405)`;
      const m = /^\/api\/v1\/namespaces\/([^/]+)$/.exec(p);
      if (m && IMMORTAL_NAMESPACES.includes(decodeURIComponent(m[1]))) return `DELETE of immortal namespace ${m[1]} succeeded (${a.status}); upstream answers 403 "this namespace may not be deleted"`;
    }
    if (fr.method !== 'GET' && fr.method !== 'HEAD' && /^\/(api\/v1|apis\/[^/]+\/[^/]+)\/watch\//.test(p)) {
      return `${fr.method} on a /watch/ path succeeded (${a.status}); upstream routes only GET there (405)`;
    }
    if (/^\/api\/v1\/(watch\/)?namespaces\/[^/]+\/namespaces(\/|$)/.test(p)) {
      // Namespaces are cluster-scoped: there is no route for them inside a namespace.
      return `${fr.method} of namespaces inside a namespace succeeded (${a.status}); upstream has no such route (404)`;
    }
    if ((fr.method === 'DELETE' || fr.method === 'POST') && /^\/(api\/v1|apis\/[^/]+\/[^/]+)\/[^/]+$/.test(p)) {
      // A collection path without a namespace: only LIST and WATCH are routed for namespaced resources.
      const plural = p.split('/').pop()!;
      if (NAMESPACED.has(`${p.slice(0, p.length - plural.length - 1)}|${plural}`)) {
        return `${fr.method} across all namespaces succeeded (${a.status}); upstream routes only LIST/WATCH there (405)`;
      }
    }
  }
  return undefined;
}


function describeRequest(fr: FuzzRequest): string {
  const h = Object.entries(fr.headers)
    .map(([k, v]) => `${k}: ${v}`)
    .join('; ');
  const excerpt = fr.body ? JSON.stringify(fr.body.subarray(0, 160).toString('utf8')) : '';
  return `#${fr.index} ${fr.method} ${fr.path.slice(0, 300)} [${h}] ${fr.bodyNote} ${excerpt}`;
}

/** Groups findings so one bug hit a hundred times reads as one line with a count. */
function signature(fr: FuzzRequest, finding: string): string {
  return `${fr.method} → ${finding.replace(/"[^"]*"/g, '"…"').replace(/\d+/g, 'N').slice(0, 160)}`;
}

// ---- the test ----

for (const backend of e2eBackends()) {
  describe(`fuzzing skiff with garbage (${backend})`, () => {
    let skiff: SkiffProcess;
    let k: KubeHttp;
    const seed = process.env.SKIFF_FUZZ_SEED ? Number(process.env.SKIFF_FUZZ_SEED) : randomInt(1, 2 ** 31);
    const sentinels = new Map<string, string>();

    before(async () => {
      skiff = await startSkiff({ backend, extraArgs: API_ONLY_ARGS });
      k = await KubeHttp.fromKubeconfig(skiff.kubeconfig);
      for (const ns of [SENTINEL_NS, FUZZ_NS]) await k.ok('POST', '/api/v1/namespaces', { body: { metadata: { name: ns } } });
      const dep = (name: string) => ({
        metadata: { name, labels: { app: name } },
        spec: { replicas: 2, selector: { matchLabels: { app: name } }, template: { metadata: { labels: { app: name } }, spec: { containers: [{ name: 'c', image: 'busybox' }] } } },
      });
      // Objects the fuzzer may hit.
      await k.ok('POST', `/api/v1/namespaces/${FUZZ_NS}/configmaps`, { body: { metadata: { name: 'fuzz-a' }, data: { a: '1' } } });
      await k.ok('POST', `/api/v1/namespaces/${FUZZ_NS}/secrets`, { body: { metadata: { name: 'fuzz-a' }, stringData: { a: '1' } } });
      await k.ok('POST', `/apis/apps/v1/namespaces/${FUZZ_NS}/deployments`, { body: dep('fuzz-a') });
      await k.ok('POST', `/api/v1/namespaces/${FUZZ_NS}/pods`, { body: { metadata: { name: 'fuzz-a' }, spec: { containers: [{ name: 'c', image: 'busybox' }] } } });
      // Objects it must never change: in a namespace no fuzzed request names.
      const sentinelPaths = [
        `/api/v1/namespaces/${SENTINEL_NS}/configmaps/s-1`,
        `/api/v1/namespaces/${SENTINEL_NS}/configmaps/s-2`,
        `/api/v1/namespaces/${SENTINEL_NS}/secrets/s-secret`,
        `/apis/apps/v1/namespaces/${SENTINEL_NS}/deployments/s-dep`,
        `/api/v1/namespaces/${SENTINEL_NS}/services/s-svc`,
      ];
      await k.ok('POST', `/api/v1/namespaces/${SENTINEL_NS}/configmaps`, { body: { metadata: { name: 's-1', labels: { a: 'b' } }, data: { k: 'v', unicode: '日本語' } } });
      await k.ok('POST', `/api/v1/namespaces/${SENTINEL_NS}/configmaps`, { body: { metadata: { name: 's-2', finalizers: ['example.com/keep'] }, data: { big: 'x'.repeat(10_000) } } });
      await k.ok('POST', `/api/v1/namespaces/${SENTINEL_NS}/secrets`, { body: { metadata: { name: 's-secret' }, data: { p: Buffer.from('secret').toString('base64') } } });
      await k.ok('POST', `/apis/apps/v1/namespaces/${SENTINEL_NS}/deployments`, { body: dep('s-dep') });
      await k.ok('POST', `/api/v1/namespaces/${SENTINEL_NS}/services`, { body: { metadata: { name: 's-svc' }, spec: { ports: [{ port: 80 }], selector: { app: 's' } } } });
      for (const p of [`/api/v1/namespaces/${SENTINEL_NS}`, ...sentinelPaths]) {
        const r = await k.get(p);
        assert.equal(r.status, 200, `sentinel ${p}: ${r.text}`);
        sentinels.set(p, r.text);
      }
    });

    after(async () => {
      // SKIFF_FUZZ_DUMP=1 prints what the server said (a crash's native stack, say) when replaying a seed.
      if (process.env.SKIFF_FUZZ_DUMP) console.error(skiff.output());
      k?.close();
      await skiff?.stop();
    });

    it(`answers ${COUNT} random requests without 5xx, always with a Status, and loses nothing`, async (t) => {
      t.diagnostic(`fuzz seed ${seed} (replay with SKIFF_FUZZ_SEED=${seed})`);
      console.log(`fuzz (${backend}): seed ${seed}; replay with SKIFF_FUZZ_SEED=${seed}`);
      const resources = await discover(k);
      for (const r of resources) if (r.namespaced) NAMESPACED.add(`${r.prefix}|${r.plural}`);
      assert.ok(resources.length > 20, 'discovery lists the built-in resources');

      const agent = new https.Agent({ keepAlive: true, maxSockets: WORKERS, ...k.tls });
      const findings = new Map<string, { count: number; example: string }>();
      const statusCounts = new Map<number, number>();
      let next = 0;
      let sent = 0;
      const started = Date.now();
      try {
        await Promise.all(
          Array.from({ length: WORKERS }, async () => {
            for (;;) {
              const i = next++;
              if (i >= COUNT || Date.now() - started > SECONDS * 1000) return;
              const fr = makeRequest(seed, i, resources);
              const a = await send(agent, skiff.port, fr);
              sent++;
              statusCounts.set(a.status, (statusCounts.get(a.status) ?? 0) + 1);
              const finding = judge(fr, a);
              if (finding) {
                const sig = signature(fr, finding);
                const f = findings.get(sig);
                if (f) f.count++;
                else findings.set(sig, { count: 1, example: `${finding}\n      request: ${describeRequest(fr)}` });
              }
            }
          }),
        );
      } finally {
        agent.destroy();
      }
      // -1: requests node:https itself refused to send (counted, never silently dropped); 0: no answer.
      const histogram = [...statusCounts.entries()]
        .sort((x, y) => x[0] - y[0])
        .map(([s, n]) => `${s === -1 ? 'unsendable' : s}:${n}`)
        .join(' ');
      t.diagnostic(`sent ${sent} requests in ${Date.now() - started} ms; statuses ${histogram}`);
      console.log(`fuzz (${backend}): sent ${sent} requests; statuses ${histogram}`);
      assert.ok(sent >= Math.min(COUNT, 200), `only ${sent} requests were sent`);

      // The server is still alive and serving (in a namespace of its own: the fuzzer may have deleted any other).
      const alive: string[] = [];
      const ready = await k.get('/readyz');
      if (ready.status !== 200) alive.push(`readyz after fuzzing: ${ready.status} ${ready.text}\n${skiff.output().slice(-3000)}`);
      const probeNs = await k.request('POST', '/api/v1/namespaces', { body: { metadata: { generateName: 'alive-' } } });
      if (probeNs.status !== 201) alive.push(`creating a namespace after fuzzing: ${probeNs.status} ${probeNs.text.slice(0, 300)}`);
      else {
        const cmPath = `/api/v1/namespaces/${probeNs.json.metadata.name}/configmaps`;
        const probe = await k.request('POST', cmPath, { body: { metadata: { name: 'probe' }, data: { ok: 'yes' } } });
        const back = await k.get(`${cmPath}/probe`);
        if (probe.status !== 201 || back.json?.data?.ok !== 'yes') alive.push(`write+read after fuzzing: ${probe.status} ${probe.text.slice(0, 200)} / ${back.status} ${back.text.slice(0, 200)}`);
      }

      // Every object created beforehand outside the fuzzer's reach is unchanged.
      const lost: string[] = [];
      for (const [p, before] of sentinels) {
        const now = await k.get(p);
        if (now.status !== 200) lost.push(`${p}: now ${now.status} ${now.text.slice(0, 200)}`);
        else if (now.text !== before) lost.push(`${p}: changed\n        before ${before.slice(0, 400)}\n        after  ${now.text.slice(0, 400)}`);
      }
      const extra = await k.ok('GET', `/api/v1/namespaces/${SENTINEL_NS}/configmaps`);
      const unexpected = extra.items.map((i: any) => i.metadata.name).filter((n: string) => n !== 's-1' && n !== 's-2' && n !== 'kube-root-ca.crt');
      if (unexpected.length) lost.push(`unexpected configmaps appeared in ${SENTINEL_NS}: ${unexpected.join(', ')}`);

      const report = [...findings.entries()]
        .sort((x, y) => y[1].count - x[1].count)
        .map(([sig, f]) => `  ${f.count} × ${sig}\n      e.g. ${f.example}`)
        .join('\n');
      const problems = [
        findings.size ? `${[...findings.values()].reduce((s, f) => s + f.count, 0)} bad answers in ${findings.size} kinds (seed ${seed}):\n${report}` : '',
        lost.length ? `objects lost or changed (seed ${seed}):\n  ${lost.join('\n  ')}` : '',
        alive.length ? `not serving after fuzzing:\n  ${alive.join('\n  ')}` : '',
      ].filter(Boolean);
      assert.equal(problems.length, 0, problems.join('\n\n'));
    });
  });
}
