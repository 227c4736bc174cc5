/**
 * Signs service account tokens with the cluster's service account key (pkg/serviceaccount's
 * JWTTokenGenerator): bound tokens for TokenRequest, legacy ones for the token controller.
 */
import { DEFAULT_ISSUER } from './claims.js';
import { signingKeyFrom, signJwt, verificationKeyFrom, type SigningKey, type VerificationKey } from './jwt.js';

export interface TokenIssuerOptions {
  /** PEM private key (sa.key). */
  privateKey: string;
  /** --service-account-issuer (default https://kubernetes.default.svc.cluster.local). */
  issuer?: string;
}

export class TokenIssuer {
  readonly issuer: string;
  private readonly key: SigningKey;

  constructor(opts: TokenIssuerOptions) {
    this.key = signingKeyFrom(opts.privateKey);
    this.issuer = opts.issuer ?? DEFAULT_ISSUER;
  }

  /** The public half, to verify what this issuer signs. */
  get verificationKey(): VerificationKey {
    return verificationKeyFrom(this.key.publicKey);
  }

  sign(claims: object): string {
    return signJwt(this.key, claims);
  }
}
