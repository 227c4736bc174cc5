/**
 * Service account issuer discovery (pkg/serviceaccount/openidmetadata.go, pkg/routes/
 * openidmetadata.go): `/.well-known/openid-configuration` and `/openid/v1/jwks`, so relying parties
 * outside the cluster can verify projected tokens as OIDC ID tokens. Both documents are rendered
 * once; the keys never change while the server runs.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { VerificationKey } from './jwt.js';

export const OPENID_CONFIG_PATH = '/.well-known/openid-configuration';
export const JWKS_PATH = '/openid/v1/jwks';
/** The cache age upstream sends for static keys (GetCacheAgeMaxSeconds). */
const MAX_AGE_SECONDS = 3600;

export interface JsonWebKey {
  use: 'sig';
  kty: string;
  kid: string;
  crv?: string;
  alg: string;
  x?: string;
  y?: string;
  n?: string;
  e?: string;
}

/** go-jose's JSON for a public key: use, kty, kid, crv, alg, x, y, n, e (in that order). */
export function jsonWebKey(k: VerificationKey): JsonWebKey {
  const jwk = k.publicKey.export({ format: 'jwk' }) as Record<string, string>;
  if (jwk.kty === 'RSA') return { use: 'sig', kty: 'RSA', kid: k.kid, alg: k.alg, n: jwk.n, e: jwk.e };
  return { use: 'sig', kty: jwk.kty, kid: k.kid, crv: jwk.crv, alg: k.alg, x: jwk.x, y: jwk.y };
}

export function openIdConfiguration(issuer: string, jwksUri: string, keys: readonly VerificationKey[]): object {
  return {
    issuer,
    jwks_uri: jwksUri,
    response_types_supported: ['id_token'],
    subject_types_supported: ['public'],
    id_token_signing_alg_values_supported: [...new Set(keys.map((k) => k.alg))].sort(),
  };
}

export function keySet(keys: readonly VerificationKey[]): object {
  return { keys: keys.map(jsonWebKey) };
}

export interface DiscoveryOptions {
  issuer: string;
  keys: readonly VerificationKey[];
  /** --service-account-jwks-uri; default https://<the address the request reached>/openid/v1/jwks, as upstream's external address. */
  jwksUri?: string;
}

/** The two handlers, by path. */
export function discoveryHandlers(opts: DiscoveryOptions): Map<string, (req: IncomingMessage, res: ServerResponse) => void> {
  const jwks = JSON.stringify(keySet(opts.keys));
  const configs = new Map<string, string>();
  const send = (res: ServerResponse, contentType: string, body: string) => {
    res.writeHead(200, { 'Content-Type': contentType, 'Cache-Control': `public, max-age=${MAX_AGE_SECONDS}`, 'Content-Length': Buffer.byteLength(body) });
    res.end(res.req?.method === 'HEAD' ? undefined : body);
  };
  return new Map([
    [
      OPENID_CONFIG_PATH,
      (req: IncomingMessage, res: ServerResponse) => {
        const local = req.socket.localAddress ?? '127.0.0.1';
        const host = local.includes(':') ? `[${local}]` : local;
        const uri = opts.jwksUri ?? `https://${host}:${req.socket.localPort ?? 6443}${JWKS_PATH}`;
        let doc = configs.get(uri);
        if (doc === undefined) {
          doc = JSON.stringify(openIdConfiguration(opts.issuer, uri, opts.keys));
          configs.set(uri, doc);
        }
        send(res, 'application/json', doc);
      },
    ],
    [JWKS_PATH, (_req: IncomingMessage, res: ServerResponse) => send(res, 'application/jwk-set+json', jwks)],
  ]);
}
