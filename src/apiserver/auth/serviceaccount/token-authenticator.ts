/**
 * The service account token authenticator, after upstream's pkg/serviceaccount (jwt.go, claims.go,
 * legacy.go): a JWT whose issuer is ours, signed by one of our keys, meant for one of the
 * requested audiences, inside its validity window (one minute of leeway, as go-jose), whose
 * service account — and pod, secret or node it is bound to — still exist with the UIDs it names.
 * Secret-based (legacy) tokens are valid while their Secret exists, still holds that very token,
 * and their account exists.
 *
 * Verifying an RSA signature costs ~20 µs; a token seen a moment ago is not verified again (its
 * decoded claims are kept for a few seconds), but the existence checks run on every use: they
 * are watch-cache lookups, and a deleted account must be refused at once.
 */
import type { KubeObject } from '../../../api/types.js';
import type { AuthenticationResult, TokenAuthenticator } from '../authenticator.js';
import {
  credentialIdForJti,
  LEGACY_ISSUER,
  SERVICE_ACCOUNT_UID_ANNOTATION,
  serviceAccountUser,
  splitUsername,
  type KubernetesClaims,
  type ServiceAccountInfo,
} from './claims.js';
import { parseJwt, verifyJwt, type ParsedJwt, type VerificationKey } from './jwt.js';
import type { BoundObjects } from './objects.js';

/** go-jose's jwt.DefaultLeeway, also upstream's grace for objects deleted a moment ago. */
const LEEWAY_SECONDS = 60;

export interface ServiceAccountTokenAuthenticatorOptions {
  keys: readonly VerificationKey[];
  /** Issuers of bound tokens accepted (the first is the one tokens are issued with). */
  issuers: readonly string[];
  /** The API server's audiences: what a request is for when it names none (--api-audiences). */
  audiences: readonly string[];
  objects: BoundObjects;
  /** Accept secret-based tokens (issuer kubernetes/serviceaccount); default true. */
  legacy?: boolean;
  /** Milliseconds since the epoch. */
  now?: () => number;
  /** How long a verified signature is remembered (default 10 s). */
  verifiedTtlMs?: number;
  /** At most this many remembered tokens (default 10,000). */
  verifiedMax?: number;
}

interface Verified {
  jwt: ParsedJwt;
  legacy: boolean;
  until: number;
}

/** Go's %q of a []string: ["a" "b"]. */
function quoteList(xs: readonly string[]): string {
  return `[${xs.map((x) => JSON.stringify(x)).join(' ')}]`;
}

function deletedBefore(o: KubeObject, limitMs: number): boolean {
  const ts = o.metadata?.deletionTimestamp;
  return typeof ts === 'string' && Date.parse(ts) < limitMs;
}

function str(v: unknown): string {
  return typeof v === 'string' ? v : '';
}

function refOf(v: unknown): { name: string; uid: string } | undefined {
  if (!v || typeof v !== 'object') return undefined;
  const r = v as Record<string, unknown>;
  return { name: str(r.name), uid: str(r.uid) };
}

export class ServiceAccountTokenAuthenticator implements TokenAuthenticator {
  private readonly issuers: Set<string>;
  private readonly verified = new Map<string, Verified>();
  private readonly now: () => number;
  private readonly ttl: number;
  private readonly max: number;

  constructor(private readonly opts: ServiceAccountTokenAuthenticatorOptions) {
    this.issuers = new Set(opts.issuers);
    this.now = opts.now ?? Date.now;
    this.ttl = opts.verifiedTtlMs ?? 10_000;
    this.max = opts.verifiedMax ?? 10_000;
  }

  authenticateToken(token: string, audiences?: string[]): AuthenticationResult | undefined {
    const now = this.now();
    const v = this.verify(token, now);
    if (!v) return undefined;
    const payload = v.jwt.payload;
    // Legacy tokens carry no audience: they are for the API server's own.
    const tokenAuds = v.legacy ? [...this.opts.audiences] : audiencesOf(payload.aud);
    const wanted = audiences && audiences.length > 0 ? audiences : this.opts.audiences;
    const auds = tokenAuds.filter((a) => wanted.includes(a));
    if (auds.length === 0 && this.opts.audiences.length > 0) {
      throw new Error(`token audiences ${quoteList(tokenAuds)} is invalid for the target audiences ${quoteList(wanted)}`);
    }
    const info = v.legacy ? this.validateLegacy(token, payload) : this.validateBound(payload, now);
    return { user: serviceAccountUser(info), audiences: auds };
  }

  /** The token's decoded claims once its issuer and signature check out; undefined when it is not ours. */
  private verify(token: string, now: number): Verified | undefined {
    const hit = this.verified.get(token);
    if (hit && hit.until > now) return hit;
    const jwt = parseJwt(token);
    if (!jwt) return undefined;
    const iss = jwt.payload.iss;
    const legacy = iss === LEGACY_ISSUER;
    if (legacy ? this.opts.legacy === false : typeof iss !== 'string' || !this.issuers.has(iss)) return undefined;
    verifyJwt(jwt, this.opts.keys);
    const v: Verified = { jwt, legacy, until: now + this.ttl };
    if (hit) this.verified.delete(token);
    else if (this.verified.size >= this.max) this.verified.delete(this.verified.keys().next().value!);
    this.verified.set(token, v);
    return v;
  }

