/**
 * Bootstrap tokens as k8s.io/cluster-bootstrap defines them: `<id>.<secret>` ([a-z0-9]{6} and
 * [a-z0-9]{16}), kept in kube-system as Secrets `bootstrap-token-<id>` of type
 * `bootstrap.kubernetes.io/token`. Used by the authenticator, the bootstrap signer, the token
 * cleaner, `skiff token` and a joining agent.
 */
import { createHmac, randomInt, timingSafeEqual } from 'node:crypto';
import type { KubeObject } from '../api/types.js';

export const SECRET_TYPE = 'bootstrap.kubernetes.io/token';
export const SECRET_PREFIX = 'bootstrap-token-';
export const TOKEN_NAMESPACE = 'kube-system';
export const TOKEN_RE = /^([a-z0-9]{6})\.([a-z0-9]{16})$/;
export const BOOTSTRAPPERS_GROUP = 'system:bootstrappers';
/** kubeadm's default extra group for node join tokens (bound to the node bootstrap roles). */
export const DEFAULT_NODE_TOKEN_GROUP = 'system:bootstrappers:kubeadm:default-node-token';
export const EXTRA_GROUP_RE = /^system:bootstrappers:[a-z0-9:-]{0,255}[a-z0-9]$/;
export const USER_PREFIX = 'system:bootstrap:';

/** The kube-public ConfigMap joining nodes discover the cluster from, and the key prefix of its signatures. */
export const CLUSTER_INFO = 'cluster-info';
export const CLUSTER_INFO_NAMESPACE = 'kube-public';
export const KUBECONFIG_KEY = 'kubeconfig';
export const JWS_KEY_PREFIX = 'jws-kubeconfig-';

export interface BootstrapToken {
  id: string;
  secret: string;
  expiration?: Date;
  description?: string;
  usages: string[];
  extraGroups: string[];
}

const ALPHABET = 'abcdefghijklmnopqrstuvwxyz0123456789';

function randomString(n: number): string {
  let s = '';
  for (let i = 0; i < n; i++) s += ALPHABET[randomInt(ALPHABET.length)];
  return s;
}

/** A fresh random token, as `kubeadm token generate`. */
export function generateToken(): { id: string; secret: string } {
  return { id: randomString(6), secret: randomString(16) };
}

export function parseToken(token: string): { id: string; secret: string } | undefined {
  const m = TOKEN_RE.exec(token);
  return m ? { id: m[1], secret: m[2] } : undefined;
}

function b64(s: string): string {
  return Buffer.from(s, 'utf8').toString('base64');
}

/** The Secret kubeadm writes for a token. */
export function tokenSecret(t: BootstrapToken): KubeObject {
  const data: Record<string, string> = { 'token-id': b64(t.id), 'token-secret': b64(t.secret) };
  if (t.description) data.description = b64(t.description);
  if (t.expiration) data.expiration = b64(t.expiration.toISOString().replace(/\.\d{3}Z$/, 'Z'));
  for (const u of t.usages) data[`usage-bootstrap-${u}`] = b64('true');
  if (t.extraGroups.length > 0) data['auth-extra-groups'] = b64(t.extraGroups.join(','));
  return { apiVersion: 'v1', kind: 'Secret', metadata: { name: SECRET_PREFIX + t.id, namespace: TOKEN_NAMESPACE }, type: SECRET_TYPE, data };
}

function field(secret: KubeObject, key: string): string {
  const data = secret.data as Record<string, unknown> | undefined;
  const v = data?.[key];
  if (typeof v === 'string') return Buffer.from(v, 'base64').toString('utf8');
  const sd = (secret as { stringData?: Record<string, unknown> }).stringData?.[key];
  return typeof sd === 'string' ? sd : '';
}

/**
 * A token Secret read back; undefined when it is not one (wrong type or name, id or secret
 * malformed, or the name does not match the id), as upstream ignores such Secrets.
 */
export function readTokenSecret(secret: KubeObject): BootstrapToken | undefined {
  if (secret.type !== SECRET_TYPE) return undefined;
  const id = field(secret, 'token-id');
  const tokenSecretValue = field(secret, 'token-secret');
  if (!/^[a-z0-9]{6}$/.test(id) || !/^[a-z0-9]{16}$/.test(tokenSecretValue)) return undefined;
  if (secret.metadata?.name !== SECRET_PREFIX + id) return undefined;
  const exp = field(secret, 'expiration');
  const usages: string[] = [];
  for (const key of Object.keys({ ...(secret.data as object), ...((secret as { stringData?: object }).stringData ?? {}) })) {
    if (key.startsWith('usage-bootstrap-') && field(secret, key) === 'true') usages.push(key.slice('usage-bootstrap-'.length));
  }
  const groups = field(secret, 'auth-extra-groups');
  return {
    id,
    secret: tokenSecretValue,
    // An unparseable expiration counts as expired (upstream refuses such a token).
    expiration: exp ? new Date(Number.isNaN(Date.parse(exp)) ? 0 : Date.parse(exp)) : undefined,
    description: field(secret, 'description') || undefined,
    usages,
    extraGroups: groups ? groups.split(',').map((g) => g.trim()).filter(Boolean) : [],
  };
}

export function isExpired(t: BootstrapToken, now: number): boolean {
  return t.expiration !== undefined && t.expiration.getTime() <= now;
}

export function secretsEqual(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

function base64url(b: Buffer | string): string {
  return Buffer.from(b).toString('base64url');
}

/**
 * A detached JWS (RFC 7515 appendix F) of `content`, HS256 keyed with the token secret and the
 * token id as `kid`: `<header>..<signature>`, what upstream's bootstrap signer puts in cluster-info.
 */
export function computeDetachedSignature(content: string, id: string, secret: string): string {
  // go-jose writes the protected header's keys sorted.
  const header = base64url(JSON.stringify({ alg: 'HS256', kid: id }));
  const payload = base64url(content);
  const sig = createHmac('sha256', secret).update(`${header}.${payload}`).digest();
  return `${header}..${base64url(sig)}`;
}

export function detachedSignatureIsValid(signature: string, content: string, id: string, secret: string): boolean {
  return secretsEqual(signature, computeDetachedSignature(content, id, secret));
}
