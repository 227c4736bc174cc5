/**
 * The HTTPS transport: the same `Client` semantics as the in-process one, over the API server's
 * REST paths with mutual TLS. Failures answer with a Status body and become the same ApiErrors the
 * in-process client throws; watches read the newline-delimited JSON event stream.
 */
import { Agent, request, type RequestOptions } from 'node:https';
import type { IncomingMessage } from 'node:http';
import { readFile } from 'node:fs/promises';
import { parse as parseYaml } from 'yaml';
import type { KubeObject } from '../api/types.js';
import { ApiError, type Status } from '../api/errors.js';
import type { Client, DeleteOptions, ListOptions, ListResult, PatchType, ResourceRef, WatchEventType, WatchHandle, WatchOptions, WriteOptions } from './interface.js';

export interface HttpsClientOptions {
  /** The API server's URL, e.g. `https://127.0.0.1:6443`. */
  server: string;
  /** PEM strings. */
  ca: string;
  /** The client certificate and key; absent when a bearer token authenticates. */
  cert?: string;
  key?: string;
  /** A bearer token (a bootstrap token while a node joins). */
  token?: string;
}

const AGGREGATED_DISCOVERY = 'application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList';

/** The reasons upstream's client-go gives a failure that came without a Status body. */
const REASON_FOR_CODE: Record<number, string> = {
  400: 'BadRequest',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'NotFound',
  405: 'MethodNotAllowed',
  406: 'NotAcceptable',
  409: 'Conflict',
  410: 'Expired',
  413: 'RequestEntityTooLarge',
  415: 'UnsupportedMediaType',
  422: 'Invalid',
  429: 'TooManyRequests',
  500: 'InternalError',
  503: 'ServiceUnavailable',
  504: 'Timeout',
};

interface Answer {
  code: number;
  body: string;
}

export class HttpsClient implements Client {
  private readonly base: URL;
  private agent: Agent;

  constructor(private readonly opts: HttpsClientOptions) {
    this.base = new URL(opts.server);
    this.agent = new Agent({ keepAlive: true, ca: opts.ca, cert: opts.cert, key: opts.key });
  }

  /**
   * Presents a new client certificate from now on (a rotated one). Open connections, watches
   * included, are closed so that every request is made again under the new identity, as client-go
   * does when its certificate rotates.
   */
  setCredentials(cert: string, key: string): void {
    const old = this.agent;
    this.agent = new Agent({ keepAlive: true, ca: this.opts.ca, cert, key });
    old.destroy();
  }

  /**
   * A client from a kubeconfig as skiff writes it (embedded *-data credentials, current context),
   * optionally talking to another server of the same cluster.
   */
  static async fromKubeconfig(path: string, server?: string): Promise<HttpsClient> {
    const cfg = parseYaml(await readFile(path, 'utf8')) as Record<string, any>;
    const contexts: any[] = cfg.contexts ?? [];
    const ctx = contexts.find((c) => c.name === cfg['current-context'])?.context ?? contexts[0]?.context;
    if (!ctx) throw new Error(`kubeconfig ${path}: no context`);
    const cluster = (cfg.clusters ?? []).find((c: any) => c.name === ctx.cluster)?.cluster;
    const user = (cfg.users ?? []).find((u: any) => u.name === ctx.user)?.user;
    if (!cluster?.server) throw new Error(`kubeconfig ${path}: no cluster "${ctx.cluster}"`);
    if (!user) throw new Error(`kubeconfig ${path}: no user "${ctx.user}"`);
    const b64 = (field: string, v: unknown): string => {
      if (typeof v !== 'string' || !v) throw new Error(`kubeconfig ${path}: missing ${field}`);
      return Buffer.from(v, 'base64').toString('utf8');
    };
    return new HttpsClient({
      server: server ?? cluster.server,
      ca: b64('certificate-authority-data', cluster['certificate-authority-data']),
      cert: b64('client-certificate-data', user['client-certificate-data']),
      key: b64('client-key-data', user['client-key-data']),
    });
  }

