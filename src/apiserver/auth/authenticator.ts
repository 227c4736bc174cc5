/**
 * Authentication, as upstream's k8s.io/apiserver/pkg/authentication: each request is tried against
 * the cluster's authenticators in order (client certificate, bearer tokens); a request that
 * presents no credentials at all is anonymous. Presenting a credential that fails is a 401, not
 * anonymity.
 */
import type { IncomingMessage } from 'node:http';
import type { UserInfo } from './user.js';

export interface AuthenticationResult {
  user: UserInfo;
  /** Audiences the credential is valid for (tokens); absent means the API server's own. */
  audiences?: string[];
}

/**
 * Verifies one kind of bearer token. Answers undefined for a token that is not of its kind (the
 * next authenticator is asked) and throws an Error for one that is of its kind but invalid, expired
 * or revoked (the request gets a 401). `audiences` are those the caller wants the token to be for
 * (a TokenReview's spec.audiences); absent means the API server's own.
 */
export interface TokenAuthenticator {
  authenticateToken(token: string, audiences?: string[]): Promise<AuthenticationResult | undefined> | AuthenticationResult | undefined;
}

export interface RequestAuthenticator {
  authenticate(req: IncomingMessage): Promise<AuthenticationResult | undefined> | AuthenticationResult | undefined;
}

export const ANONYMOUS_USER: UserInfo = Object.freeze({ name: 'system:anonymous', groups: ['system:unauthenticated'] }) as UserInfo;
