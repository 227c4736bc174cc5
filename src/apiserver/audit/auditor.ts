/**
 * Auditing of HTTP requests, after upstream's WithAudit filter: each request the policy selects
 * becomes audit.k8s.io/v1 Events at its stages (RequestReceived, ResponseStarted for long-running
 * requests, ResponseComplete, or Panic), handed to a backend off the request path.
 *
 * The server calls begin() once the user is known, then authorized(); the context follows the
 * response itself (status line, body, close) so handlers need not know about auditing. In-process
 * client calls never reach here: upstream audits HTTP requests only.
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { isIP } from 'node:net';
import type { Duplex } from 'node:stream';
import { parse as parseYaml } from 'yaml';
import { ApiError } from '../../api/errors.js';
import { isStoreError } from '../../storage/store.js';
import type { UserInfo } from '../auth/user.js';
import type { Attributes } from '../authz/types.js';
import { BODY_OBSERVER } from '../codec.js';
import { toApiError } from '../http.js';
import type { RequestInfo } from '../request-info.js';
import type { AuditBackend } from './backend.js';
import { levelAtLeast, PolicyRuleEvaluator, type Level, type Policy, type RequestAuditConfig, type Stage } from './policy.js';

/** Upstream's BasicLongRunningRequestCheck as kube-apiserver configures it. */
const LONG_RUNNING_VERBS = new Set(['watch', 'proxy']);
const LONG_RUNNING_SUBRESOURCES = new Set(['attach', 'exec', 'proxy', 'log', 'portforward']);

const MAX_AUDIT_ID = 64;

interface ObjectReference {
  resource?: string;
  namespace?: string;
  name?: string;
  uid?: string;
  apiGroup?: string;
  apiVersion?: string;
  resourceVersion?: string;
  subresource?: string;
}

interface ResponseStatus {
  metadata: Record<string, never>;
  status?: string;
  message?: string;
  reason?: string;
  details?: unknown;
  code: number;
}

/** metav1.MicroTime: RFC 3339 in UTC with six fractional digits. */
export function microTime(epochMicros: number): string {
  const ms = Math.floor(epochMicros / 1000);
  const iso = new Date(ms).toISOString(); // 2024-01-02T03:04:05.678Z
  const micros = String(Math.floor(epochMicros) % 1_000_000).padStart(6, '0');
  return `${iso.slice(0, 19)}.${micros}Z`;
}

function nowMicros(): number {
  return Math.floor((performance.timeOrigin + performance.now()) * 1000);
}

/** Upstream's utilnet.SourceIPs: X-Forwarded-For's addresses, X-Real-Ip, then the peer. */
export function sourceIPs(req: IncomingMessage): string[] {
  const ips: string[] = [];
  const xff = req.headers['x-forwarded-for'];
  for (const part of (Array.isArray(xff) ? xff.join(',') : (xff ?? '')).split(',')) {
    const ip = part.trim();
    if (isIP(ip)) ips.push(ip);
  }
  const real = req.headers['x-real-ip'];
  if (typeof real === 'string' && isIP(real.trim()) && !ips.includes(real.trim())) ips.push(real.trim());
  let remote = req.socket.remoteAddress ?? '';
  if (remote.startsWith('::ffff:') && isIP(remote.slice(7)) === 4) remote = remote.slice(7);
  if (remote && !ips.includes(remote)) ips.push(remote);
  return ips;
}

function userJson(u: UserInfo): Record<string, unknown> {
  const out: Record<string, unknown> = { username: u.name };
  if (u.uid) out.uid = u.uid;
  out.groups = u.groups;
  if (u.extra && Object.keys(u.extra).length) out.extra = u.extra;
  return out;
}

function withoutManagedFields(obj: unknown): unknown {
  if (!obj || typeof obj !== 'object') return obj;
  const o = obj as { metadata?: { managedFields?: unknown }; items?: unknown[] };
  let out = o;
  if (o.metadata?.managedFields !== undefined) {
    const { managedFields: _m, ...meta } = o.metadata;
    out = { ...o, metadata: meta };
  }
  if (Array.isArray(o.items)) out = { ...out, items: o.items.map(withoutManagedFields) };
  return out;
}

