/**
 * A small OCI distribution client: manifests (index, list, image), blobs as streams, bearer-token and
 * basic auth from the registry's challenge, mirrors tried before the origin, plain HTTP only for
 * loopback registries. Digests are checked by the caller that consumes the bytes (the store).
 */
import http from 'node:http';
import https from 'node:https';
import { createHash } from 'node:crypto';
import { isIP } from 'node:net';
import type { IncomingMessage } from 'node:http';
import type { AuthConfig } from './keyring.js';
import type { ImageReference } from './reference.js';

export const MediaType = {
  ociIndex: 'application/vnd.oci.image.index.v1+json',
  dockerList: 'application/vnd.docker.distribution.manifest.list.v2+json',
  ociManifest: 'application/vnd.oci.image.manifest.v1+json',
  dockerManifest: 'application/vnd.docker.distribution.manifest.v2+json',
  dockerSchema1: 'application/vnd.docker.distribution.manifest.v1+json',
  dockerSchema1Signed: 'application/vnd.docker.distribution.manifest.v1+prettyjws',
} as const;

const MANIFEST_ACCEPT = [MediaType.ociIndex, MediaType.dockerList, MediaType.ociManifest, MediaType.dockerManifest].join(', ');
/** containerd refuses manifests and configs above this size; so do we. */
export const MAX_MANIFEST_BYTES = 4 << 20;

export interface Platform {
  os: string;
  architecture: string;
  variant?: string;
}

export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  platform?: Platform;
  urls?: string[];
}

export interface Manifest {
  mediaType: string;
  /** The digest of the exact bytes served. */
  digest: string;
  bytes: Buffer;
  json: any;
}

/** The cause of a failed registry operation; the message is what ends up after "failed to pull and unpack image". */
export class RegistryError extends Error {
  constructor(
    message: string,
    readonly status?: number,
  ) {
    super(message);
  }
}

export interface RegistryClientOptions {
  /** Mirror base URLs per registry host ("docker.io" → ["http://127.0.0.1:5001"]), tried in order. */
  mirrors?: Record<string, string[]>;
  connectTimeoutMs?: number;
  /** Time to the response's headers once connected. */
  responseTimeoutMs?: number;
  /** A body that sends nothing for this long is abandoned. */
  idleTimeoutMs?: number;
  log?: (msg: string) => void;
}

interface Endpoint {
  base: string;
  host: string;
  mirror: boolean;
  auth?: AuthConfig;
  /** A mirror that failed to connect is not asked again during this session. */
  down?: boolean;
}

/** The host platform in OCI's words (GOOS/GOARCH names). */
export function hostPlatform(): Platform {
  return normalizePlatform({ os: process.platform, architecture: process.arch });
}

export function normalizePlatform(p: Platform): Platform {
  const os = p.os.toLowerCase();
  let arch = p.architecture.toLowerCase();
  let variant = p.variant?.toLowerCase() || undefined;
  switch (arch) {
    case 'x64':
    case 'x86_64':
    case 'x86-64':
      arch = 'amd64';
      variant = undefined;
      break;
    case 'ia32':
    case 'i386':
    case 'i686':
      arch = '386';
      variant = undefined;
      break;
    case 'aarch64':
    case 'arm64':
      arch = 'arm64';
      if (variant === 'v8') variant = undefined;
      break;
    case 'armhf':
      arch = 'arm';
      variant = 'v7';
      break;
    case 'armel':
      arch = 'arm';
      variant = 'v6';
      break;
    case 'arm':
      variant = variant ?? 'v7';
      break;
  }
  return variant ? { os, architecture: arch, variant } : { os, architecture: arch };
}

/** The index entry for `want`: same OS and architecture, the same variant preferred over none. */
export function selectPlatform(manifests: Descriptor[], want: Platform): Descriptor | undefined {
  const w = normalizePlatform(want);
  let fallback: Descriptor | undefined;
  for (const d of manifests) {
    if (!d.platform?.os || !d.platform.architecture) continue;
    const p = normalizePlatform(d.platform);
    if (p.os !== w.os || p.architecture !== w.architecture) continue;
    if (p.variant === w.variant) return d;
    if (!w.variant || !p.variant) fallback ??= d;
  }
  return fallback;
}

