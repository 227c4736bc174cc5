/**
 * The claims of service account tokens, as upstream's pkg/serviceaccount (claims.go, legacy.go)
 * writes them, and the user a verified token stands for (k8s.io/apiserver/pkg/authentication/
 * serviceaccount). Keys are emitted in the order go-jose produces (sorted), so our tokens decode
 * to the same JSON as kube-apiserver's.
 */
import { randomUUID } from 'node:crypto';
import type { KubeObject } from '../../../api/types.js';
import type { UserInfo } from '../user.js';

/** kube-apiserver's --service-account-issuer as kubeadm sets it; also the default API audience. */
export const DEFAULT_ISSUER = 'https://kubernetes.default.svc.cluster.local';
/** The issuer of secret-based (legacy) tokens. */
export const LEGACY_ISSUER = 'kubernetes/serviceaccount';
/** Projected tokens the kubelet asks for with this lifetime are the ones extended (token.WarnOnlyBoundTokenExpirationSeconds). */
export const WARN_ONLY_BOUND_TOKEN_EXPIRATION_SECONDS = 3607;
/** What such tokens are extended to (token.ExpirationExtensionSeconds: a year). */
export const EXPIRATION_EXTENSION_SECONDS = 365 * 24 * 60 * 60;

export const SERVICE_ACCOUNT_USERNAME_PREFIX = 'system:serviceaccount:';
export const ALL_SERVICE_ACCOUNTS_GROUP = 'system:serviceaccounts';
export const SERVICE_ACCOUNT_GROUP_PREFIX = 'system:serviceaccounts:';
export const AUTHENTICATED_GROUP = 'system:authenticated';

export const POD_NAME_EXTRA = 'authentication.kubernetes.io/pod-name';
export const POD_UID_EXTRA = 'authentication.kubernetes.io/pod-uid';
export const NODE_NAME_EXTRA = 'authentication.kubernetes.io/node-name';
export const NODE_UID_EXTRA = 'authentication.kubernetes.io/node-uid';
export const CREDENTIAL_ID_EXTRA = 'authentication.kubernetes.io/credential-id';

/** The Secret type, annotations and keys of legacy token Secrets (core/v1 constants). */
export const SERVICE_ACCOUNT_TOKEN_SECRET_TYPE = 'kubernetes.io/service-account-token';
export const SERVICE_ACCOUNT_NAME_ANNOTATION = 'kubernetes.io/service-account.name';
export const SERVICE_ACCOUNT_UID_ANNOTATION = 'kubernetes.io/service-account.uid';

export function makeUsername(namespace: string, name: string): string {
  return `${SERVICE_ACCOUNT_USERNAME_PREFIX}${namespace}:${name}`;
}

/** `system:serviceaccount:<ns>:<name>` → [ns, name]; undefined for anything else. */
export function splitUsername(username: string): [string, string] | undefined {
  if (!username.startsWith(SERVICE_ACCOUNT_USERNAME_PREFIX)) return undefined;
  const parts = username.slice(SERVICE_ACCOUNT_USERNAME_PREFIX.length).split(':');
  if (parts.length !== 2 || !parts[0] || !parts[1]) return undefined;
  return [parts[0], parts[1]];
}

interface Ref {
  name: string;
  uid: string;
}

/** `kubernetes.io` private claims of a bound token. */
export interface KubernetesClaims {
  namespace: string;
  node?: Ref;
  pod?: Ref;
  secret?: Ref;
  serviceaccount: Ref;
  warnafter?: number;
}

export interface BoundClaims {
  aud: string[];
  exp: number;
  iat: number;
  iss: string;
  jti: string;
  'kubernetes.io': KubernetesClaims;
  nbf: number;
  sub: string;
}

export interface LegacyClaims {
  iss: string;
  'kubernetes.io/serviceaccount/namespace': string;
  'kubernetes.io/serviceaccount/secret.name': string;
  'kubernetes.io/serviceaccount/service-account.name': string;
  'kubernetes.io/serviceaccount/service-account.uid': string;
  sub: string;
}

function ref(o: KubeObject): Ref {
  return { name: o.metadata?.name ?? '', uid: o.metadata?.uid ?? '' };
}

