/**
 * The API server: HTTP(S) plumbing, non-resource endpoints (health, version, discovery, OpenAPI)
 * and routing of resource requests to the generic handlers. A request's way through is readable
 * top to bottom in handle().
 */
import http from 'node:http';
import https from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { builtinResources } from '../api/catalog.js';
import type { Store } from '../storage/store.js';
import { aggregatedDiscovery, apiGroupDoc, apiGroupList, apiResourceList, apiVersions, versionInfo, wantsAggregated } from './discovery.js';
import { errors } from '../api/errors.js';
import { handleResource, type HandlerDeps } from './handlers.js';
import { sendError, sendJson } from './http.js';
import type { KindRules } from './kind-rules.js';
import { buildOpenApiV3 } from './openapi.js';
import { buildOpenApiV2, serveOpenApiV2, type OpenApiV2 } from './openapi-v2.js';
import { ResourceRegistry } from './registry.js';
import { fieldSelectorName, parseRequestInfo, type RequestInfo } from './request-info.js';
import { ResourceStore } from './resource-store.js';
import { ServedSchemas } from './schemas.js';
import { CustomResourceServing } from './crd/serving.js';
import { CrdFinalizer, CrdNamingController } from './crd/controllers.js';
import { InProcessClient } from '../client/in-process.js';
import { FieldManager } from './fieldmanager/index.js';
import { WatchCache } from './watch-cache.js';
import { defaultKindRules } from './default-rules.js';
import { userFromCertificate } from '../pki/identity.js';
import { namespaceLifecycle } from './admission/namespace-lifecycle.js';
import { defaultTolerationSeconds } from './admission/default-toleration-seconds.js';
import { ValidatingAdmissionPolicyPlugin } from './admission/validating-admission-policy.js';
import { DEFAULT_SERVICE_CIDR, ServiceAllocation } from './admission/service-allocation.js';
import { MutatingWebhookAdmission, ValidatingWebhookAdmission } from './admission/webhook/dispatcher.js';
import { limitRanger } from './admission/limit-ranger.js';
import { serviceAccountAdmission } from './admission/service-account.js';
import { nodeRestriction } from './admission/node-restriction.js';
import { ensureSystemPriorityClasses, priorityAdmission } from './admission/priority.js';
import { ResourceQuotaAdmission } from './admission/resource-quota.js';
import { PodSecurityAdmission, type PodSecurityAdmissionOptions } from './admission/pod-security/admission.js';
import { PodStreams, isPodStreamRequest, writeUpgradeError, type KubeletClientConfig } from './pod-streams.js';
import type { Duplex } from 'node:stream';
import type { UserInfo } from './auth/user.js';
import { ANONYMOUS_USER, type TokenAuthenticator } from './auth/authenticator.js';
import { impersonate } from './auth/impersonation.js';
import { ALLOW, alwaysAllow, forbiddenError, SYSTEM_MASTERS, type Attributes, type AuthorizationResult, type Authorizer, type RuleResolver } from './authz/types.js';
import { registerAccessReviews } from './authz/reviews.js';
import { ensureBootstrapPolicy } from './authz/rbac/bootstrap-policy.js';
import { RbacEscalationAdmission } from './authz/rbac/escalation.js';
import { CreateOnlyHandlers } from './create-only.js';
import { tokenReviewHandler } from './auth/serviceaccount/token-review.js';
import { BootstrapTokenAuthenticator } from './auth/bootstrap-token.js';
import { certificateAdmission } from './admission/certificates.js';
import type { AuditContext, Auditor } from './audit/auditor.js';
import { OverloadProtection, REJECTED, type OverloadOptions } from './overload.js';

export interface TlsOptions {
  cert: string;
  key: string;
  /** CA whose client certificates are accepted. */
  ca: string;
}

export interface ApiServerOptions {
  store: Store;
  rules?: KindRules;
  /** Serve plain HTTP when absent (tests of the API machinery only; `skiff up` always uses TLS). */
  tls?: TlsOptions;
  /** Where Service cluster IPs come from (default 10.96.0.0/12). */
  serviceCidr?: string;
  /** How to reach node agents for pods/log, exec, attach and portforward. */
  kubeletClient?: KubeletClientConfig;
  /** Who may do what (default: everything is allowed, for tests of the API machinery only). */
  authorizer?: Authorizer;
  /** Requests without credentials are system:anonymous (default, as upstream) rather than refused with 401. */
  anonymous?: boolean;
  /** PodSecurity admission's configuration (default: privileged everywhere, as upstream). */
  podSecurity?: PodSecurityAdmissionOptions;
  /** Records HTTP requests in the audit log (absent: no auditing, at no cost). */
  audit?: Auditor;
  /** Request deadlines and priority-and-fairness seats (upstream's defaults when absent). */
  overload?: OverloadOptions;
}

