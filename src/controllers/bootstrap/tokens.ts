/** The token Secrets the bootstrap controllers follow: kube-system, type bootstrap.kubernetes.io/token. */
import type { ResourceRef } from '../../client/interface.js';
import type { ControllerContext } from '../context.js';
import type { Informer } from '../../client/informer.js';
import { SECRET_TYPE, TOKEN_NAMESPACE } from '../../cluster-bootstrap/token.js';

export const SECRETS: ResourceRef = { group: '', version: 'v1', resource: 'secrets' };
export const CONFIG_MAPS: ResourceRef = { group: '', version: 'v1', resource: 'configmaps' };

export function tokenSecretInformer(ctx: ControllerContext): Informer {
  return ctx.informers.informer(SECRETS, { namespace: TOKEN_NAMESPACE, fieldSelector: `type=${SECRET_TYPE}` });
}

/** Timers longer than ~24.8 days overflow; a token further out than a day is looked at again daily. */
export const MAX_WAIT_MS = 24 * 3600_000;
