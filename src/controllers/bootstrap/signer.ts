/**
 * The bootstrap signer (upstream's pkg/controller/bootstrap BootstrapSigner): the `cluster-info`
 * ConfigMap in kube-public carries, for every unexpired token usable for signing, a detached JWS
 * of its kubeconfig under `jws-kubeconfig-<token id>`, so a joining node that knows a token can
 * trust what it fetched anonymously. Signatures of tokens that are gone or expired are removed.
 */
import { isDeepStrictEqual } from 'node:util';
import type { Informer } from '../../client/informer.js';
import { ApiError } from '../../api/errors.js';
import { InformerController, type ControllerOptions } from '../informer-controller.js';
import type { ControllerContext } from '../context.js';
import { CLUSTER_INFO, CLUSTER_INFO_NAMESPACE, computeDetachedSignature, isExpired, JWS_KEY_PREFIX, KUBECONFIG_KEY, readTokenSecret } from '../../cluster-bootstrap/token.js';
import { CONFIG_MAPS, MAX_WAIT_MS, tokenSecretInformer } from './tokens.js';

const KEY = `${CLUSTER_INFO_NAMESPACE}/${CLUSTER_INFO}`;

export class BootstrapSigner extends InformerController {
  private readonly configMaps: Informer;
  private readonly secrets: Informer;

  constructor(
    private readonly ctx: ControllerContext,
    opts: ControllerOptions = {},
  ) {
    super('bootstrapsigner', { log: ctx.log, ...opts });
    this.configMaps = ctx.informers.informer(CONFIG_MAPS, { namespace: CLUSTER_INFO_NAMESPACE });
    this.secrets = tokenSecretInformer(ctx);
    this.share(this.configMaps, this.secrets);
    const enqueue = () => this.queue.add(KEY);
    this.configMaps
      .onAdd((cm) => cm.metadata?.name === CLUSTER_INFO && enqueue())
      .onUpdate((_o, cm) => cm.metadata?.name === CLUSTER_INFO && enqueue());
    this.secrets.onAdd(enqueue).onUpdate(enqueue).onDelete(enqueue);
  }

  override async reconcile(): Promise<void> {
    const cm = this.configMaps.get(KEY);
    const content = cm?.data?.[KUBECONFIG_KEY];
    if (!cm || typeof content !== 'string') return;
    const now = this.ctx.now();
    const data: Record<string, string> = {};
    for (const [k, v] of Object.entries((cm.data ?? {}) as Record<string, string>)) if (!k.startsWith(JWS_KEY_PREFIX)) data[k] = v;
    let nextExpiry = Infinity;
    for (const secret of this.secrets.list()) {
      const token = readTokenSecret(secret);
      if (!token || !token.usages.includes('signing') || isExpired(token, now) || secret.metadata?.deletionTimestamp) continue;
      data[JWS_KEY_PREFIX + token.id] = computeDetachedSignature(content, token.id, token.secret);
      if (token.expiration) nextExpiry = Math.min(nextExpiry, token.expiration.getTime());
    }
    // Look again when the first of these tokens expires, to take its signature away.
    if (nextExpiry !== Infinity) this.queue.addAfter(KEY, Math.min(Math.max(0, nextExpiry - now) + 1000, MAX_WAIT_MS));
    if (isDeepStrictEqual(data, cm.data ?? {})) return;
    try {
      await this.ctx.client.update(CONFIG_MAPS, CLUSTER_INFO_NAMESPACE, { ...cm, data });
    } catch (err) {
      if (err instanceof ApiError && err.code === 404) return;
      throw err;
    }
  }
}