function parseBody(body: Buffer | string): unknown {
  const text = typeof body === 'string' ? body : body.toString('utf8');
  try {
    return /^\s*[[{]/.test(text) ? JSON.parse(text) : parseYaml(text);
  } catch {
    return undefined;
  }
}

/** An error that is our bug rather than an answer: upstream's handler panics. */
function isPanic(err: unknown): boolean {
  return !(err instanceof ApiError) && !isStoreError(err);
}

export interface AuditorOptions {
  policy: Policy;
  backend: AuditBackend;
}

export class Auditor {
  private readonly evaluator: PolicyRuleEvaluator;
  private readonly contexts = new WeakMap<object, AuditContext>();

  constructor(private readonly opts: AuditorOptions) {
    this.evaluator = new PolicyRuleEvaluator(opts.policy);
  }

  get backend(): AuditBackend {
    return this.opts.backend;
  }

  /**
   * Starts auditing a request (after authentication): sets the Audit-Id response header and records
   * RequestReceived. `res` is the response, or the socket of an upgrade. Undefined when the policy
   * says None.
   */
  begin(req: IncomingMessage, res: ServerResponse | Duplex, user: UserInfo, info: RequestInfo, attrs: Attributes): AuditContext | undefined {
    const given = req.headers['audit-id'];
    const auditID = typeof given === 'string' && given && given.length <= MAX_AUDIT_ID ? given : randomUUID();
    const isResponse = 'setHeader' in res;
    if (isResponse && !res.headersSent) res.setHeader('Audit-Id', auditID);
    const config = this.evaluator.evaluate(attrs);
    if (config.level === 'None') return undefined;
    const ctx = new AuditContext(this.opts.backend, config, auditID, req, user, info);
    this.contexts.set(res, ctx);
    if (isResponse) ctx.follow(res);
    else ctx.followUpgrade(res);
    return ctx;
  }

  /** The request failed with `err` before or instead of a response (the server's catch-all). */
  failed(res: ServerResponse | Duplex, err: unknown): void {
    this.contexts.get(res)?.failed(err);
  }

  /** An upgrade was accepted: its stream runs until the socket closes. */
  upgraded(socket: Duplex): void {
    this.contexts.get(socket)?.upgraded();
  }
}

export class AuditContext {
  private readonly base: Record<string, unknown>;
  private readonly longRunning: boolean;
  private readonly objectRef: ObjectReference | undefined;
  private annotations: Record<string, string> | undefined;
  private requestBody: Buffer | undefined;
  private responseBody: string | undefined;
  private code = 200;
  private started = false;
  private done = false;
  private panicked: unknown;
  private failure: ApiError | undefined;

  constructor(
    private readonly backend: AuditBackend,
    private readonly config: RequestAuditConfig,
    auditID: string,
    req: IncomingMessage,
    user: UserInfo,
    private readonly info: RequestInfo,
  ) {
    this.longRunning = info.isResourceRequest ? LONG_RUNNING_VERBS.has(info.verb) || LONG_RUNNING_SUBRESOURCES.has(info.subresource) : false;
    if (info.isResourceRequest) {
      const ref: ObjectReference = { resource: info.resource };
      if (info.namespace) ref.namespace = info.namespace;
      if (info.name) ref.name = info.name;
      ref.apiGroup = info.group;
      ref.apiVersion = info.version;
      if (info.subresource) ref.subresource = info.subresource;
      this.objectRef = ref;
    }
    const ua = req.headers['user-agent'];
    this.base = {
      kind: 'Event',
      apiVersion: 'audit.k8s.io/v1',
      level: config.level,
      auditID,
      stage: 'RequestReceived',
      requestURI: req.url ?? '/',
      verb: info.verb,
      user: userJson(user),
      sourceIPs: sourceIPs(req),
      ...(ua ? { userAgent: ua } : {}),
    };
    this.requestReceived = microTime(nowMicros());
    // Create and update bodies complete the object reference (every level); Request and above record them.
    (req as IncomingMessage & { [BODY_OBSERVER]?: (b: Buffer) => void })[BODY_OBSERVER] = (b) => {
      this.requestBody = b;
    };
    this.emit('RequestReceived');
  }

  private readonly requestReceived: string;

  get level(): Level {
    return this.config.level;
  }

  /** Upstream's impersonation filter records whom the request acts as. */
  impersonate(user: UserInfo): void {
    this.base.impersonatedUser = userJson(user);
  }

  /** Upstream's authorization filter annotates every audited request with its decision. */
  authorized(allowed: boolean, reason: string): void {
    this.annotations = { 'authorization.k8s.io/decision': allowed ? 'allow' : 'forbid', 'authorization.k8s.io/reason': reason };
  }

  /** Follows an HTTP response: its status code, its body (where the level or a failure needs it), its end. */
  follow(res: ServerResponse): void {
    const writeHead = res.writeHead;
    const end = res.end;
    const wantBody = () => this.code >= 400 || (!this.longRunning && (levelAtLeast(this.config.level, 'RequestResponse') || this.info.verb === 'delete' || this.info.verb === 'deletecollection'));
    res.writeHead = ((code: number, ...rest: unknown[]) => {
      this.code = code;
      if (this.longRunning && !this.started) {
        this.started = true;
        this.emit('ResponseStarted');
      }
      return (writeHead as (...a: unknown[]) => ServerResponse).call(res, code, ...rest);
    }) as typeof res.writeHead;
    res.end = ((chunk?: unknown, ...rest: unknown[]) => {
      if (!res.headersSent) this.code = res.statusCode;
      if ((typeof chunk === 'string' || Buffer.isBuffer(chunk)) && wantBody()) this.responseBody = chunk.toString();
      return (end as (...a: unknown[]) => ServerResponse).call(res, chunk, ...rest);
    }) as typeof res.end;
    res.once('close', () => this.complete());
  }

  followUpgrade(socket: Duplex): void {
    socket.once('close', () => this.complete());
  }

  upgraded(): void {
    this.code = 101;
    if (!this.started) {
      this.started = true;
      this.emit('ResponseStarted');
    }
  }

  failed(err: unknown): void {
    if (isPanic(err)) this.panicked = err;
    else this.failure = toApiError(err);
    this.code = this.failure?.code ?? 500;
  }

  private complete(): void {
    if (this.done) return;
    this.done = true;
    this.emit(this.panicked === undefined ? 'ResponseComplete' : 'Panic');
  }

  private responseStatus(): ResponseStatus {
    if (this.panicked !== undefined) {
      const msg = this.panicked instanceof Error ? this.panicked.message : String(this.panicked);
      return { metadata: {}, status: 'Failure', message: `APIServer panic'd: ${msg}`, reason: 'InternalError', code: 500 };
    }
    const status = this.failure?.toStatus() ?? (this.responseBody !== undefined ? (parseBody(this.responseBody) as Record<string, unknown> | undefined) : undefined);
    if (status && status.kind === 'Status') {
      const out: ResponseStatus = { metadata: {}, code: this.code };
      for (const k of ['status', 'message', 'reason', 'details'] as const) if (status[k] !== undefined) (out as unknown as Record<string, unknown>)[k] = status[k];
      out.code = typeof status.code === 'number' && status.code ? status.code : this.code;
      return out;
    }
    return { metadata: {}, code: this.code };
  }

  private emit(stage: Stage): void {
    if (this.config.omitStages.has(stage)) return;
    const ev: Record<string, unknown> = { ...this.base, stage };
    if (stage !== 'RequestReceived') {
      const ref = this.completedRef();
      if (ref) ev.objectRef = ref;
      ev.responseStatus = this.responseStatus();
      if (levelAtLeast(this.config.level, 'Request') && this.requestBody !== undefined) ev.requestObject = this.trim(parseBody(this.requestBody));
      if (levelAtLeast(this.config.level, 'RequestResponse') && this.responseBody !== undefined && stage !== 'ResponseStarted') {
        const obj = parseBody(this.responseBody);
        if (obj !== undefined) ev.responseObject = this.trim(obj);
      }
    } else if (this.objectRef) {
      ev.objectRef = this.objectRef;
    }
    ev.requestReceivedTimestamp = this.requestReceived;
    ev.stageTimestamp = microTime(nowMicros());
    if (this.annotations && stage !== 'RequestReceived') ev.annotations = this.annotations;
    this.backend.process(reorder(ev));
  }

  private trim(obj: unknown): unknown {
    return this.config.omitManagedFields ? withoutManagedFields(obj) : obj;
  }

  /** Upstream's LogRequestObject: a create's or update's body names what the path may not. */
  private completedRef(): ObjectReference | undefined {
    if (!this.objectRef) return undefined;
    const v = this.info.verb;
    if (this.requestBody === undefined || (v !== 'create' && v !== 'update')) return this.objectRef;
    const meta = (parseBody(this.requestBody) as { metadata?: Record<string, unknown> } | undefined)?.metadata;
    if (!meta || typeof meta !== 'object') return this.objectRef;
    const ref = { ...this.objectRef };
    const str = (x: unknown) => (typeof x === 'string' && x ? x : undefined);
    ref.namespace ??= str(meta.namespace);
    ref.name ??= str(meta.name);
    ref.uid ??= str(meta.uid);
    ref.resourceVersion ??= str(meta.resourceVersion);
    return ref;
  }
}

/** The audit.k8s.io/v1 Event field order; the ObjectReference's too. */
const EVENT_FIELDS = [
  'kind', 'apiVersion', 'level', 'auditID', 'stage', 'requestURI', 'verb', 'user', 'impersonatedUser', 'sourceIPs', 'userAgent',
  'objectRef', 'responseStatus', 'requestObject', 'responseObject', 'requestReceivedTimestamp', 'stageTimestamp', 'annotations',
];
const REF_FIELDS = ['resource', 'namespace', 'name', 'uid', 'apiGroup', 'apiVersion', 'resourceVersion', 'subresource'] as const;

function reorder(ev: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const f of EVENT_FIELDS) if (ev[f] !== undefined) out[f] = ev[f];
  const ref = out.objectRef as ObjectReference | undefined;
  if (ref) {
    const r: Record<string, string> = {};
    for (const f of REF_FIELDS) if (ref[f] !== undefined && (ref[f] !== '' || f === 'apiGroup')) r[f] = ref[f]!;
    // apiGroup is omitempty upstream: the core group leaves it out.
    if (r.apiGroup === '') delete r.apiGroup;
    out.objectRef = r;
  }
  return out;
}
