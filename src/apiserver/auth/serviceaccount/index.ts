/**
 * Service account tokens on one API server: the TokenRequest subresource, the token authenticator
 * (bound and legacy tokens), and issuer discovery — what kube-apiserver's --service-account-*
 * flags switch on together.
 */
import type { KubeObject } from '../../../api/types.js';
import { errors } from '../../../api/errors.js';
import type { ApiServer } from '../../server.js';
import { DEFAULT_ISSUER } from './claims.js';
import { TokenIssuer } from './issuer.js';
import { verificationKeyFrom } from './jwt.js';
import { watchCacheObjects } from './objects.js';
import { discoveryHandlers } from './oidc.js';
import { ServiceAccountTokenAuthenticator } from './token-authenticator.js';
import { tokenRequestHandler, type ObjectReader } from './token-request.js';
import { admitNodeTokenRequest } from '../../admission/node-restriction.js';

export { TokenIssuer } from './issuer.js';
export { ServiceAccountTokenAuthenticator } from './token-authenticator.js';
export * from './claims.js';

export interface ServiceAccountTokenOptions {
  /** PEM private key tokens are signed with (sa.key). */
  privateKey: string;
  /** Further PEM public keys whose tokens are accepted (--service-account-key-file, e.g. an old key). */
  publicKeys?: string[];
  /** --service-account-issuer (default https://kubernetes.default.svc.cluster.local). */
  issuer?: string;
  /** --api-audiences (default: the issuer). */
  audiences?: string[];
  /** --service-account-max-token-expiration in seconds (default none). */
  maxExpirationSeconds?: number;
  /** --service-account-extend-token-expiration (default true). */
  extendExpiration?: boolean;
  /** --service-account-jwks-uri. */
  jwksUri?: string;
  /** Milliseconds since the epoch (tests). */
  now?: () => number;
}

export interface ServiceAccountTokens {
  issuer: TokenIssuer;
  authenticator: ServiceAccountTokenAuthenticator;
}

/** Registers TokenRequest, the token authenticator and issuer discovery on `server`. */
export function installServiceAccountTokens(server: ApiServer, opts: ServiceAccountTokenOptions): ServiceAccountTokens {
  const issuer = new TokenIssuer({ privateKey: opts.privateKey, issuer: opts.issuer });
  const keys = [issuer.verificationKey, ...(opts.publicKeys ?? []).map((k) => verificationKeyFrom(k))];
  const uniqueKeys = keys.filter((k, i) => keys.findIndex((o) => o.kid === k.kid) === i);
  const audiences = opts.audiences && opts.audiences.length > 0 ? [...opts.audiences] : [opts.issuer ?? DEFAULT_ISSUER];
  server.apiAudiences = audiences;

  const authenticator = new ServiceAccountTokenAuthenticator({
    keys: uniqueKeys,
    issuers: [issuer.issuer],
    audiences,
    objects: watchCacheObjects(server.cache),
    now: opts.now,
  });
  server.tokenAuthenticators.push(authenticator);

  const cached = watchCacheObjects(server.cache);
  // The watch cache first; an object created a moment ago may not be there yet, so the store decides a miss.
  const read: ObjectReader = async (resource, namespace, name) => {
    const hit = resource === 'serviceaccounts' ? cached.serviceAccount(namespace, name) : resource === 'pods' ? cached.pod(namespace, name) : resource === 'secrets' ? cached.secret(namespace, name) : cached.node(name);
    if (hit) return hit;
    const entry = server.registry.lookup('', 'v1', resource);
    if (!entry) throw errors.notFound('', resource, name);
    return (await server.resources.get(entry, namespace, name)).obj as KubeObject;
  };
  const tokenRequest = tokenRequestHandler({ issuer, audiences, read, maxExpirationSeconds: opts.maxExpirationSeconds, extendExpiration: opts.extendExpiration, now: opts.now });
  server.createOnly.register('', 'serviceaccounts', 'token', (req, body) => {
    // Admission of a TokenRequest, as upstream's NodeRestriction: a node asks only for tokens bound to its own pods.
    const request = (body && typeof body === 'object' && !Array.isArray(body) ? body : {}) as KubeObject;
    admitNodeTokenRequest(server.cache, req.user, req.namespace, { ...request, metadata: { ...(request.metadata ?? {}), name: req.name } });
    return tokenRequest(req, body);
  });

  for (const [path, handler] of discoveryHandlers({ issuer: issuer.issuer, keys: uniqueKeys, jwksUri: opts.jwksUri })) server.nonResourceHandlers.set(path, handler);
  return { issuer, authenticator };
}
