/**
 * TokenReview (authentication.k8s.io/v1), after upstream's pkg/registry/authentication/tokenreview:
 * the API server's bearer token authenticators judge `spec.token` for `spec.audiences` (default:
 * the API server's own), and the answer tells who it is, for which audiences, or why not.
 */
import type { KubeObject } from '../../../api/types.js';
import { errors } from '../../../api/errors.js';
import type { CreateOnlyHandler } from '../../create-only.js';
import type { AuthenticationResult, TokenAuthenticator } from '../authenticator.js';

export interface TokenReviewSource {
  readonly tokenAuthenticators: readonly TokenAuthenticator[];
  /** --api-audiences. */
  readonly apiAudiences: readonly string[];
}

function quoteList(xs: readonly string[]): string {
  return `[${xs.map((x) => JSON.stringify(x)).join(' ')}]`;
}

/** utilerrors.NewAggregate's message. */
function aggregate(messages: string[]): string {
  return messages.length === 1 ? messages[0] : `[${messages.join(', ')}]`;
}

export function tokenReviewHandler(server: TokenReviewSource): CreateOnlyHandler {
  return async (req, raw) => {
    const body = (raw && typeof raw === 'object' && !Array.isArray(raw) ? raw : {}) as KubeObject;
    if (req.namespace) throw errors.badRequest(`namespace is not allowed on this type: ${req.namespace}`);
    const spec = (body.spec && typeof body.spec === 'object' && !Array.isArray(body.spec) ? body.spec : {}) as Record<string, unknown>;
    const token = typeof spec.token === 'string' ? spec.token : '';
    if (!token) throw errors.badRequest('token is required for TokenReview in authentication');
    const requested = Array.isArray(spec.audiences) ? spec.audiences.filter((a): a is string => typeof a === 'string') : [];
    const auds = requested.length > 0 ? requested : [...server.apiAudiences];

    const failures: string[] = [];
    let result: AuthenticationResult | undefined;
    for (const a of server.tokenAuthenticators) {
      try {
        result = (await a.authenticateToken(token, auds.length > 0 ? auds : undefined)) ?? undefined;
      } catch (err) {
        failures.push((err as Error).message);
        continue;
      }
      if (result) break;
    }
    const status: Record<string, unknown> = { authenticated: false, user: {} };
    if (result) {
      // Authenticators that know no audiences (bootstrap tokens) are good for the API server's own.
      let granted = result.audiences;
      if (!granted) {
        granted = server.apiAudiences.length === 0 ? auds : auds.filter((a) => server.apiAudiences.includes(a));
        if (granted.length === 0 && auds.length > 0) {
          failures.push(`token audiences ${quoteList(server.apiAudiences)} is invalid for the target audiences ${quoteList(auds)}`);
          result = undefined;
        }
      }
      if (result) {
        if (auds.length > 0 && !(granted ?? []).some((a) => auds.includes(a))) throw errors.internal('error validating audiences');
        const u = result.user;
        status.authenticated = true;
        status.user = { username: u.name, ...(u.uid ? { uid: u.uid } : {}), groups: [...u.groups], ...(u.extra ? { extra: u.extra } : {}) };
        if (granted && granted.length > 0) status.audiences = granted;
      }
    }
    if (!result) status.error = failures.length > 0 ? aggregate(failures) : 'invalid bearer token';
    return {
      kind: 'TokenReview',
      apiVersion: 'authentication.k8s.io/v1',
      metadata: { ...(body.metadata && typeof body.metadata === 'object' ? body.metadata : {}), creationTimestamp: null },
      spec: { ...spec },
      status,
    };
  };
}