  /** Closes idle keep-alive sockets. Open watches end on their own when stopped. */
  close(): void {
    this.agent.destroy();
  }

  async get(ref: ResourceRef, namespace: string, name: string): Promise<KubeObject> {
    return this.json('GET', resourcePath(ref, namespace, name));
  }

  async list(ref: ResourceRef, namespace: string, opts: ListOptions = {}): Promise<ListResult> {
    const list = await this.json<{ kind?: string; apiVersion?: string; items?: KubeObject[]; metadata?: { resourceVersion?: string; continue?: string } }>(
      'GET',
      resourcePath(ref, namespace) + query(listQuery(opts)),
    );
    const items = (list.items ?? []).map((o) => withTypeMeta(ref, o, list));
    const r: ListResult = { items, resourceVersion: list.metadata?.resourceVersion ?? '' };
    if (list.metadata?.continue) r.continue = list.metadata.continue;
    return r;
  }

  async create(ref: ResourceRef, namespace: string, obj: KubeObject, opts: WriteOptions = {}): Promise<KubeObject> {
    // A subresource created by POST (pods/binding, pods/eviction) is addressed by the object's name.
    const path = opts.subresource ? resourcePath(ref, namespace, obj.metadata?.name ?? '', opts.subresource) : resourcePath(ref, namespace);
    return this.json('POST', path + query(writeQuery(opts)), JSON.stringify(obj), 'application/json');
  }

  async update(ref: ResourceRef, namespace: string, obj: KubeObject, opts: WriteOptions = {}): Promise<KubeObject> {
    const path = resourcePath(ref, namespace, obj.metadata?.name ?? '', opts.subresource);
    return this.json('PUT', path + query(writeQuery(opts)), JSON.stringify(obj), 'application/json');
  }

  async patch(ref: ResourceRef, namespace: string, name: string, type: PatchType, patch: unknown, opts: WriteOptions = {}): Promise<KubeObject> {
    const path = resourcePath(ref, namespace, name, opts.subresource);
    return this.json('PATCH', path + query(writeQuery(opts)), JSON.stringify(patch), type);
  }

  async delete(ref: ResourceRef, namespace: string, name: string, opts: DeleteOptions = {}): Promise<void> {
    const body = JSON.stringify({ kind: 'DeleteOptions', apiVersion: 'v1', ...opts });
    await this.json('DELETE', resourcePath(ref, namespace, name), body, 'application/json');
  }

  watch(ref: ResourceRef, namespace: string, opts: WatchOptions, onEvent: (type: WatchEventType, obj: KubeObject) => void): WatchHandle {
    const q = listQuery({ ...opts, limit: undefined, continue: undefined });
    q.set('watch', 'true');
    if (opts.allowWatchBookmarks) q.set('allowWatchBookmarks', 'true');
    let stopped = false;
    let over = false;
    // Exactly one ERROR ends a watch: the server's own, or ours when the stream breaks.
    const finish = (status: Status | KubeObject) => {
      if (stopped || over) return;
      over = true;
      onEvent('ERROR', status as KubeObject);
    };
    const req = request(this.requestOptions('GET', resourcePath(ref, namespace) + query(q), { Accept: 'application/json' }), (res) => {
      const code = res.statusCode ?? 0;
      if (code < 200 || code > 299) {
        void readAll(res).then(
          (body) => finish(toApiError(code, body).toStatus()),
          (err: Error) => finish(streamEnded(code || 500, err.message)),
        );
        return;
      }
      res.setEncoding('utf8');
      const lines = new LineSplitter();
      const deliver = (line: string) => {
        if (stopped || over || !line.trim()) return;
        let ev: { type?: WatchEventType; object?: KubeObject };
        try {
          ev = JSON.parse(line) as { type?: WatchEventType; object?: KubeObject };
        } catch {
          finish(streamEnded(500, `malformed watch event: ${line.slice(0, 200)}`));
          req.destroy();
          return;
        }
        if (!ev.type || !ev.object) return;
        if (ev.type === 'ERROR') {
          finish(ev.object);
          req.destroy();
          return;
        }
        onEvent(ev.type, deepFreeze(ev.object));
      };
      res.on('data', (chunk: string) => {
        for (const line of lines.push(chunk)) deliver(line);
      });
      res.on('end', () => {
        deliver(lines.end());
        finish(streamEnded(code === 200 ? 500 : code, 'the watch stream ended'));
      });
      res.on('error', (err) => finish(streamEnded(500, err.message)));
      res.on('aborted', () => finish(streamEnded(500, 'the watch stream was aborted')));
    });
    req.on('error', (err) => finish(streamEnded(500, err.message)));
    req.end();
    return {
      stop: () => {
        stopped = true;
        req.destroy();
      },
    };
  }

