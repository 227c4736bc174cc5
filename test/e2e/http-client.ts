/**
 * Raw HTTPS for the API e2e suites: the admin client certificate from the kubeconfig skiff wrote,
 * one keep-alive agent per server, whole responses as text (and JSON when they parse), watch
 * streams as a list of events that grows, and the Status checks every error answer must pass.
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import https from 'node:https';
import type { IncomingHttpHeaders } from 'node:http';
import { parse as parseYaml } from 'yaml';

export interface HttpResponse {
  status: number;
  headers: IncomingHttpHeaders;
  text: string;
  /** The body parsed as JSON, or undefined when it is not JSON. */
  json: any;
}

export interface RequestOptions {
  body?: string | Buffer | object;
  headers?: Record<string, string>;
  /** Gives up (and fails) after this long; default 30 s. */
  timeoutMs?: number;
  /** Sends the body with chunked transfer encoding (no Content-Length). */
  chunked?: boolean;
}

export interface WatchEvent {
  type: string;
  object: any;
}

export interface WatchStream {
  status: number;
  headers: IncomingHttpHeaders;
  events: WatchEvent[];
  /** Resolves when the server ended the stream. */
  ended: Promise<void>;
  isEnded(): boolean;
  /** Waits until `pred` holds for the events so far; fails after `timeoutMs` with what arrived. */
  waitFor(pred: (events: WatchEvent[]) => boolean, what: string, timeoutMs?: number): Promise<WatchEvent[]>;
  close(): void;
}

export class KubeHttp {
  readonly agent: https.Agent;

  private constructor(
    readonly baseUrl: string,
    /** The CA and admin client credentials, for callers that need their own agent. */
    readonly tls: { ca: string; cert: string; key: string },
  ) {
    this.agent = new https.Agent({ keepAlive: true, maxSockets: 32, ca: tls.ca, cert: tls.cert, key: tls.key });
  }

  /** A client for the server and admin user named in a kubeconfig skiff wrote. */
  static async fromKubeconfig(path: string): Promise<KubeHttp> {
    const cfg = parseYaml(await readFile(path, 'utf8')) as any;
    const ctxName = cfg['current-context'];
    const ctx = cfg.contexts.find((c: any) => c.name === ctxName).context;
    const cluster = cfg.clusters.find((c: any) => c.name === ctx.cluster).cluster;
    const user = cfg.users.find((u: any) => u.name === ctx.user).user;
    const b64 = (s: string) => Buffer.from(s, 'base64').toString('utf8');
    return new KubeHttp(cluster.server, {
      ca: b64(cluster['certificate-authority-data']),
      cert: b64(user['client-certificate-data']),
      key: b64(user['client-key-data']),
    });
  }

  close(): void {
    this.agent.destroy();
  }

  private open(method: string, path: string, opts: RequestOptions) {
    const url = new URL(this.baseUrl);
    let body: Buffer | undefined;
    const headers: Record<string, string> = { ...(opts.headers ?? {}) };
    if (opts.body !== undefined) {
      body = Buffer.isBuffer(opts.body) ? opts.body : Buffer.from(typeof opts.body === 'string' ? opts.body : JSON.stringify(opts.body));
      if (!Object.keys(headers).some((h) => h.toLowerCase() === 'content-type')) headers['Content-Type'] = 'application/json';
      if (!opts.chunked) headers['Content-Length'] = String(body.length);
    }
    const req = https.request({
      host: url.hostname,
      port: url.port,
      method,
      path,
      headers,
      agent: this.agent,
    });
    return { req, body };
  }