export function isLoopbackHost(host: string): boolean {
  let h = host;
  if (h.startsWith('[')) h = h.slice(1, h.indexOf(']'));
  else if (h.lastIndexOf(':') > 0 && isIP(h) !== 6) h = h.slice(0, h.lastIndexOf(':'));
  if (h === 'localhost' || h.endsWith('.localhost')) return true;
  if (isIP(h) === 4) return h.startsWith('127.');
  if (isIP(h) === 6) return h === '::1' || h === '0:0:0:0:0:0:0:1';
  return false;
}

/** Where a registry host is served: Docker Hub's API endpoint, plain HTTP on loopback, HTTPS elsewhere. */
export function originBase(host: string): string {
  if (host === 'docker.io') return 'https://registry-1.docker.io';
  return `${isLoopbackHost(host) ? 'http' : 'https'}://${host}`;
}

export class RegistryClient {
  private readonly mirrors: Record<string, string[]>;
  readonly connectTimeoutMs: number;
  readonly responseTimeoutMs: number;
  readonly idleTimeoutMs: number;
  readonly log: (msg: string) => void;

  constructor(opts: RegistryClientOptions = {}) {
    this.mirrors = opts.mirrors ?? {};
    this.connectTimeoutMs = opts.connectTimeoutMs ?? 5_000;
    this.responseTimeoutMs = opts.responseTimeoutMs ?? 30_000;
    this.idleTimeoutMs = opts.idleTimeoutMs ?? 60_000;
    this.log = opts.log ?? (() => {});
  }

  /**
   * A session for one repository. `auth` is for the image's own registry; mirrors get credentials only
   * from `mirrorAuth` (the keyring's answer for the mirror's host), so a secret never leaks to a mirror.
   */
  session(ref: ImageReference, auth?: AuthConfig, mirrorAuth?: (host: string) => AuthConfig | undefined): RegistrySession {
    const endpoints: Endpoint[] = [];
    for (const m of this.mirrors[ref.domain] ?? []) {
      let url: URL;
      try {
        url = new URL(m.includes('://') ? m : `${isLoopbackHost(m) ? 'http' : 'https'}://${m}`);
      } catch {
        this.log(`ignoring invalid mirror ${JSON.stringify(m)} for ${ref.domain}`);
        continue;
      }
      let pathname = url.pathname;
      while (pathname.endsWith('/')) pathname = pathname.slice(0, -1);
      const base = `${url.protocol}//${url.host}${pathname}`;
      endpoints.push({ base, host: url.host, mirror: true, auth: mirrorAuth?.(url.host) });
    }
    const base = originBase(ref.domain);
    endpoints.push({ base, host: new URL(base).host, mirror: false, auth });
    return new RegistrySession(this, ref, endpoints);
  }
}

interface Challenge {
  scheme: string;
  params: Record<string, string>;
}

export class RegistrySession {
  private readonly tokens = new Map<string, { header: string; expires: number }>();

  constructor(
    private readonly client: RegistryClient,
    readonly ref: ImageReference,
    private readonly endpoints: Endpoint[],
  ) {}

  /** GET a manifest by tag or digest. Verifies the digest when asked by digest. */
  async getManifest(tagOrDigest: string): Promise<Manifest> {
    const res = await this.get(`/v2/${this.ref.path}/manifests/${tagOrDigest}`, { accept: MANIFEST_ACCEPT }, 'manifest');
    const bytes = await readCapped(res, MAX_MANIFEST_BYTES, `manifest ${tagOrDigest}`);
    const digest = `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
    if (tagOrDigest.includes(':') && tagOrDigest !== digest) {
      throw new RegistryError(`manifest ${tagOrDigest}: digest mismatch: the registry served content with digest ${digest}`);
    }
    let json: any;
    try {
      json = JSON.parse(bytes.toString('utf8'));
    } catch {
      throw new RegistryError(`manifest ${tagOrDigest} is not valid JSON`);
    }
    if (typeof json !== 'object' || json === null) throw new RegistryError(`manifest ${tagOrDigest} is not a JSON object`);
    const headerType = (res.headers['content-type'] ?? '').split(';')[0].trim();
    let mediaType: string = typeof json.mediaType === 'string' && json.mediaType ? json.mediaType : headerType;
    if (!mediaType || mediaType === 'application/json') {
      // OCI allows the field to be absent: tell an index from a manifest by its shape.
      mediaType = Array.isArray(json.manifests) ? MediaType.ociIndex : json.schemaVersion === 1 ? MediaType.dockerSchema1 : MediaType.ociManifest;
    }
    return { mediaType, digest, bytes, json };
  }

  /** The blob's body as a stream; the caller verifies size and digest. */
  async openBlob(digest: string): Promise<IncomingMessage> {
    return this.get(`/v2/${this.ref.path}/blobs/${digest}`, {}, 'blob');
  }

  /** A small blob (an image config) in memory, verified. */
  async readBlob(desc: Descriptor): Promise<Buffer> {
    if (desc.size > MAX_MANIFEST_BYTES) throw new RegistryError(`blob ${desc.digest} is too large (${desc.size} bytes)`);
    const res = await this.openBlob(desc.digest);
    const bytes = await readCapped(res, MAX_MANIFEST_BYTES, `blob ${desc.digest}`);
    const got = `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
    if (got !== desc.digest) throw new RegistryError(`unexpected commit digest ${got}, expected ${desc.digest}: failed precondition`);
    return bytes;
  }