export type { UserInfo } from './auth/user.js';

/** Who a plain-HTTP request (tests of the API machinery, no client certificates) is. */
const PLAIN_HTTP_ADMIN: UserInfo = Object.freeze({ name: 'system:admin', groups: Object.freeze([SYSTEM_MASTERS, 'system:authenticated']) as string[] });

/**
 * What authorization sees of a request: upstream's RequestInfo as attributes (a list or watch
 * narrowed to one name by its field selector counts as a request for that name).
 */
export function attributesOf(user: UserInfo, info: RequestInfo, query: URLSearchParams): Attributes {
  const name = info.name || (info.verb === 'list' || info.verb === 'watch' ? fieldSelectorName(query.get('fieldSelector')) : '');
  return {
    user,
    verb: info.verb,
    resourceRequest: info.isResourceRequest,
    path: info.path,
    apiGroup: info.group,
    apiVersion: info.version,
    resource: info.resource,
    subresource: info.subresource,
    namespace: info.namespace,
    name,
    fieldSelector: query.get('fieldSelector') ?? undefined,
  };
}

export class ApiServer {
  readonly registry = new ResourceRegistry(builtinResources);
  readonly cache: WatchCache;
  readonly resources: ResourceStore;
  readonly schemas = new ServedSchemas();
  /** Kinds and subresources answered by code rather than stored (TokenRequest, reviews). */
  readonly createOnly = new CreateOnlyHandlers();
  /** Bearer token authenticators, asked in order (service account tokens, bootstrap tokens). */
  readonly tokenAuthenticators: TokenAuthenticator[] = [];
  /** The audiences a token must be for to authenticate here (--api-audiences; set with service account tokens). */
  apiAudiences: string[] = [];
  /** GET paths outside the API answered by code registered from outside (service account issuer discovery). */
  readonly nonResourceHandlers = new Map<string, (req: IncomingMessage, res: ServerResponse) => void>();
  authorizer: Authorizer;
  /** Which rules a user holds (SelfSubjectRulesReview); set by whoever sets an authorizer that can tell (RBAC). */
  ruleResolver: RuleResolver | undefined;
  /** Limits on connections, request deadlines and in-flight requests (API Priority and Fairness). */
  readonly overload: OverloadProtection;
  private readonly customResources: CustomResourceServing;
  private crdControllers: (CrdNamingController | CrdFinalizer)[] = [];
  private server: http.Server | https.Server | undefined;
  private openapi: ReturnType<typeof buildOpenApiV3> | undefined;
  private openapiV2: OpenApiV2 | undefined;
  private ready = false;
  private readonly deps: HandlerDeps;
  private readonly podStreams: PodStreams;
  /** Serialized discovery documents; dropped whenever the registry changes. */
  private readonly discoveryCache = new Map<string, string>();

