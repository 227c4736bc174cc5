/**
 * Compact JWS (RFC 7515) signing and verification with node:crypto: just what service account
 * tokens need (RS256 and ES256), no general JOSE library. The key id is upstream's
 * (pkg/serviceaccount keyIDFromPublicKey): base64url of the SHA-256 of the DER (SPKI) public key,
 * so a relying party matches our `kid` against the JWKS exactly as it would against kube-apiserver.
 */
import { createHash, createPrivateKey, createPublicKey, sign, verify, type KeyObject } from 'node:crypto';

export type SigningAlgorithm = 'RS256' | 'ES256';

export interface SigningKey {
  alg: SigningAlgorithm;
  kid: string;
  privateKey: KeyObject;
  publicKey: KeyObject;
}

export interface VerificationKey {
  alg: SigningAlgorithm;
  kid: string;
  publicKey: KeyObject;
}

/** Upstream's key id: base64url(sha256(DER SubjectPublicKeyInfo)). */
export function keyIdOf(publicKey: KeyObject): string {
  return createHash('sha256').update(publicKey.export({ type: 'spki', format: 'der' })).digest('base64url');
}

function algorithmOf(key: KeyObject): SigningAlgorithm {
  if (key.asymmetricKeyType === 'rsa') return 'RS256';
  if (key.asymmetricKeyType === 'ec' && key.asymmetricKeyDetails?.namedCurve === 'prime256v1') return 'ES256';
  throw new Error(`unsupported service account key type ${key.asymmetricKeyType}${key.asymmetricKeyDetails?.namedCurve ? ` (${key.asymmetricKeyDetails.namedCurve})` : ''}: use RSA or ECDSA P-256`);
}

export function signingKeyFrom(privatePem: string): SigningKey {
  const privateKey = createPrivateKey(privatePem);
  const publicKey = createPublicKey(privateKey);
  return { alg: algorithmOf(privateKey), kid: keyIdOf(publicKey), privateKey, publicKey };
}

export function verificationKeyFrom(pem: string | KeyObject): VerificationKey {
  const k = typeof pem === 'string' ? createPublicKey(pem) : pem.type === 'private' ? createPublicKey(pem) : pem;
  return { alg: algorithmOf(k), kid: keyIdOf(k), publicKey: k };
}

function b64url(s: string | Buffer): string {
  return Buffer.from(s).toString('base64url');
}

/** Signs `claims` (serialized as given: callers build them in upstream's key order). */
export function signJwt(key: SigningKey, claims: object): string {
  const input = `${b64url(JSON.stringify({ alg: key.alg, kid: key.kid }))}.${b64url(JSON.stringify(claims))}`;
  const sig = sign('sha256', Buffer.from(input), key.alg === 'ES256' ? { key: key.privateKey, dsaEncoding: 'ieee-p1363' } : key.privateKey);
  return `${input}.${sig.toString('base64url')}`;
}

export interface ParsedJwt {
  header: { alg?: unknown; kid?: unknown; [k: string]: unknown };
  payload: Record<string, unknown>;
  signingInput: string;
  signature: Buffer;
}

const B64URL = /^[A-Za-z0-9_-]*$/;

/** Splits and decodes a compact JWS without checking its signature; undefined when it is not one. */
export function parseJwt(token: string): ParsedJwt | undefined {
  const first = token.indexOf('.');
  const second = token.indexOf('.', first + 1);
  if (first <= 0 || second <= first + 1 || token.indexOf('.', second + 1) !== -1) return undefined;
  const h = token.slice(0, first);
  const p = token.slice(first + 1, second);
  const s = token.slice(second + 1);
  if (!B64URL.test(h) || !B64URL.test(p) || !B64URL.test(s)) return undefined;
  try {
    const header = JSON.parse(Buffer.from(h, 'base64url').toString('utf8'));
    const payload = JSON.parse(Buffer.from(p, 'base64url').toString('utf8'));
    if (!header || typeof header !== 'object' || Array.isArray(header) || !payload || typeof payload !== 'object' || Array.isArray(payload)) return undefined;
    return { header, payload, signingInput: token.slice(0, second), signature: Buffer.from(s, 'base64url') };
  } catch {
    return undefined;
  }
}

/**
 * True when one of `keys` verifies the signature (the key named by `kid` first, as a hint only:
 * upstream tries every key). Throws go-jose's message when none does.
 */
export function verifyJwt(jwt: ParsedJwt, keys: readonly VerificationKey[]): void {
  const alg = jwt.header.alg;
  const ordered = typeof jwt.header.kid === 'string' ? [...keys].sort((a, b) => Number(b.kid === jwt.header.kid) - Number(a.kid === jwt.header.kid)) : keys;
  for (const k of ordered) {
    if (k.alg !== alg) continue;
    const ok = verify('sha256', Buffer.from(jwt.signingInput), k.alg === 'ES256' ? { key: k.publicKey, dsaEncoding: 'ieee-p1363' } : k.publicKey, jwt.signature);
    if (ok) return;
  }
  throw new Error('go-jose/go-jose: error in cryptographic primitive');
}
