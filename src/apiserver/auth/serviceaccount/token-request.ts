/**
 * serviceaccounts/token (TokenRequest), after upstream's pkg/registry/core/serviceaccount/storage/
 * token.go: a token for an existing service account, for the requested audiences (default: the
 * API server's), for expirationSeconds (default 3600, at least 10 minutes, at most 2^32 s and the
 * configured maximum), optionally bound to a Pod, Secret or Node that must exist with the given
 * UID. A pod-bound token for the API server of exactly 3607 s (what the kubelet asks for) lives a
 * year, with `warnafter` at the requested expiry (--service-account-extend-token-expiration).
 */
import type { KubeObject } from '../../../api/types.js';
import { ApiError, causes, errors } from '../../../api/errors.js';
import type { CreateOnlyHandler } from '../../create-only.js';
import { boundClaims, EXPIRATION_EXTENSION_SECONDS, WARN_ONLY_BOUND_TOKEN_EXPIRATION_SECONDS } from './claims.js';
import type { TokenIssuer } from './issuer.js';

const MIN_EXPIRATION_SECONDS = 10 * 60;
const MAX_EXPIRATION_SECONDS = 2 ** 32;
const DEFAULT_EXPIRATION_SECONDS = 60 * 60;

/** Reads an object, from the watch cache first (a missing one is a 404 ApiError). */
export type ObjectReader = (resource: 'serviceaccounts' | 'pods' | 'secrets' | 'nodes', namespace: string, name: string) => Promise<KubeObject>;

export interface TokenRequestOptions {
  issuer: TokenIssuer;
  audiences: readonly string[];
  read: ObjectReader;
  /** --service-account-max-token-expiration in seconds; 0 for none (default). */
  maxExpirationSeconds?: number;
  /** --service-account-extend-token-expiration (default true). */
  extendExpiration?: boolean;
  /** Milliseconds since the epoch. */
  now?: () => number;
}

const GROUP = 'authentication.k8s.io';
const KIND = 'TokenRequest';

function invalid(name: string, cause: ReturnType<typeof causes.invalid>): ApiError {
  return errors.invalid(GROUP, KIND, name, [cause]);
}

/** RFC 3339 at second precision, as metav1.Time serializes. */
function rfc3339(ms: number): string {
  return new Date(Math.floor(ms / 1000) * 1000).toISOString().replace('.000Z', 'Z');
}