  async resources() {
    const [legacy, groups] = await Promise.all([
      this.json<DiscoveryList>('GET', '/api', undefined, undefined, AGGREGATED_DISCOVERY),
      this.json<DiscoveryList>('GET', '/apis', undefined, undefined, AGGREGATED_DISCOVERY),
    ]);
    const out: { ref: ResourceRef; namespaced: boolean; kind: string; verbs: string[]; preferred: boolean }[] = [];
    for (const g of [...(legacy.items ?? []), ...(groups.items ?? [])]) {
      const group = g.metadata?.name ?? '';
      (g.versions ?? []).forEach((v, i) => {
        for (const r of v.resources ?? []) {
          out.push({
            ref: { group, version: v.version, resource: r.resource },
            namespaced: r.scope === 'Namespaced',
            kind: r.responseKind?.kind ?? '',
            verbs: r.verbs ?? [],
            preferred: i === 0,
          });
        }
      });
    }
    return out;
  }

  /** One request whose 2xx answer is JSON; anything else throws the ApiError its Status says. */
  private async json<T = KubeObject>(method: string, path: string, body?: string, contentType?: string, accept = 'application/json'): Promise<T> {
    const headers: Record<string, string> = { Accept: accept };
    if (body !== undefined) {
      headers['Content-Type'] = contentType ?? 'application/json';
      headers['Content-Length'] = String(Buffer.byteLength(body));
    }
    const a = await this.send(method, path, headers, body);
    if (a.code < 200 || a.code > 299) throw toApiError(a.code, a.body);
    try {
      return JSON.parse(a.body) as T;
    } catch {
      throw new ApiError(500, 'InternalError', `${method} ${path}: the server answered ${a.code} with a body that is not JSON`);
    }
  }

  private send(method: string, path: string, headers: Record<string, string>, body?: string): Promise<Answer> {
    return new Promise((resolve, reject) => {
      const req = request(this.requestOptions(method, path, headers), (res) => {
        readAll(res).then((text) => resolve({ code: res.statusCode ?? 0, body: text }), reject);
      });
      req.on('error', reject);
      req.end(body);
    });
  }

  private requestOptions(method: string, path: string, headers: Record<string, string>): RequestOptions {
    return {
      method,
      protocol: 'https:',
      hostname: this.base.hostname.replace(/^\[|\]$/g, ''),
      port: this.base.port || 443,
      path: this.base.pathname.replace(/\/$/, '') + path,
      headers: this.opts.token ? { ...headers, Authorization: `Bearer ${this.opts.token}` } : headers,
      agent: this.agent,
    };
  }
}

interface DiscoveryList {
  items?: {
    metadata?: { name?: string };
    versions?: {
      version: string;
      resources?: { resource: string; scope?: string; verbs?: string[]; responseKind?: { kind?: string } }[];
    }[];
  }[];
}

/** `/api/v1/...` for the core group, `/apis/<group>/<version>/...` for the others. */
export function resourcePath(ref: ResourceRef, namespace: string, name?: string, subresource?: string): string {
  let p = ref.group ? `/apis/${ref.group}/${ref.version}` : `/api/${ref.version}`;
  if (namespace) p += `/namespaces/${encodeURIComponent(namespace)}`;
  p += `/${ref.resource}`;
  if (name) p += `/${encodeURIComponent(name)}`;
  if (name && subresource) p += `/${subresource}`;
  return p;
}