  private scope(): string {
    return `repository:${this.ref.path}:pull`;
  }

  /** Tries each endpoint in order; a mirror's failure falls through to the next, the origin's is final. */
  private async get(path: string, opts: { accept?: string }, what: 'manifest' | 'blob'): Promise<IncomingMessage> {
    let lastMirrorError: unknown;
    for (const ep of this.endpoints) {
      if (ep.down) continue;
      try {
        const res = await this.getFrom(ep, path, opts);
        if (res.statusCode! >= 200 && res.statusCode! < 300) return res;
        const err = await statusError(res, this.ref, path, what, ep);
        if (!ep.mirror) throw err;
        this.client.log(`mirror ${ep.base} answered ${res.statusCode} for ${path}; trying the next endpoint`);
        lastMirrorError = err;
      } catch (err) {
        if (!ep.mirror) throw err;
        if (err instanceof NetworkError) ep.down = true;
        this.client.log(`mirror ${ep.base} failed for ${path}: ${(err as Error).message}; trying the next endpoint`);
        lastMirrorError = err;
      }
    }
    throw lastMirrorError ?? new RegistryError('no registry endpoint');
  }

  private async getFrom(ep: Endpoint, path: string, opts: { accept?: string }): Promise<IncomingMessage> {
    const url = ep.base + path;
    const headers: Record<string, string> = { 'user-agent': 'skiff' };
    if (opts.accept) headers.accept = opts.accept;
    const cached = this.tokens.get(ep.base);
    if (cached && cached.expires > Date.now()) headers.authorization = cached.header;
    else if (ep.auth?.registryToken) headers.authorization = `Bearer ${ep.auth.registryToken}`;
    let res = await this.send('GET', url, headers, ep);
    if (res.statusCode === 401) {
      const challenge = parseChallenge(res.headers['www-authenticate']);
      if (!challenge) return res;
      res.resume();
      const authHeader = await this.authorize(ep, challenge);
      if (!authHeader) throw new RegistryError(`pull access denied, repository does not exist or may require authorization: ${ep.host} asks for ${challenge.scheme} credentials and none were given`, 401);
      headers.authorization = authHeader;
      res = await this.send('GET', url, headers, ep);
    }
    return res;
  }