export function tokenRequestHandler(opts: TokenRequestOptions): CreateOnlyHandler {
  const now = opts.now ?? Date.now;
  return async (req, raw) => {
    const body = (raw && typeof raw === 'object' && !Array.isArray(raw) ? raw : {}) as KubeObject;
    const name = req.name;
    const namespace = req.namespace;
    if (!namespace) throw errors.badRequest('namespace is required');
    if (body.kind !== undefined && body.kind !== KIND) throw errors.badRequest(`the body of the request must be a ${KIND}, not ${String(body.kind)}`);
    const meta = (body.metadata && typeof body.metadata === 'object' ? body.metadata : {}) as Record<string, unknown>;
    if (meta.name && meta.name !== name) throw invalid(name, causes.invalid('metadata.name', meta.name, 'must match the service account name if specified'));
    if (meta.namespace && meta.namespace !== namespace) throw invalid(name, causes.invalid('metadata.namespace', meta.namespace, 'must match the service account namespace if specified'));
    const spec = (body.spec && typeof body.spec === 'object' && !Array.isArray(body.spec) ? { ...body.spec } : {}) as Record<string, any>;

    const sa = await opts.read('serviceaccounts', namespace, name);

    if (spec.audiences !== undefined && spec.audiences !== null && (!Array.isArray(spec.audiences) || spec.audiences.some((a: unknown) => typeof a !== 'string'))) {
      throw invalid('', causes.typeInvalid('spec.audiences', spec.audiences, 'must be a list of strings'));
    }
    if (!Array.isArray(spec.audiences) || spec.audiences.length === 0) spec.audiences = [...opts.audiences];
    if (spec.expirationSeconds === undefined || spec.expirationSeconds === null) spec.expirationSeconds = DEFAULT_EXPIRATION_SECONDS;
    if (typeof spec.expirationSeconds !== 'number' || !Number.isInteger(spec.expirationSeconds)) {
      throw invalid('', causes.typeInvalid('spec.expirationSeconds', spec.expirationSeconds, 'must be an integer'));
    }
    const issuedAt = now();
    const problems = [];
    if (spec.expirationSeconds < MIN_EXPIRATION_SECONDS) problems.push(causes.invalid('spec.expirationSeconds', spec.expirationSeconds, 'may not specify a duration less than 10 minutes'));
    if (spec.expirationSeconds > MAX_EXPIRATION_SECONDS) problems.push(causes.invalid('spec.expirationSeconds', spec.expirationSeconds, 'may not specify a duration larger than 2^32 seconds'));
    if (problems.length > 0) throw errors.invalid(GROUP, KIND, '', problems);

    let pod: KubeObject | undefined;
    let secret: KubeObject | undefined;
    let node: KubeObject | undefined;
    const ref = spec.boundObjectRef;
    if (ref !== undefined && ref !== null) {
      if (typeof ref !== 'object' || Array.isArray(ref)) throw invalid('', causes.typeInvalid('spec.boundObjectRef', ref, 'must be an object'));
      const apiVersion = typeof ref.apiVersion === 'string' ? ref.apiVersion : '';
      const slash = apiVersion.lastIndexOf('/');
      const group = slash === -1 ? '' : apiVersion.slice(0, slash);
      const version = slash === -1 ? apiVersion : apiVersion.slice(slash + 1);
      const kind = typeof ref.kind === 'string' ? ref.kind : '';
      const refName = typeof ref.name === 'string' ? ref.name : '';
      let uid: string | undefined;
      if (group === '' && kind === 'Pod') {
        pod = await opts.read('pods', namespace, refName);
        if (name !== pod.spec?.serviceAccountName) {
          throw errors.badRequest(`cannot bind token for serviceaccount "${name}" to pod running with different serviceaccount name.`);
        }
        uid = pod.metadata?.uid;
        const nodeName = pod.spec?.nodeName;
        if (typeof nodeName === 'string' && nodeName) node = await opts.read('nodes', '', nodeName).catch(() => undefined);
      } else if (group === '' && kind === 'Node') {
        node = await opts.read('nodes', '', refName);
        uid = node.metadata?.uid;
      } else if (group === '' && kind === 'Secret') {
        secret = await opts.read('secrets', namespace, refName);
        uid = secret.metadata?.uid;
      } else {
        throw errors.badRequest(`cannot bind token for serviceaccount "${name}" to object of type ${group}/${version}, Kind=${kind}`);
      }
      if (ref.uid && uid !== ref.uid) {
        throw errors.conflict(
          '',
          kind,
          refName,
          `the UID in the bound object reference (${String(ref.uid)}) does not match the UID in record. The object might have been deleted and then recreated`,
        );
      }
    }

    const max = opts.maxExpirationSeconds ?? 0;
    if (max > 0 && spec.expirationSeconds > max) {
      // Upstream also warns "requested expiration of N seconds shortened to M seconds"; create-only
      // handlers have no way to send Warning headers yet.
      spec.expirationSeconds = max;
    }
    let lifetime: number = spec.expirationSeconds;
    let warnAfter = 0;
    const forApiServer = (spec.audiences as string[]).every((a) => opts.audiences.includes(a));
    if ((opts.extendExpiration ?? true) && pod && spec.expirationSeconds === WARN_ONLY_BOUND_TOKEN_EXPIRATION_SECONDS && forApiServer) {
      warnAfter = lifetime;
      lifetime = EXPIRATION_EXTENSION_SECONDS;
    }
    const seconds = Math.floor(issuedAt / 1000);
    const claims = boundClaims({
      issuer: opts.issuer.issuer,
      serviceAccount: sa,
      pod,
      secret,
      node,
      audiences: spec.audiences,
      expirationSeconds: lifetime,
      warnAfterSeconds: warnAfter,
      now: seconds,
    });
    const token = opts.issuer.sign(claims);
    return {
      kind: KIND,
      apiVersion: `${GROUP}/v1`,
      metadata: { name, namespace, creationTimestamp: rfc3339(issuedAt) },
      spec,
      // The status tells the requested lifetime, never the extension (upstream: ExpirationSeconds, not exp).
      status: { token, expirationTimestamp: rfc3339(issuedAt + spec.expirationSeconds * 1000) },
    };
  };
}