function listQuery(opts: ListOptions): URLSearchParams {
  const q = new URLSearchParams();
  if (opts.labelSelector) q.set('labelSelector', opts.labelSelector);
  if (opts.fieldSelector) q.set('fieldSelector', opts.fieldSelector);
  if (opts.limit !== undefined && opts.limit > 0) q.set('limit', String(opts.limit));
  if (opts.continue) q.set('continue', opts.continue);
  if (opts.resourceVersion !== undefined && opts.resourceVersion !== '') q.set('resourceVersion', opts.resourceVersion);
  return q;
}

function writeQuery(opts: WriteOptions): URLSearchParams {
  const q = new URLSearchParams();
  if (opts.dryRun) q.set('dryRun', 'All');
  if (opts.fieldManager) q.set('fieldManager', opts.fieldManager);
  if (opts.force !== undefined) q.set('force', String(opts.force));
  return q;
}

function query(q: URLSearchParams): string {
  const s = q.toString();
  return s ? `?${s}` : '';
}

/**
 * List items over the wire carry no kind/apiVersion (as upstream); the in-process client's items
 * do, from storage. Fill them in from the list so both transports hand back the same objects.
 */
function withTypeMeta(ref: ResourceRef, o: KubeObject, list: { kind?: string; apiVersion?: string }): KubeObject {
  if (o.kind && o.apiVersion) return o;
  const kind = o.kind ?? (list.kind?.endsWith('List') ? list.kind.slice(0, -4) : undefined);
  const apiVersion = o.apiVersion ?? list.apiVersion ?? (ref.group ? `${ref.group}/${ref.version}` : ref.version);
  return kind ? { ...o, kind, apiVersion } : { ...o, apiVersion };
}

/** The ApiError a failed answer stands for: its Status when it has one, else one from the code. */
export function toApiError(code: number, body: string): ApiError {
  let s: Partial<Status> | undefined;
  try {
    const parsed = JSON.parse(body) as Partial<Status>;
    if (parsed && typeof parsed === 'object' && parsed.kind === 'Status') s = parsed;
  } catch {
    // not JSON: fall through to a Status made from the code
  }
  if (s) return new ApiError(s.code ?? code, s.reason ?? REASON_FOR_CODE[code] ?? 'Unknown', s.message ?? '', s.details);
  const message = body.trim() || `the server responded with the status code ${code} but did not return more information`;
  return new ApiError(code, REASON_FOR_CODE[code] ?? 'Unknown', message);
}

/** Newline-delimited lines from a stream whose chunks may end anywhere, mid-line included. */
export class LineSplitter {
  private pending = '';

  /** The lines this chunk completes. */
  push(chunk: string): string[] {
    this.pending += chunk;
    const nl = this.pending.lastIndexOf('\n');
    if (nl < 0) return [];
    const done = this.pending.slice(0, nl).split('\n');
    this.pending = this.pending.slice(nl + 1);
    return done;
  }

  /** What is left once the stream ends (a last line without its newline, or ''). */
  end(): string {
    const rest = this.pending;
    this.pending = '';
    return rest;
  }
}

function streamEnded(code: number, message: string): Status {
  return { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', code, reason: 'StreamEnded', message };
}

function readAll(res: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    res.on('data', (c: Buffer) => chunks.push(c));
    res.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    res.on('error', reject);
    res.on('aborted', () => reject(new Error('the response was aborted')));
  });
}

/** Watch objects are frozen as the in-process client's are, so a caller that forgets to copy fails here too. */
function deepFreeze<T>(v: T): T {
  if (v === null || typeof v !== 'object' || Object.isFrozen(v)) return v;
  for (const child of Object.values(v as object)) deepFreeze(child);
  return Object.freeze(v);
}