  private async authorize(ep: Endpoint, challenge: Challenge): Promise<string | undefined> {
    const scheme = challenge.scheme.toLowerCase();
    if (scheme === 'basic') {
      if (!ep.auth?.username && !ep.auth?.password) return undefined;
      const header = `Basic ${Buffer.from(`${ep.auth.username ?? ''}:${ep.auth.password ?? ''}`).toString('base64')}`;
      this.tokens.set(ep.base, { header, expires: Number.MAX_SAFE_INTEGER });
      return header;
    }
    if (scheme !== 'bearer') throw new RegistryError(`${ep.host} asks for unsupported authentication scheme ${challenge.scheme}`);
    const realm = challenge.params.realm;
    if (!realm) throw new RegistryError(`${ep.host} sent a bearer challenge without a realm`);
    const scope = this.scope();
    const service = challenge.params.service;
    let realmUrl: URL;
    try {
      realmUrl = new URL(realm);
    } catch {
      throw new RegistryError(`${ep.host} sent an invalid token realm ${JSON.stringify(realm)}`);
    }
    const auth = ep.auth;
    let res: IncomingMessage;
    const anonymous = !auth?.username && !auth?.password && !auth?.identityToken;
    if (auth?.identityToken) {
      // The OAuth2 refresh-token grant, as docker login's identity tokens are used.
      const form = new URLSearchParams({ grant_type: 'refresh_token', refresh_token: auth.identityToken, client_id: 'skiff', scope });
      if (service) form.set('service', service);
      res = await this.send('POST', realmUrl.toString(), { 'content-type': 'application/x-www-form-urlencoded', 'user-agent': 'skiff' }, ep, Buffer.from(form.toString()));
    } else {
      if (service) realmUrl.searchParams.set('service', service);
      realmUrl.searchParams.set('scope', scope);
      const headers: Record<string, string> = { 'user-agent': 'skiff' };
      if (!anonymous) headers.authorization = `Basic ${Buffer.from(`${auth!.username ?? ''}:${auth!.password ?? ''}`).toString('base64')}`;
      res = await this.send('GET', realmUrl.toString(), headers, ep);
    }
    const body = await readCapped(res, 1 << 20, 'token response');
    if (res.statusCode !== 200) {
      const what = anonymous ? 'failed to fetch anonymous token' : 'failed to fetch oauth token';
      throw new RegistryError(`failed to authorize: ${what}: unexpected status from ${auth?.identityToken ? "POST" : "GET"} request to ${realmUrl.origin}${realmUrl.pathname}: ${res.statusCode} ${res.statusMessage ?? ''}`.trimEnd(), res.statusCode);
    }
    let token: string | undefined;
    let expiresIn = 60;
    try {
      const json = JSON.parse(body.toString('utf8'));
      token = json.access_token || json.token;
      if (typeof json.expires_in === 'number' && json.expires_in > 0) expiresIn = json.expires_in;
    } catch {
      // handled below
    }
    if (!token) throw new RegistryError(`failed to authorize: the token server at ${realmUrl.origin} returned no token`);
    const header = `Bearer ${token}`;
    this.tokens.set(ep.base, { header, expires: Date.now() + Math.max(1, expiresIn - 5) * 1000 });
    return header;
  }

  /** One request with redirects followed (credentials dropped when the host changes). */
  private async send(method: string, url: string, headers: Record<string, string>, ep: Endpoint, body?: Buffer): Promise<IncomingMessage> {
    let current = new URL(url);
    const originalHost = current.host;
    for (let hop = 0; hop < 6; hop++) {
      const h = { ...headers };
      if (current.host !== originalHost) delete h.authorization;
      const res = await request(method, current, h, body, this.client, ep.host);
      const status = res.statusCode ?? 0;
      if ([301, 302, 303, 307, 308].includes(status) && res.headers.location) {
        res.resume();
        current = new URL(res.headers.location, current);
        if (status === 303) method = 'GET';
        continue;
      }
      return res;
    }
    throw new RegistryError(`too many redirects for ${url}`);
  }
}

/** A failure to reach the server at all (as opposed to an HTTP answer). */
export class NetworkError extends RegistryError {}

function request(method: string, url: URL, headers: Record<string, string>, body: Buffer | undefined, client: RegistryClient, registry: string): Promise<IncomingMessage> {
  const mod = url.protocol === 'https:' ? https : http;
  const goMethod = method === 'GET' ? 'Get' : method === 'POST' ? 'Post' : method;
  return new Promise((resolve, reject) => {
    let settled = false;
    const fail = (cause: string) => {
      if (settled) return;
      settled = true;
      req.destroy();
      reject(new NetworkError(`failed to do request: ${goMethod} ${JSON.stringify(url.toString())}: ${cause} (registry ${registry} is unreachable)`));
    };
    const req = mod.request(url, { method, headers: body ? { ...headers, 'content-length': String(body.length) } : headers });
    const connectTimer = setTimeout(() => fail(`dial tcp ${url.host}: i/o timeout after ${client.connectTimeoutMs / 1000}s`), client.connectTimeoutMs);
    let responseTimer: NodeJS.Timeout | undefined;
    const connected = () => {
      clearTimeout(connectTimer);
      responseTimer = setTimeout(() => fail(`no response from ${url.host} within ${client.responseTimeoutMs / 1000}s`), client.responseTimeoutMs);
    };
    req.on('socket', (s) => {
      if ((s as any).connecting) s.once('connect', connected);
      else connected();
    });
    req.on('error', (err: NodeJS.ErrnoException) => {
      clearTimeout(connectTimer);
      clearTimeout(responseTimer);
      fail(describeNetworkError(err, url));
    });
    req.on('response', (res) => {
      clearTimeout(connectTimer);
      clearTimeout(responseTimer);
      if (settled) {
        res.resume();
        return;
      }
      settled = true;
      // Keep-alive sockets serve many responses: the idle timer belongs to this response only.
      const socket = res.socket;
      const idle = () => res.destroy(new Error(`${url.host} sent nothing for ${client.idleTimeoutMs / 1000}s`));
      socket.setTimeout(client.idleTimeoutMs);
      socket.on('timeout', idle);
      res.once('close', () => {
        socket.off('timeout', idle);
        socket.setTimeout(0);
      });
      resolve(res);
    });
    req.end(body);
  });
}