  private validateBound(payload: Record<string, unknown>, nowMs: number): ServiceAccountInfo {
    const now = nowMs / 1000;
    const exp = payload.exp;
    const nbf = payload.nbf;
    const iat = payload.iat;
    if (typeof exp === 'number' && now - LEEWAY_SECONDS > exp) throw new Error('service account token has expired');
    if (typeof nbf === 'number' && now + LEEWAY_SECONDS < nbf) throw new Error('service account token is not valid yet');
    if (typeof iat === 'number' && now + LEEWAY_SECONDS < iat) throw new Error('service account token is issued in the future');
    const k8s = (payload['kubernetes.io'] ?? {}) as Partial<KubernetesClaims>;
    const namespace = str(k8s.namespace);
    const sa = refOf(k8s.serviceaccount) ?? { name: '', uid: '' };
    const podRef = refOf(k8s.pod);
    const secretRef = refOf(k8s.secret);
    const nodeRef = refOf(k8s.node);
    if (!namespace || !sa.name) throw new Error('service account token claims are incomplete');
    const deletedLimit = nowMs - LEEWAY_SECONDS * 1000;
    const objects = this.opts.objects;

    const account = objects.serviceAccount(namespace, sa.name);
    if (!account) throw new Error(`serviceaccounts "${sa.name}" not found`);
    if (deletedBefore(account, deletedLimit)) throw new Error(`service account ${namespace}/${sa.name} has been deleted`);
    if (account.metadata?.uid !== sa.uid) throw new Error(`service account UID (${account.metadata?.uid ?? ''}) does not match claim (${sa.uid})`);

    if (secretRef) {
      const secret = objects.secret(namespace, secretRef.name);
      if (!secret) throw new Error(`secrets "${secretRef.name}" not found`);
      if (deletedBefore(secret, deletedLimit)) throw new Error(`secret ${namespace}/${secretRef.name} has been deleted`);
      if (secret.metadata?.uid !== secretRef.uid) throw new Error(`secret UID (${secret.metadata?.uid ?? ''}) does not match service account secret ref claim (${secretRef.uid})`);
    }
    const info: ServiceAccountInfo = { namespace, name: sa.name, uid: sa.uid, credentialId: credentialIdForJti(str(payload.jti)) };
    if (podRef) {
      const pod = objects.pod(namespace, podRef.name);
      if (!pod) throw new Error(`pods "${podRef.name}" not found`);
      if (deletedBefore(pod, deletedLimit)) throw new Error(`pod ${namespace}/${podRef.name} has been deleted`);
      if (pod.metadata?.uid !== podRef.uid) throw new Error(`pod UID (${pod.metadata?.uid ?? ''}) does not match service account pod ref claim (${podRef.uid})`);
      info.podName = podRef.name;
      info.podUID = podRef.uid;
    }
    if (nodeRef) {
      // A pod-bound token only names its pod's node; a node-bound one needs the node itself.
      if (!podRef && !secretRef) {
        const node = objects.node(nodeRef.name);
        if (!node) throw new Error(`nodes "${nodeRef.name}" not found`);
        if (deletedBefore(node, deletedLimit)) throw new Error(`node ${nodeRef.name} has been deleted`);
        if (node.metadata?.uid !== nodeRef.uid) throw new Error(`node UID (${node.metadata?.uid ?? ''}) does not match service account node ref claim (${nodeRef.uid})`);
      }
      if (!secretRef) {
        info.nodeName = nodeRef.name;
        info.nodeUID = nodeRef.uid;
      }
    }
    return info;
  }

  private validateLegacy(token: string, payload: Record<string, unknown>): ServiceAccountInfo {
    const sub = str(payload.sub);
    const namespace = str(payload['kubernetes.io/serviceaccount/namespace']);
    const secretName = str(payload['kubernetes.io/serviceaccount/secret.name']);
    const saName = str(payload['kubernetes.io/serviceaccount/service-account.name']);
    const saUid = str(payload['kubernetes.io/serviceaccount/service-account.uid']);
    if (!sub) throw new Error('sub claim is missing');
    if (!namespace) throw new Error('namespace claim is missing');
    if (!secretName) throw new Error('secretName claim is missing');
    if (!saName) throw new Error('serviceAccountName claim is missing');
    if (!saUid) throw new Error('serviceAccountUID claim is missing');
    const split = splitUsername(sub);
    if (!split || split[0] !== namespace || split[1] !== saName) throw new Error('sub claim is invalid');

    const secret = this.opts.objects.secret(namespace, secretName);
    if (!secret || secret.metadata?.deletionTimestamp) throw new Error('Token has been invalidated');
    const stored = typeof secret.data?.token === 'string' ? Buffer.from(secret.data.token, 'base64').toString('utf8') : '';
    if (stored !== token) throw new Error("Token does not match server's copy");
    if (secret.metadata?.annotations?.[SERVICE_ACCOUNT_UID_ANNOTATION] !== undefined && secret.metadata.annotations[SERVICE_ACCOUNT_UID_ANNOTATION] !== saUid) {
      throw new Error('Token has been invalidated');
    }
    const account = this.opts.objects.serviceAccount(namespace, saName);
    if (!account) throw new Error(`serviceaccounts "${saName}" not found`);
    if (account.metadata?.deletionTimestamp) throw new Error(`ServiceAccount ${namespace}/${saName} has been deleted`);
    if (account.metadata?.uid !== saUid) throw new Error(`ServiceAccount UID (${account.metadata?.uid ?? ''}) does not match claim (${saUid})`);
    return { namespace, name: saName, uid: saUid };
  }
}

function audiencesOf(aud: unknown): string[] {
  if (typeof aud === 'string') return [aud];
  if (Array.isArray(aud)) return aud.filter((a): a is string => typeof a === 'string');
  return [];
}

