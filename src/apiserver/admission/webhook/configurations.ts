/**
 * The webhooks of the stored Mutating/ValidatingWebhookConfigurations, read from the API server's
 * watch cache (upstream reads them from an informer) and compiled once per stored version:
 * configurations in name order, webhooks in their order within a configuration.
 */
import type { KubeObject } from '../../../api/types.js';
import { compileMatchCondition, type CompiledMatchCondition } from '../../../api/validation/admissionregistration-webhooks.js';
import { isObj, objs, str, type Obj } from '../../../api/validation/util.js';
import type { WatchCache } from '../../watch-cache.js';

export const MUTATING_PREFIX = '/registry/admissionregistration.k8s.io/mutatingwebhookconfigurations/';
export const VALIDATING_PREFIX = '/registry/admissionregistration.k8s.io/validatingwebhookconfigurations/';

export interface WebhookClientConfig {
  url?: string;
  service?: { namespace: string; name: string; path?: string; port: number };
  /** PEM, decoded from the base64 caBundle; the system's CAs when absent. */
  ca?: string;
}

export interface Webhook {
  /** Unique across configurations: what reinvocation remembers. */
  uid: string;
  configurationName: string;
  name: string;
  rules: Obj[];
  failurePolicy: 'Fail' | 'Ignore';
  matchPolicy: 'Exact' | 'Equivalent';
  sideEffects: string;
  timeoutSeconds: number;
  namespaceSelector: Obj;
  objectSelector: Obj;
  reinvocationPolicy: 'Never' | 'IfNeeded';
  admissionReviewVersions: string[];
  clientConfig: WebhookClientConfig;
  matchConditions: CompiledMatchCondition[];
  /** Set when a match condition no longer compiles (stored by another server): the webhook fails closed. */
  matchConditionError?: string;
}

function compile(config: KubeObject, h: Obj, i: number): Webhook {
  const cc: Obj = isObj(h.clientConfig) ? h.clientConfig : {};
  const svc: Obj | undefined = isObj(cc.service) ? cc.service : undefined;
  const conditions: CompiledMatchCondition[] = [];
  let matchConditionError: string | undefined;
  for (const mc of objs(h.matchConditions)) {
    const c = compileMatchCondition(str(mc.name), str(mc.expression));
    if ('error' in c) matchConditionError ??= c.error;
    else conditions.push(c);
  }
  const name = str(h.name);
  return {
    uid: `${config.metadata?.name ?? ''}/${name}/${i}`,
    configurationName: config.metadata?.name ?? '',
    name,
    rules: objs(h.rules),
    failurePolicy: h.failurePolicy === 'Ignore' ? 'Ignore' : 'Fail',
    matchPolicy: h.matchPolicy === 'Exact' ? 'Exact' : 'Equivalent',
    sideEffects: str(h.sideEffects),
    timeoutSeconds: typeof h.timeoutSeconds === 'number' ? h.timeoutSeconds : 10,
    namespaceSelector: isObj(h.namespaceSelector) ? h.namespaceSelector : {},
    objectSelector: isObj(h.objectSelector) ? h.objectSelector : {},
    reinvocationPolicy: h.reinvocationPolicy === 'IfNeeded' ? 'IfNeeded' : 'Never',
    admissionReviewVersions: Array.isArray(h.admissionReviewVersions) ? h.admissionReviewVersions.map(String) : [],
    clientConfig: {
      url: typeof cc.url === 'string' ? cc.url : undefined,
      service: svc ? { namespace: str(svc.namespace), name: str(svc.name), path: typeof svc.path === 'string' ? svc.path : undefined, port: typeof svc.port === 'number' ? svc.port : 443 } : undefined,
      ca: typeof cc.caBundle === 'string' && cc.caBundle !== '' ? Buffer.from(cc.caBundle, 'base64').toString('utf8') : undefined,
    },
    matchConditions: conditions,
    matchConditionError,
  };
}

/** The webhooks of one kind of configuration, recompiled only for configurations that changed. */
export class WebhookSource {
  private compiled = new Map<string, { rv: number; hooks: Webhook[] }>();
  private lastList: readonly unknown[] | undefined;
  private lastRvs = '';
  private all: Webhook[] = [];

  constructor(
    private readonly cache: WatchCache,
    private readonly prefix: string,
  ) {}

  webhooks(): readonly Webhook[] {
    const list = this.cache.resource(this.prefix).list();
    if (list.length === 0) return [];
    // Updates swap entries in place, so the list alone does not say nothing changed: the revisions do.
    const rvs = list.map((c) => c.rv).join(',');
    if (list === this.lastList && rvs === this.lastRvs) return this.all;
    const next = new Map<string, { rv: number; hooks: Webhook[] }>();
    const all: Webhook[] = [];
    for (const c of list) {
      let entry = this.compiled.get(c.key);
      if (!entry || entry.rv !== c.rv) entry = { rv: c.rv, hooks: objs(c.obj.webhooks).map((h, i) => compile(c.obj, h, i)) };
      next.set(c.key, entry);
      all.push(...entry.hooks);
    }
    this.compiled = next;
    this.lastList = list;
    this.lastRvs = rvs;
    this.all = all;
    return all;
  }
}
