/**
 * Bootstrap token authentication (upstream's plugin/pkg/auth/authenticator/token/bootstrap): a
 * bearer token `<id>.<secret>` names the Secret `bootstrap-token-<id>` in kube-system; it
 * authenticates as `system:bootstrap:<id>` in `system:bootstrappers` and the token's
 * auth-extra-groups while the Secret says usage-bootstrap-authentication and has not expired.
 *
 * Tokens are read from the watch cache (a map kept in step with it), never from the store.
 */
import type { WatchCache } from '../watch-cache.js';
import type { AuthenticationResult, TokenAuthenticator } from './authenticator.js';
import {
  BOOTSTRAPPERS_GROUP,
  EXTRA_GROUP_RE,
  isExpired,
  parseToken,
  readTokenSecret,
  secretsEqual,
  SECRET_PREFIX,
  TOKEN_NAMESPACE,
  USER_PREFIX,
  type BootstrapToken,
} from '../../cluster-bootstrap/token.js';

const SECRETS_PREFIX = '/registry/secrets/';

export class BootstrapTokenAuthenticator implements TokenAuthenticator {
  private readonly tokens = new Map<string, BootstrapToken>();
  private watching = false;

  constructor(
    private readonly cache: WatchCache,
    private readonly now: () => number = Date.now,
  ) {}

  /** Follows the token Secrets; done on first use, when the watch cache is sure to be filled. */
  private follow(): void {
    if (this.watching) return;
    this.watching = true;
    this.cache.watch(
      SECRETS_PREFIX,
      {
        keyPrefix: `${SECRETS_PREFIX}${TOKEN_NAMESPACE}/${SECRET_PREFIX}`,
        matches: () => true,
        onEvent: (type, ev) => {
          const name = String(ev.obj.metadata?.name ?? '');
          const id = name.slice(SECRET_PREFIX.length);
          // A Secret being deleted no longer authenticates (upstream checks DeletionTimestamp).
          const token = type === 'DELETED' || ev.obj.metadata?.deletionTimestamp ? undefined : readTokenSecret(ev.obj);
          if (token) this.tokens.set(id, token);
          else this.tokens.delete(id);
        },
      },
      undefined,
    );
  }

  authenticateToken(bearer: string): AuthenticationResult | undefined {
    const parts = parseToken(bearer);
    if (!parts) return undefined;
    this.follow();
    const token = this.tokens.get(parts.id);
    if (!token || !secretsEqual(token.secret, parts.secret)) throw new Error('invalid bootstrap token');
    if (isExpired(token, this.now())) throw new Error(`bootstrap token ${parts.id} has expired`);
    if (!token.usages.includes('authentication')) throw new Error(`bootstrap token ${parts.id} is not usable for authentication`);
    const extra = token.extraGroups;
    if (extra.some((g) => !EXTRA_GROUP_RE.test(g))) throw new Error(`bootstrap token ${parts.id} has invalid auth-extra-groups`);
    return { user: { name: USER_PREFIX + parts.id, groups: [BOOTSTRAPPERS_GROUP, ...extra, 'system:authenticated'] } };
  }
}