export interface BoundClaimsInput {
  issuer: string;
  serviceAccount: KubeObject;
  /** At most one of pod and secret; node alone is a node-bound token, with a pod it is the pod's node. */
  pod?: KubeObject;
  secret?: KubeObject;
  node?: KubeObject;
  audiences: string[];
  expirationSeconds: number;
  /** Seconds after issue when the token counts as stale (extended tokens); 0 for none. */
  warnAfterSeconds?: number;
  /** Issue time in seconds since the epoch. */
  now: number;
}

/** token.Claims: what a TokenRequest's token says. */
export function boundClaims(i: BoundClaimsInput): BoundClaims {
  const k8s: KubernetesClaims = { namespace: i.serviceAccount.metadata?.namespace ?? '', serviceaccount: ref(i.serviceAccount) };
  if (i.pod) {
    k8s.pod = ref(i.pod);
    if (i.node) k8s.node = ref(i.node);
  } else if (i.secret) {
    k8s.secret = ref(i.secret);
  } else if (i.node) {
    k8s.node = ref(i.node);
  }
  if (i.warnAfterSeconds) k8s.warnafter = i.now + i.warnAfterSeconds;
  // go-jose's map serialization sorts keys, inner struct fields keep their Go order.
  const ordered: KubernetesClaims = { namespace: k8s.namespace, ...(k8s.node ? { node: k8s.node } : {}), ...(k8s.pod ? { pod: k8s.pod } : {}), ...(k8s.secret ? { secret: k8s.secret } : {}), serviceaccount: k8s.serviceaccount, ...(k8s.warnafter ? { warnafter: k8s.warnafter } : {}) };
  return {
    aud: i.audiences,
    exp: i.now + i.expirationSeconds,
    iat: i.now,
    iss: i.issuer,
    jti: randomUUID(),
    'kubernetes.io': ordered,
    nbf: i.now,
    sub: makeUsername(k8s.namespace, k8s.serviceaccount.name),
  };
}

/** LegacyClaims: the never-expiring token of a kubernetes.io/service-account-token Secret. */
export function legacyClaims(serviceAccount: KubeObject, secret: KubeObject): LegacyClaims {
  const ns = serviceAccount.metadata?.namespace ?? '';
  const name = serviceAccount.metadata?.name ?? '';
  return {
    iss: LEGACY_ISSUER,
    'kubernetes.io/serviceaccount/namespace': ns,
    'kubernetes.io/serviceaccount/secret.name': secret.metadata?.name ?? '',
    'kubernetes.io/serviceaccount/service-account.name': name,
    'kubernetes.io/serviceaccount/service-account.uid': serviceAccount.metadata?.uid ?? '',
    sub: makeUsername(ns, name),
  };
}

/** What a verified token tells about its bearer (ServiceAccountInfo). */
export interface ServiceAccountInfo {
  namespace: string;
  name: string;
  uid: string;
  podName?: string;
  podUID?: string;
  nodeName?: string;
  nodeUID?: string;
  credentialId?: string;
}

/** ServiceAccountInfo.UserInfo plus the authenticated group every authenticated request gets. */
export function serviceAccountUser(sa: ServiceAccountInfo): UserInfo {
  const user: UserInfo = {
    name: makeUsername(sa.namespace, sa.name),
    uid: sa.uid,
    groups: [ALL_SERVICE_ACCOUNTS_GROUP, SERVICE_ACCOUNT_GROUP_PREFIX + sa.namespace, AUTHENTICATED_GROUP],
  };
  const extra: Record<string, string[]> = {};
  if (sa.podName && sa.podUID) {
    extra[POD_NAME_EXTRA] = [sa.podName];
    extra[POD_UID_EXTRA] = [sa.podUID];
  }
  if (sa.credentialId) extra[CREDENTIAL_ID_EXTRA] = [sa.credentialId];
  if (sa.nodeName) {
    extra[NODE_NAME_EXTRA] = [sa.nodeName];
    if (sa.nodeUID) extra[NODE_UID_EXTRA] = [sa.nodeUID];
  }
  if (Object.keys(extra).length > 0) user.extra = extra;
  return user;
}

/** CredentialIDForJTI. */
export function credentialIdForJti(jti: string): string {
  return jti ? `JTI=${jti}` : '';
}