  constructor(private readonly opts: ApiServerOptions) {
    this.cache = new WatchCache(opts.store);
    this.tokenAuthenticators.push(new BootstrapTokenAuthenticator(this.cache));
    this.authorizer = opts.authorizer ?? alwaysAllow;
    this.overload = new OverloadProtection(opts.overload);
    const webhooks = { cache: this.cache, store: opts.store, registry: this.registry };
    // Upstream's recommended order. Each phase runs the plugins that take part in it in this order:
    // mutating (namespace lifecycle, limit defaults, service account, priority, tolerations, then
    // webhooks), validating (limits, service allocation, policies, webhooks, and ResourceQuota last:
    // it charges what the others settled).
    const quota = new ResourceQuotaAdmission(opts.store, this.cache);
    const admission = [
      namespaceLifecycle(opts.store, this.cache),
      limitRanger(opts.store, this.cache),
      serviceAccountAdmission(opts.store, this.cache),
      nodeRestriction(this.cache),
      new PodSecurityAdmission(opts.store, this.cache, opts.podSecurity),
      priorityAdmission(opts.store, this.cache),
      defaultTolerationSeconds(),
      ...certificateAdmission((a) => this.allows(a)),
      new ServiceAllocation(opts.store, this.cache, opts.serviceCidr ?? DEFAULT_SERVICE_CIDR),
      new RbacEscalationAdmission(this.cache, { authorizer: () => this.authorizer, ruleResolver: () => this.ruleResolver }),
      new MutatingWebhookAdmission(webhooks),
      new ValidatingAdmissionPolicyPlugin(this.cache, this.registry),
      new ValidatingWebhookAdmission(webhooks),
      quota,
    ];
    this.resources = new ResourceStore(opts.store, this.cache, opts.rules ?? defaultKindRules(this.schemas), admission);
    quota.bind(this.resources, this.registry.lookup('', 'v1', 'resourcequotas')!);
    this.resources.fieldManager = new FieldManager(this.schemas);
    this.deps = { resources: this.resources, schemas: this.schemas, registry: this.registry, createOnly: this.createOnly };
    registerAccessReviews(this);
    this.podStreams = new PodStreams(this.resources, this.registry, opts.kubeletClient);
    this.customResources = new CustomResourceServing(this.registry, this.cache, this.schemas);
    this.createOnly.register('authentication.k8s.io', 'tokenreviews', '', tokenReviewHandler(this));
    this.registry.onChange(() => {
      this.openapi = undefined;
      this.openapiV2 = undefined;
      this.discoveryCache.clear();
    });
  }

  /** Fills the watch cache; after this the server answers every request. */
  async start(): Promise<void> {
    await this.cache.start();
    // Upstream's post-start hook: the system priority classes exist in every cluster.
    await ensureSystemPriorityClasses(this.resources, this.registry.lookup('scheduling.k8s.io', 'v1', 'priorityclasses')!);
    // Upstream's rbac/bootstrap-roles post-start hook: not ready until the default policy is in place.
    await ensureBootstrapPolicy(new InProcessClient(this));
    this.customResources.start();
    this.ready = true;
    // Upstream's apiextensions controllers run inside every API server, on its loopback client.
    const loopback = new InProcessClient(this);
    this.crdControllers = [new CrdNamingController(loopback), new CrdFinalizer(loopback)];
    await Promise.all(this.crdControllers.map((c) => c.start()));
  }

