/**
 * The serviceaccount-token controller, after upstream's TokensController
 * (pkg/controller/serviceaccount/tokens_controller.go), reduced to what v1.32 still does: a Secret
 * of type kubernetes.io/service-account-token that a user creates (naming its account in the
 * `kubernetes.io/service-account.name` annotation) is filled with a legacy token, the cluster CA
 * and the namespace, and annotated with the account's UID; a token Secret whose account is gone
 * (or was recreated with another UID) is deleted, as are an account's token Secrets when it goes.
 * No Secrets are made for accounts on their own any more.
 */
import type { KubeObject } from '../api/types.js';
import { ApiError } from '../api/errors.js';
import type { Informer } from '../client/informer.js';
import type { Client, ResourceRef } from '../client/interface.js';
import { InformerController, type ControllerOptions } from './informer-controller.js';
import type { ControllerContext } from './context.js';
import { TokenIssuer } from '../apiserver/auth/serviceaccount/issuer.js';
import {
  legacyClaims,
  SERVICE_ACCOUNT_NAME_ANNOTATION,
  SERVICE_ACCOUNT_TOKEN_SECRET_TYPE,
  SERVICE_ACCOUNT_UID_ANNOTATION,
} from '../apiserver/auth/serviceaccount/claims.js';

const SERVICE_ACCOUNTS: ResourceRef = { group: '', version: 'v1', resource: 'serviceaccounts' };
const SECRETS: ResourceRef = { group: '', version: 'v1', resource: 'secrets' };
const BY_ACCOUNT = 'serviceaccount';

export interface ServiceAccountTokenControllerOptions extends ControllerOptions {
  /** PEM private key (sa.key) the legacy tokens are signed with. */
  privateKey: string;
  /** The cluster CA (PEM) put in each Secret as ca.crt. */
  caCert?: string;
}

function key(o: KubeObject): string {
  return `${o.metadata?.namespace ?? ''}/${o.metadata?.name ?? ''}`;
}

export class ServiceAccountTokenController extends InformerController {
  private readonly client: Client;
  private readonly secrets: Informer;
  private readonly accounts: Informer;
  private readonly issuer: TokenIssuer;
  private readonly caData: string | undefined;

  constructor(ctx: ControllerContext, opts: ServiceAccountTokenControllerOptions) {
    super('serviceaccount-token controller', opts);
    this.client = ctx.client;
    this.issuer = new TokenIssuer({ privateKey: opts.privateKey });
    this.caData = opts.caCert ? Buffer.from(opts.caCert).toString('base64') : undefined;
    this.secrets = ctx.informers.informer(SECRETS, { fieldSelector: `type=${SERVICE_ACCOUNT_TOKEN_SECRET_TYPE}` });
    this.accounts = ctx.informers.informer(SERVICE_ACCOUNTS);
    this.share(this.secrets, this.accounts);
    try {
      this.secrets.addIndexer(BY_ACCOUNT, (s) => {
        const name = s.metadata?.annotations?.[SERVICE_ACCOUNT_NAME_ANNOTATION];
        return name ? [`${s.metadata?.namespace ?? ''}/${name}`] : [];
      });
    } catch {
      // another controller on the same shared informer added it already
    }
    const enqueueSecret = (s: KubeObject) => this.queue.add(`secret:${key(s)}`);
    this.secrets.onAdd(enqueueSecret).onUpdate((_o, s) => enqueueSecret(s));
    // An account that goes (or comes back with another UID) takes its token Secrets with it.
    const enqueueAccountSecrets = (sa: KubeObject) => {
      for (const s of this.secrets.byIndex(BY_ACCOUNT, key(sa))) enqueueSecret(s);
    };
    this.accounts.onAdd(enqueueAccountSecrets).onUpdate((_o, sa) => enqueueAccountSecrets(sa)).onDelete(enqueueAccountSecrets);
  }

  override async reconcile(queueKey: string): Promise<void> {
    const k = queueKey.slice('secret:'.length);
    const secret = this.secrets.get(k);
    if (!secret || secret.type !== SERVICE_ACCOUNT_TOKEN_SECRET_TYPE || secret.metadata?.deletionTimestamp) return;
    const ns = secret.metadata?.namespace ?? '';
    const annotations = secret.metadata?.annotations ?? {};
    const saName = annotations[SERVICE_ACCOUNT_NAME_ANNOTATION];
    // Validation requires the annotation upstream; a Secret without it is not ours to judge.
    if (!saName) return;
    const saUid = annotations[SERVICE_ACCOUNT_UID_ANNOTATION];
    const sa = this.accounts.get(`${ns}/${saName}`);
    if (!sa || (saUid && sa.metadata?.uid !== saUid)) {
      try {
        await this.client.delete(SECRETS, ns, secret.metadata!.name!, { preconditions: { uid: secret.metadata!.uid } });
      } catch (err) {
        if (!(err instanceof ApiError && (err.code === 404 || err.code === 409))) throw err;
      }
      return;
    }
    const data: Record<string, string> = { ...(secret.data ?? {}) };
    const needsCa = this.caData !== undefined && data['ca.crt'] !== this.caData;
    const needsNamespace = !data.namespace;
    const needsToken = !data.token;
    const needsUid = saUid !== sa.metadata?.uid;
    if (!needsCa && !needsNamespace && !needsToken && !needsUid) return;
    if (needsCa) data['ca.crt'] = this.caData!;
    if (needsNamespace) data.namespace = Buffer.from(ns).toString('base64');
    if (needsToken) data.token = Buffer.from(this.issuer.sign(legacyClaims(sa, secret))).toString('base64');
    // The informer's copy is frozen; its resourceVersion makes a stale view a 409, retried.
    await this.client.update(SECRETS, ns, {
      ...secret,
      metadata: { ...secret.metadata, annotations: { ...annotations, [SERVICE_ACCOUNT_NAME_ANNOTATION]: saName, [SERVICE_ACCOUNT_UID_ANNOTATION]: sa.metadata!.uid! } },
      data,
    });
  }
}
