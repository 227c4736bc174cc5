/**
 * The agent's service account token cache, after the kubelet's token manager (pkg/kubelet/token):
 * projected volumes ask for a pod-bound token per (account, audiences, lifetime, pod); a cached
 * token is reused until 80% of its lifetime has passed or it is 24 hours old (less up to 10 s of
 * jitter, so a node's pods do not all refresh at once). A refresh that fails keeps the old token
 * while it is still valid. Tokens of a pod are forgotten when the pod goes.
 */
import { randomInt } from 'node:crypto';
import type { KubeObject } from '../../api/types.js';
import type { Client, ResourceRef } from '../../client/interface.js';

const SERVICE_ACCOUNTS: ResourceRef = { group: '', version: 'v1', resource: 'serviceaccounts' };
const MAX_TTL_MS = 24 * 60 * 60 * 1000;
const DEFAULT_MAX_JITTER_MS = 10_000;

/** Asks the API for a token: POST serviceaccounts/<name>/token. */
export type TokenRequester = (namespace: string, serviceAccount: string, request: KubeObject) => Promise<KubeObject>;

export function clientTokenRequester(client: Client): TokenRequester {
  return (namespace, serviceAccount, request) =>
    client.create(SERVICE_ACCOUNTS, namespace, { ...request, metadata: { ...request.metadata, name: serviceAccount } }, { subresource: 'token' });
}

export interface ServiceAccountTokenManagerOptions {
  request: TokenRequester;
  /** Milliseconds since the epoch. */
  now?: () => number;
  /** Upstream's maxJitter (10 s); tests with short lifetimes set 0. */
  maxJitterMs?: number;
  log?: (msg: string) => void;
}

interface Cached {
  request: KubeObject;
  expiresAt: number;
  refreshAt: number;
  podUid: string;
}

/** What a projected serviceAccountToken source asks for. */
export interface TokenSpec {
  audiences?: string[];
  expirationSeconds: number;
  boundObjectRef: { apiVersion: string; kind: string; name: string; uid: string };
}

export class ServiceAccountTokenManager {
  private readonly cache = new Map<string, Cached>();
  private readonly now: () => number;
  private readonly maxJitterMs: number;

  constructor(private readonly opts: ServiceAccountTokenManagerOptions) {
    this.now = opts.now ?? Date.now;
    this.maxJitterMs = opts.maxJitterMs ?? DEFAULT_MAX_JITTER_MS;
  }

  /** The token for `spec`, from the cache unless it is due for a refresh. */
  async getServiceAccountToken(namespace: string, name: string, spec: TokenSpec): Promise<string> {
    const key = JSON.stringify([name, namespace, spec.audiences ?? [], spec.expirationSeconds, spec.boundObjectRef]);
    const cached = this.cache.get(key);
    const now = this.now();
    if (cached && now < cached.refreshAt) return cached.request.status?.token;
    let tr: KubeObject;
    try {
      tr = await this.opts.request(namespace, name, {
        apiVersion: 'authentication.k8s.io/v1',
        kind: 'TokenRequest',
        metadata: { name },
        spec: { ...(spec.audiences && spec.audiences.length > 0 ? { audiences: spec.audiences } : {}), expirationSeconds: spec.expirationSeconds, boundObjectRef: spec.boundObjectRef },
      });
      if (typeof tr.status?.token !== 'string' || !tr.status.token) throw new Error('the API answered without a token');
    } catch (err) {
      const msg = (err as Error).message ?? String(err);
      if (!cached) throw new Error(`failed to fetch token: ${msg}`);
      if (now > cached.expiresAt) throw new Error(`token ${key} expired and refresh failed: ${msg}`);
      this.opts.log?.(`couldn't update token ${key}: ${msg}`);
      return cached.request.status?.token;
    }
    this.cache.set(key, this.entry(tr, spec, now));
    return tr.status.token;
  }

  /** requiresRefresh, decided once per token (its jitter drawn at fetch time). */
  private entry(tr: KubeObject, spec: TokenSpec, now: number): Cached {
    const parsed = Date.parse(tr.status?.expirationTimestamp ?? '');
    const expiresAt = Number.isFinite(parsed) ? parsed : now + spec.expirationSeconds * 1000;
    const ttlMs = (Number(tr.spec?.expirationSeconds) || spec.expirationSeconds) * 1000;
    const issuedAt = expiresAt - ttlMs;
    const jitter = this.maxJitterMs > 0 ? randomInt(this.maxJitterMs + 1) : 0;
    const refreshAt = Math.min(issuedAt + MAX_TTL_MS, expiresAt - Math.floor(ttlMs / 5)) - jitter;
    return { request: tr, expiresAt, refreshAt, podUid: spec.boundObjectRef.uid };
  }

  /** When the first of a pod's tokens is due for a refresh; undefined when it has none. */
  nextRefresh(podUid: string): number | undefined {
    let next: number | undefined;
    for (const c of this.cache.values()) if (c.podUid === podUid && (next === undefined || c.refreshAt < next)) next = c.refreshAt;
    return next;
  }

  /** DeleteServiceAccountToken: the pod is gone. */
  deletePodTokens(podUid: string): void {
    for (const [k, c] of this.cache) if (c.podUid === podUid) this.cache.delete(k);
  }

  /** Drops expired tokens (the kubelet's periodic cleanup). */
  cleanup(): void {
    const now = this.now();
    for (const [k, c] of this.cache) if (now > c.expiresAt) this.cache.delete(k);
  }

  get size(): number {
    return this.cache.size;
  }
}