  async listen(port: number, host = '127.0.0.1'): Promise<number> {
    const handler = (req: IncomingMessage, res: ServerResponse) => {
      this.handle(req, res).catch((err) => {
        this.opts.audit?.failed(res, err);
        sendError(res, err);
      });
    };
    const tls = this.opts.tls;
    this.server = tls
      ? https.createServer({ ...OverloadProtection.serverOptions(), cert: tls.cert, key: tls.key, ca: tls.ca, requestCert: true, rejectUnauthorized: false }, handler)
      : http.createServer(OverloadProtection.serverOptions(), handler);
    // exec, attach and port-forward arrive as upgrades (websocket, SPDY).
    this.server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
      socket.on('error', () => socket.destroy());
      this.handleUpgrade(req, socket, head).catch((err) => {
        this.opts.audit?.failed(socket, err);
        writeUpgradeError(socket, err);
      });
    });
    this.overload.configure(this.server);
    await new Promise<void>((resolve, reject) => {
      this.server!.once('error', reject);
      this.server!.listen(port, host, () => resolve());
    });
    return (this.server.address() as AddressInfo).port;
  }

  async close(): Promise<void> {
    this.ready = false;
    await Promise.all(this.crdControllers.map((c) => c.stop()));
    this.customResources.stop();
    this.cache.stop();
    if (this.server) {
      const s = this.server;
      await new Promise<void>((resolve) => {
        s.close(() => resolve());
        s.closeAllConnections();
      });
    }
  }

  /**
   * The client certificate of a TLS connection cannot change, and reading it costs tens of
   * microseconds (a quarter of a GET): identify each connection once.
   */
  private readonly connectionUsers = new WeakMap<TLSSocket, UserInfo | null>();

  /**
   * Who sent the request: the client certificate's subject, else a bearer token's owner, else
   * system:anonymous. A credential that does not verify is a 401, never anonymity.
   */
  async authenticate(req: IncomingMessage): Promise<UserInfo> {
    if (this.opts.tls) {
      const user = this.certificateUser(req.socket as TLSSocket);
      if (user) return user;
    }
    const header = req.headers.authorization;
    if (header !== undefined) {
      const m = /^Bearer\s+(\S+)\s*$/i.exec(header);
      if (m) {
        for (const a of this.tokenAuthenticators) {
          let r;
          try {
            r = await a.authenticateToken(m[1]);
          } catch {
            throw errors.unauthorized();
          }
          if (r) return r.user;
        }
        throw errors.unauthorized();
      }
    }
    // Without TLS there are no client certificates: tests of the API machinery run as an administrator.
    if (!this.opts.tls) return PLAIN_HTTP_ADMIN;
    if (this.opts.anonymous === false) throw errors.unauthorized();
    return ANONYMOUS_USER;
  }

  private certificateUser(sock: TLSSocket): UserInfo | undefined {
    let user = this.connectionUsers.get(sock);
    if (user === undefined) {
      user = null;
      if (sock.authorized) {
        const u = userFromCertificate(sock.getPeerCertificate());
        user = { name: u.name, groups: [...u.groups, 'system:authenticated'] };
      }
      this.connectionUsers.set(sock, user);
    }
    return user ?? undefined;
  }

  /** How a request by `a.user` to do `a` is decided: system:masters may do everything (upstream's privileged group), then the authorizer. */
  decide(a: Attributes): AuthorizationResult {
    return a.user.groups.includes(SYSTEM_MASTERS) ? ALLOW : this.authorizer.authorize(a);
  }

  /** Whether `a.user` may do `a` (what authorize() would let through). */
  allows(a: Attributes): boolean {
    return this.decide(a).decision === 'Allow';
  }

  /** Throws upstream's 403 unless `a.user` may do `a`. */
  authorize(a: Attributes, audit?: AuditContext): void {
    const r = this.decide(a);
    audit?.authorized(r.decision === 'Allow', r.reason);
    if (r.decision !== 'Allow') throw forbiddenError(a, r.reason);
  }

  async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const path = q === -1 ? url : url.slice(0, q);
    const query = new URLSearchParams(q === -1 ? '' : url.slice(q + 1));
    const method = req.method ?? 'GET';

    // Upstream's filter order: authentication, audit (of the requester), impersonation, authorization.
    const requester = await this.authenticate(req);
    const info = parseRequestInfo(method, path, query);
    const audit = this.opts.audit?.begin(req, res, requester, info, attributesOf(requester, info, query));
    const user = impersonate(req, requester, (a) => this.authorize(a));
    if (user !== requester) audit?.impersonate(user);
    const admission = await this.overload.admit(res, user, info, query);
    if (admission === REJECTED) return;
    try {
      this.authorize(attributesOf(user, info, query), audit);
      if (this.serveHealth(path, res)) return;
      if (!this.ready) throw errors.serviceUnavailable('the server is starting up');

      if (!info.isResourceRequest) return this.serveNonResource(req, res, path);

      if (isPodStreamRequest(info)) return await this.podStreams.serve(req, res, info, query);
      const entry = this.registry.lookup(info.group, info.version, info.resource);
      if (!entry) throw errors.pathNotFound();
      await handleResource(this.deps, req, res, info, entry, query, user);
    } finally {
      this.overload.finish(admission);
    }
  }

  /** An upgrade request: only the pod streams take one; the rest are refused as an HTTP answer. */
  async handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const path = q === -1 ? url : url.slice(0, q);
    const query = new URLSearchParams(q === -1 ? '' : url.slice(q + 1));
    const requester = await this.authenticate(req);
    const info = parseRequestInfo(req.method ?? 'GET', path, query);
    const audit = this.opts.audit?.begin(req, socket, requester, info, attributesOf(requester, info, query));
    const user = impersonate(req, requester, (a) => this.authorize(a));
    if (user !== requester) audit?.impersonate(user);
    // Upstream (AuthorizePodWebsocketUpgradeCreatePermission) asks for create on exec, attach and
    // portforward whichever method opened the stream: a GET upgrade must not make them read-only verbs.
    const attrs = { ...attributesOf(user, info, query), verb: info.isResourceRequest && isPodStreamRequest(info) && info.subresource !== 'log' ? 'create' : info.verb };
    this.authorize(attrs, audit);
    if (!this.ready) throw errors.serviceUnavailable('the server is starting up');
    if (!info.isResourceRequest || !isPodStreamRequest(info)) throw errors.badRequest('this resource does not support upgrades');
    await this.podStreams.upgrade(req, socket, head, info, query);
    this.opts.audit?.upgraded(socket);
  }

  private serveHealth(path: string, res: ServerResponse): boolean {
    if (path === '/livez' || path === '/healthz' || path === '/readyz' || path.startsWith('/livez/') || path.startsWith('/readyz/') || path.startsWith('/healthz/')) {
      const ok = path.startsWith('/livez') ? true : this.ready && this.cache.healthy;
      res.writeHead(ok ? 200 : 500, { 'Content-Type': 'text/plain; charset=utf-8', 'X-Content-Type-Options': 'nosniff' });
      res.end(ok ? 'ok' : 'not ready');
      return true;
    }
    return false;
  }

  private serveNonResource(req: IncomingMessage, res: ServerResponse, path: string): void {
    const accept = req.headers.accept;
    const p = path.length > 1 && path.endsWith('/') ? path.slice(0, -1) : path;
    if (req.method !== 'GET' && req.method !== 'HEAD') throw errors.methodNotAllowed(`the server does not allow this method on the requested resource`);
    const registered = this.nonResourceHandlers.get(p);
    if (registered) return registered(req, res);
    if (p === '/version') return sendJson(res, 200, versionInfo());
    if (p === '/api' || p === '/apis') {
      const agg = wantsAggregated(accept);
      if (agg) {
        return sendJson(
          res,
          200,
          this.cachedDoc(`${p}:${agg}`, () => aggregatedDiscovery(this.registry, p === '/api', agg)),
          `application/json;g=apidiscovery.k8s.io;v=${agg};as=APIGroupDiscoveryList`,
        );
      }
      const addr = `${req.socket.localAddress ?? '127.0.0.1'}:${req.socket.localPort ?? 6443}`;
      return sendJson(res, 200, p === '/api' ? apiVersions(addr) : this.cachedDoc('/apis', () => apiGroupList(this.registry)));
    }
    const segs = p.split('/').filter(Boolean);
    if (segs[0] === 'api' && segs.length === 2) {
      if (!this.registry.hasGroupVersion('', segs[1])) throw errors.pathNotFound();
      return sendJson(res, 200, this.cachedDoc(p, () => apiResourceList(this.registry, '', segs[1])));
    }
    if (segs[0] === 'apis' && segs.length === 2) {
      const doc = apiGroupDoc(this.registry, segs[1]);
      if (!doc) throw errors.pathNotFound();
      return sendJson(res, 200, doc);
    }
    if (segs[0] === 'apis' && segs.length === 3) {
      if (!this.registry.hasGroupVersion(segs[1], segs[2])) throw errors.pathNotFound();
      return sendJson(res, 200, this.cachedDoc(p, () => apiResourceList(this.registry, segs[1], segs[2])));
    }
    if (p === '/openapi/v3' || p.startsWith('/openapi/v3/')) return this.serveOpenApi(res, p);
    if (p === '/openapi/v2') return serveOpenApiV2(req, res, (this.openapiV2 ??= buildOpenApiV2([...this.registry.all()], this.schemas.definitions())));
    if (p === '/') {
      return sendJson(res, 200, { paths: ['/api', '/api/v1', '/apis', '/healthz', '/livez', '/openapi/v2', '/openapi/v3', '/readyz', '/version'] });
    }
    throw errors.pathNotFound('the server could not find the requested resource');
  }

  private cachedDoc(key: string, build: () => object): string {
    let d = this.discoveryCache.get(key);
    if (d === undefined) {
      d = JSON.stringify(build());
      this.discoveryCache.set(key, d);
    }
    return d;
  }

  private serveOpenApi(res: ServerResponse, p: string): void {
    this.openapi ??= buildOpenApiV3([...this.registry.all()], this.schemas.definitions());
    if (p === '/openapi/v3') return sendJson(res, 200, this.openapi.root);
    const gv = p.slice('/openapi/v3/'.length);
    const doc = this.openapi.documents.get(gv);
    if (!doc) throw errors.pathNotFound();
    res.writeHead(200, {
      'Content-Type': 'application/json',
      'Content-Length': String(doc.body.length),
      // Upstream lets clients cache a hashed document forever; the hash changes with the content.
      'Cache-Control': 'public, immutable',
      Etag: `"${doc.hash}"`,
    });
    res.end(doc.body);
  }
}