  request(method: string, path: string, opts: RequestOptions = {}): Promise<HttpResponse> {
    const timeoutMs = opts.timeoutMs ?? 30_000;
    return new Promise((resolve, reject) => {
      const { req, body } = this.open(method, path, opts);
      const timer = setTimeout(() => {
        req.destroy(new Error(`${method} ${path}: no complete answer within ${timeoutMs} ms`));
      }, timeoutMs);
      req.on('response', (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          clearTimeout(timer);
          const text = Buffer.concat(chunks).toString('utf8');
          let json: any;
          try {
            json = text.length ? JSON.parse(text) : undefined;
          } catch {
            json = undefined;
          }
          resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json });
        });
        res.on('error', (err) => {
          clearTimeout(timer);
          reject(err);
        });
      });
      req.on('error', (err) => {
        clearTimeout(timer);
        reject(err);
      });
      if (body && opts.chunked) {
        for (let i = 0; i < body.length; i += 64 * 1024) req.write(body.subarray(i, i + 64 * 1024));
        req.end();
      } else req.end(body);
    });
  }

  get(path: string, headers?: Record<string, string>) {
    return this.request('GET', path, { headers });
  }
  post(path: string, body: unknown, headers?: Record<string, string>) {
    return this.request('POST', path, { body: body as object, headers });
  }
  put(path: string, body: unknown, headers?: Record<string, string>) {
    return this.request('PUT', path, { body: body as object, headers });
  }
  patch(path: string, body: unknown, contentType: string) {
    return this.request('PATCH', path, { body: body as object, headers: { 'Content-Type': contentType } });
  }
  delete(path: string, body?: unknown) {
    return this.request('DELETE', path, body === undefined ? {} : { body: body as object });
  }

  /** Requests that must succeed: returns the parsed body, fails with the answer otherwise. */
  async ok(method: string, path: string, opts: RequestOptions = {}): Promise<any> {
    const r = await this.request(method, path, opts);
    if (r.status < 200 || r.status > 299) assert.fail(`${method} ${path} answered ${r.status}: ${r.text.slice(0, 2000)}`);
    return r.json;
  }

  /** Opens a watch (or any streaming GET) and collects newline-delimited JSON events. */
  watch(path: string, headers: Record<string, string> = {}): Promise<WatchStream> {
    return new Promise((resolve, reject) => {
      const { req } = this.open('GET', path, { headers });
      req.on('error', reject);
      req.on('response', (res) => {
        const events: WatchEvent[] = [];
        let buf = '';
        let ended = false;
        let onEnd!: () => void;
        const endedP = new Promise<void>((r) => (onEnd = r));
        const finish = () => {
          if (ended) return;
          ended = true;
          onEnd();
        };
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          buf += chunk;
          let nl: number;
          while ((nl = buf.indexOf('\n')) >= 0) {
            const line = buf.slice(0, nl).trim();
            buf = buf.slice(nl + 1);
            if (!line) continue;
            try {
              events.push(JSON.parse(line) as WatchEvent);
            } catch {
              // Kept, so a test asserting on the events sees the garbage rather than a crash.
              events.push({ type: 'UNPARSEABLE', object: line });
            }
          }
        });
        res.on('end', () => {
          const rest = buf.trim();
          if (rest) {
            try {
              events.push(JSON.parse(rest) as WatchEvent);
            } catch {
              // a non-JSON answer (an error page) is in the status code
            }
          }
          finish();
        });
        res.on('close', finish);
        res.on('error', finish);
        const stream: WatchStream = {
          status: res.statusCode ?? 0,
          headers: res.headers,
          events,
          ended: endedP,
          isEnded: () => ended,
          waitFor: (pred, what, timeoutMs = 15_000) =>
            new Promise((ok, fail) => {
              const started = Date.now();
              const check = () => {
                if (pred(events)) return ok(events);
                if (Date.now() - started > timeoutMs || (ended && !pred(events))) {
                  return fail(new Error(`watch ${path}: ${what} did not happen${ended ? ' (stream ended)' : ''}; events so far:\n${summarize(events)}`));
                }
                setTimeout(check, 20);
              };
              check();
            }),
          close: () => {
            req.destroy();
            res.destroy();
            finish();
          },
        };
        resolve(stream);
      });
      req.end();
    });
  }
}

function summarize(events: WatchEvent[]): string {
  return events
    .map((e) => `${e.type} ${e.object?.metadata?.name ?? e.object?.kind ?? ''} rv=${e.object?.metadata?.resourceVersion ?? ''}${e.type === 'ERROR' ? ' ' + JSON.stringify(e.object) : ''}`)
    .join('\n');
}

/** Asserts an answer is a Status error with the given code and reason, and returns it. */
export function assertStatus(r: HttpResponse, code: number, reason: string | undefined, context = ''): any {
  const where = context ? `${context}: ` : '';
  assert.equal(r.status, code, `${where}expected HTTP ${code} ${reason ?? ''}, got ${r.status}: ${r.text.slice(0, 1500)}`);
  assert.ok(r.json && typeof r.json === 'object', `${where}the ${code} body is not JSON: ${r.text.slice(0, 500)}`);
  assert.match(String(r.headers['content-type']), /^application\/json/, `${where}a Status is JSON`);
  assert.equal(r.json.kind, 'Status', `${where}body is not a Status: ${r.text.slice(0, 500)}`);
  assert.equal(r.json.apiVersion, 'v1', `${where}Status apiVersion`);
  assert.equal(r.json.status, 'Failure', `${where}Status.status`);
  assert.equal(r.json.code, code, `${where}Status.code`);
  assert.equal(r.json.reason, reason, `${where}Status.reason (message: ${r.json.message})`);
  assert.equal(typeof r.json.message, 'string', `${where}Status.message`);
  return r.json;
}

/** Polls `check` until it returns a value other than undefined; bounded by attempts, not by a clock assertion. */
export async function eventually<T>(what: string, check: () => Promise<T | undefined>, attempts = 300, delayMs = 50): Promise<T> {
  let last: unknown;
  for (let i = 0; i < attempts; i++) {
    try {
      const v = await check();
      if (v !== undefined) return v;
    } catch (err) {
      last = err;
    }
    await new Promise((r) => setTimeout(r, delayMs));
  }
  throw new Error(`${what} did not happen after ${attempts} attempts${last ? `: ${(last as Error).message}` : ''}`);
}

/** A name unique to this run, for objects a test creates. */
export function uniqueName(prefix: string): string {
  return `${prefix}-${process.pid.toString(36)}-${Math.random().toString(36).slice(2, 7)}`;
}