function describeNetworkError(err: NodeJS.ErrnoException, url: URL): string {
  const dial = `dial tcp ${url.host}`;
  switch (err.code) {
    case 'ECONNREFUSED':
      return `${dial}: connect: connection refused`;
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return `${dial}: lookup ${url.hostname}: no such host`;
    case 'EHOSTUNREACH':
      return `${dial}: connect: no route to host`;
    case 'ENETUNREACH':
      return `${dial}: connect: network is unreachable`;
    case 'ECONNRESET':
      return `read tcp ${url.host}: connection reset by peer`;
    case 'ETIMEDOUT':
      return `${dial}: i/o timeout`;
    default:
      return err.code ? `${err.code}: ${err.message}` : err.message;
  }
}

async function statusError(res: IncomingMessage, ref: ImageReference, path: string, what: 'manifest' | 'blob', ep: Endpoint): Promise<RegistryError> {
  const status = res.statusCode ?? 0;
  let serverMessage = '';
  try {
    const body = await readCapped(res, 64 << 10, 'error body');
    const json = JSON.parse(body.toString('utf8'));
    const e = json?.errors?.[0];
    if (e) serverMessage = `${String(e.code ?? '').toLowerCase()}: ${e.message ?? ''}`;
  } catch {
    // not a distribution error body
  }
  if (status === 404) {
    const name = what === 'manifest' ? `${ref.repository}:${path.slice(path.lastIndexOf('/') + 1)}`.replace(/:(sha256:)/, '@$1') : path.slice(path.lastIndexOf('/') + 1);
    return new RegistryError(`${name}: not found`, 404);
  }
  if (status === 401 || status === 403) {
    return new RegistryError(
      `pull access denied, repository does not exist or may require authorization${serverMessage ? `: server message: ${serverMessage}` : ''}`,
      status,
    );
  }
  return new RegistryError(`unexpected status from GET request to ${ep.base}${path}: ${status} ${res.statusMessage ?? ''}`.trimEnd(), status);
}

function parseChallenge(header: string | string[] | undefined): Challenge | undefined {
  const raw = Array.isArray(header) ? header[0] : header;
  if (!raw) return undefined;
  const s = raw.trim();
  const sp = s.indexOf(' ');
  const scheme = sp < 0 ? s : s.slice(0, sp);
  const params: Record<string, string> = {};
  let i = sp < 0 ? s.length : sp + 1;
  // key=value or key="quoted \"value\"", comma separated; one pass.
  while (i < s.length) {
    while (i < s.length && (s[i] === ' ' || s[i] === ',')) i++;
    const eq = s.indexOf('=', i);
    if (eq < 0) break;
    const key = s.slice(i, eq).trim().toLowerCase();
    i = eq + 1;
    let value = '';
    if (s[i] === '"') {
      i++;
      while (i < s.length && s[i] !== '"') {
        if (s[i] === '\\' && i + 1 < s.length) i++;
        value += s[i++];
      }
      i++;
    } else {
      const end = s.indexOf(',', i);
      value = s.slice(i, end < 0 ? s.length : end).trim();
      i = end < 0 ? s.length : end;
    }
    params[key] = value;
  }
  return { scheme, params };
}

export async function readCapped(res: IncomingMessage, max: number, what: string): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let n = 0;
  for await (const chunk of res) {
    n += (chunk as Buffer).length;
    if (n > max) {
      res.destroy();
      throw new RegistryError(`${what} is larger than ${max} bytes`);
    }
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}
