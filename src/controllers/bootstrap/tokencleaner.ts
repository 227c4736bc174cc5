/**
 * The token cleaner (upstream's pkg/controller/bootstrap TokenCleaner): deletes bootstrap token
 * Secrets once they expire, each at its expiration time.
 */
import type { Informer } from '../../client/informer.js';
import { objectKey } from '../../client/informer.js';
import { ApiError } from '../../api/errors.js';
import { InformerController, type ControllerOptions } from '../informer-controller.js';
import type { ControllerContext } from '../context.js';
import { readTokenSecret } from '../../cluster-bootstrap/token.js';
import { MAX_WAIT_MS, SECRETS, tokenSecretInformer } from './tokens.js';

export class TokenCleaner extends InformerController {
  private readonly secrets: Informer;

  constructor(
    private readonly ctx: ControllerContext,
    opts: ControllerOptions = {},
  ) {
    super('tokencleaner', { log: ctx.log, ...opts });
    this.secrets = tokenSecretInformer(ctx);
    this.share(this.secrets);
    const enqueue = (s: Parameters<typeof objectKey>[0]) => this.queue.add(objectKey(s));
    this.secrets.onAdd(enqueue).onUpdate((_o, s) => enqueue(s));
  }

  override async reconcile(key: string): Promise<void> {
    const secret = this.secrets.get(key);
    if (!secret || secret.metadata?.deletionTimestamp) return;
    const token = readTokenSecret(secret);
    if (!token?.expiration) return;
    const left = token.expiration.getTime() - this.ctx.now();
    if (left > 0) {
      this.queue.addAfter(key, Math.min(left, MAX_WAIT_MS));
      return;
    }
    this.ctx.log?.(`Deleting expired secret ${key}`);
    try {
      await this.ctx.client.delete(SECRETS, secret.metadata!.namespace!, secret.metadata!.name!, { preconditions: { uid: secret.metadata!.uid } });
    } catch (err) {
      // Already gone, or replaced by another Secret of the same name: nothing of ours to delete.
      if (err instanceof ApiError && (err.code === 404 || err.code === 409)) return;
      throw err;
    }
  }
}
