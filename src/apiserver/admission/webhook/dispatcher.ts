/**
 * Dynamic admission: the MutatingAdmissionWebhook and ValidatingAdmissionWebhook plugins, as
 * upstream's webhook dispatchers. Mutating webhooks are called one after another in the mutating
 * phase, each seeing the previous ones' patches (and called once more, when their
 * reinvocationPolicy is IfNeeded and a later mutation changed the object); validating webhooks are
 * called all at once in the validating phase. A webhook that cannot be reached or answers
 * nonsense follows its failurePolicy; a webhook that denies always wins.
 *
 * Not done: audit annotations from responses are ignored (skiff has no audit log); the
 * `authorizer` variable of matchConditions is not offered.
 */
import { randomUUID } from 'node:crypto';
import { ApiError, errors } from '../../../api/errors.js';
import type { KubeObject } from '../../../api/types.js';
import type { Store } from '../../../storage/store.js';
import { deepEqual } from '../../objects.js';
import { applyJsonPatch } from '../../patch/json-patch.js';
import type { ResourceRegistry } from '../../registry.js';
import { decodeStored, type WatchCache } from '../../watch-cache.js';
import type { AdmissionPlugin, AdmissionRequest } from '../types.js';
import { postJson, WebhookCallError, type WebhookTarget } from './client.js';
import { MUTATING_PREFIX, VALIDATING_PREFIX, WebhookSource, type Webhook } from './configurations.js';
import { EquivalentResources, isExemptConfigurationResource, matchNamespaceSelector, matchObjectSelector, matchRules, type Invocation } from './matching.js';
import { admissionReview, reviewVersionFor, verifyResponse } from './review.js';

export interface WebhookAdmissionOptions {
  cache: WatchCache;
  /** Read when the cache does not have a namespace yet (created a moment ago through another server). */
  store?: Store;
  /** For matchPolicy Equivalent: the other versions serving the same objects. */
  registry?: ResourceRegistry;
}

/** A webhook refusing the request (as opposed to failing to answer). */
class WebhookRejection extends Error {
  constructor(readonly error: ApiError) {
    super(error.message);
  }
}

/** Upstream's ToStatusErr (v1.32): the webhook's Status, with a code of at least 400 and its name in the message. */
function rejection(hookName: string, status: Record<string, any> | undefined): ApiError {
  const s = status ?? {};
  const deniedBy = `admission webhook ${JSON.stringify(hookName)} denied the request`;
  const message = typeof s.message === 'string' && s.message !== '' ? `${deniedBy}: ${s.message}` : typeof s.reason === 'string' && s.reason !== '' ? `${deniedBy}: ${s.reason}` : `${deniedBy} without explanation`;
  const code = Number.isInteger(s.code) && s.code >= 400 && s.code <= 599 ? s.code : 400;
  const details = typeof s.details === 'object' && s.details !== null && !Array.isArray(s.details) ? s.details : undefined;
  return new ApiError(code, typeof s.reason === 'string' ? s.reason : '', message, details);
}

/** Upstream's NewInternalError around an ErrCallingWebhook. */
function callFailure(hookName: string, reason: string): ApiError {
  const message = `failed calling webhook ${JSON.stringify(hookName)}: ${reason}`;
  return new ApiError(500, 'InternalError', `Internal error occurred: ${message}`, { causes: [{ message }] });
}

function internalError(message: string): ApiError {
  return new ApiError(500, 'InternalError', `Internal error occurred: ${message}`, { causes: [{ message }] });
}

function addWarnings(a: AdmissionRequest, warnings: string[]): void {
  if (!a.warnings) return;
  for (const w of warnings) if (w !== '' && !a.warnings.includes(w)) a.warnings.push(w);
}

/** What both dispatchers share: matching, the namespace lookup, building and sending a review. */
abstract class WebhookDispatcher {
  protected readonly source: WebhookSource;
  private readonly equivalents: EquivalentResources;

  constructor(
    protected readonly opts: WebhookAdmissionOptions,
    prefix: string,
  ) {
    this.source = new WebhookSource(opts.cache, prefix);
    this.equivalents = new EquivalentResources(opts.registry);
  }

  /** Upstream's ShouldCallHook: undefined when the webhook is not for this request. */
  protected async shouldCall(hook: Webhook, a: AdmissionRequest): Promise<Invocation | undefined> {
    const inv = matchRules(hook, a, this.equivalents);
    if (!inv) return undefined;
    if (!(await matchNamespaceSelector(hook, a, (ns) => this.namespaceLabels(ns)))) return undefined;
    if (!matchObjectSelector(hook, a)) return undefined;
    if (hook.matchConditionError || hook.matchConditions.length > 0) {
      const forbidden = (detail: string) => {
        const gr = a.entry.group ? `${a.entry.plural}.${a.entry.group}` : a.entry.plural;
        return new ApiError(403, 'Forbidden', `${gr} ${JSON.stringify(a.name ?? '')} is forbidden: ${detail}`, { name: a.name, group: a.entry.group || undefined, kind: a.entry.plural });
      };
      if (hook.matchConditionError) throw forbidden(hook.matchConditionError);
      const review = admissionReview('v1', '', a, inv, undefined, undefined) as { request: Record<string, unknown> };
      const vars = { object: this.versioned(a.obj, inv) ?? null, oldObject: this.versioned(a.old, inv) ?? null, request: review.request };
      for (const mc of hook.matchConditions) {
        let result: unknown;
        try {
          result = mc.evaluate(vars);
        } catch (err) {
          throw forbidden(`expression '${mc.name}' resulted in error: ${(err as Error).message.split('\n')[0]}`);
        }
        if (result === false) return undefined;
        if (result !== true) throw forbidden(`expression '${mc.name}' resulted in error: value is not a boolean`);
      }
    }
    return inv;
  }

  private async namespaceLabels(namespace: string): Promise<Record<string, string>> {
    const key = `/registry/namespaces/${namespace}`;
    let ns = this.opts.cache.resource('/registry/namespaces/').objects.get(key)?.obj;
    if (!ns && this.opts.store) {
      const kv = await this.opts.store.get(key);
      if (kv) ns = decodeStored(kv).obj;
    }
    if (!ns) throw errors.notFound('', 'namespaces', namespace);
    return ns.metadata?.labels ?? {};
  }

  /** The object as the webhook's matched version shows it. */
  protected versioned(obj: KubeObject | undefined, inv: Invocation): KubeObject | undefined {
    if (!obj || !inv.conversion) return obj;
    return inv.conversion.fromStorage(obj);
  }

  private target(hook: Webhook): WebhookTarget {
    const cc = hook.clientConfig;
    if (cc.url !== undefined) {
      try {
        return { url: new URL(cc.url), ca: cc.ca };
      } catch {
        throw new WebhookCallError(`parse ${JSON.stringify(cc.url)}: invalid URI for request`);
      }
    }
    const svc = cc.service;
    if (!svc) throw new WebhookCallError('no client config');
    const host = this.serviceAddress(svc.namespace, svc.name, svc.port);
    const path = svc.path ?? '';
    return { url: new URL(`https://${host}${path.startsWith('/') ? path : '/' + path}`), ca: cc.ca, serverName: `${svc.name}.${svc.namespace}.svc` };
  }

  /**
   * A Service reference, resolved as upstream's aggregator routing does: a ready endpoint of the
   * Service's port when there is one, else its cluster IP. The certificate must name
   * `<service>.<namespace>.svc`, as for upstream.
   */
  private serviceAddress(namespace: string, name: string, port: number): string {
    const svc = this.opts.cache.resource('/registry/services/').objects.get(`/registry/services/${namespace}/${name}`)?.obj;
    if (!svc) throw new WebhookCallError(`service "${name}" not found`);
    const svcPort = (svc.spec?.ports ?? []).find((p: any) => p?.port === port);
    if (!svcPort) throw new WebhookCallError(`service ${namespace}/${name}:${port} is not a port of the service`);
    const endpoints = this.opts.cache.resource('/registry/endpoints/').objects.get(`/registry/endpoints/${namespace}/${name}`)?.obj;
    for (const subset of endpoints?.subsets ?? []) {
      const epPort = (subset?.ports ?? []).find((p: any) => (p?.name ?? '') === (svcPort.name ?? '')) ?? (subset?.ports?.length === 1 ? subset.ports[0] : undefined);
      const addr = (subset?.addresses ?? []).find((x: any) => typeof x?.ip === 'string');
      if (epPort && addr) return `${addr.ip}:${epPort.port}`;
    }
    const ip = svc.spec?.clusterIP;
    if (typeof ip === 'string' && ip !== '' && ip !== 'None') return `${ip}:${port}`;
    throw new WebhookCallError(`service "${name}" has no endpoints and no cluster IP`);
  }

  /**
   * Sends the review and checks the answer. Failures to talk are WebhookCallErrors (with upstream's
   * reason text); a denial is a WebhookRejection; a dry run a webhook cannot take is a 400.
   */
  protected async call(hook: Webhook, a: AdmissionRequest, inv: Invocation, mutating: boolean) {
    if (a.dryRun && hook.sideEffects !== 'None' && hook.sideEffects !== 'NoneOnDryRun') {
      throw errors.badRequest(`admission webhook ${JSON.stringify(hook.name)} does not support dry run`);
    }
    const version = reviewVersionFor(hook.admissionReviewVersions);
    if (!version) {
      const detail = 'webhook does not accept known AdmissionReview versions (v1, v1beta1)';
      throw new WebhookCallError(mutating ? `could not create admission objects: ${detail}` : detail);
    }
    const uid = randomUUID();
    const body = JSON.stringify(admissionReview(version, uid, a, inv, this.versioned(a.obj, inv), this.versioned(a.old, inv)));
    let target: WebhookTarget;
    try {
      target = this.target(hook);
    } catch (err) {
      if (err instanceof WebhookCallError) throw new WebhookCallError(`could not get REST client: ${err.message}`);
      throw err;
    }
    let answer: unknown;
    try {
      answer = await postJson(target, body, hook.timeoutSeconds);
    } catch (err) {
      throw new WebhookCallError(`failed to call webhook: ${(err as Error).message}`);
    }
    let result;
    try {
      result = verifyResponse(version, uid, mutating, answer);
    } catch (err) {
      throw new WebhookCallError(`received invalid webhook response: ${(err as Error).message}`);
    }
    addWarnings(a, result.warnings);
    if (!result.allowed) throw new WebhookRejection(rejection(hook.name, result.status));
    return result;
  }

  /** failurePolicy: Ignore lets the request through (logged, as upstream's klog warning); Fail is a 500. */
  protected failed(hook: Webhook, err: unknown): ApiError | undefined {
    if (err instanceof WebhookRejection) return err.error;
    if (!(err instanceof WebhookCallError)) {
      if (err instanceof ApiError) return err;
      return internalError((err as Error).message);
    }
    if (hook.failurePolicy === 'Ignore') {
      console.warn(`Failed calling webhook, failing open ${hook.name}: failed calling webhook ${JSON.stringify(hook.name)}: ${err.message}`);
      return undefined;
    }
    return callFailure(hook.name, err.message);
  }
}

/** What reinvocation remembers across the two rounds of one request's mutating phase. */
interface ReinvokeState {
  /** IfNeeded webhooks called since the last change. */
  previouslyInvoked: Set<string>;
  /** Webhooks to call again in the second round. */
  reinvoke: Set<string>;
  /** The object after the last webhook, to see whether built-in plugins changed it in between. */
  lastOutput?: string;
}

export class MutatingWebhookAdmission extends WebhookDispatcher implements AdmissionPlugin {
  readonly name = 'MutatingAdmissionWebhook';

  constructor(opts: WebhookAdmissionOptions) {
    super(opts, MUTATING_PREFIX);
  }

  async mutate(a: AdmissionRequest): Promise<void> {
    if (isExemptConfigurationResource(a.entry)) return;
    const hooks = this.source.webhooks();
    if (hooks.length === 0) return;
    const rc = a.reinvocation;
    let state = rc?.values.get(this.name) as ReinvokeState | undefined;
    if (!state) {
      state = { previouslyInvoked: new Set(), reinvoke: new Set() };
      rc?.values.set(this.name, state);
    }
    const isReinvoke = rc?.isReinvoke ?? false;
    if (isReinvoke && state.lastOutput !== undefined && state.lastOutput !== JSON.stringify(a.obj ?? null)) {
      // Built-in plugins changed the object since the webhooks last saw it.
      requireReinvoking(state);
    }
    try {
      for (const hook of hooks) {
        const inv = await this.shouldCall(hook, a);
        if (!inv) continue;
        // A webhook skipped in the first round is not called for the first time in the second.
        if (isReinvoke && !state.reinvoke.has(hook.uid)) continue;
        let changed = false;
        let err: unknown;
        try {
          changed = await this.callMutating(hook, a, inv);
        } catch (e) {
          err = e;
        }
        if (changed) {
          requireReinvoking(state);
          if (rc) rc.shouldReinvoke = true;
        }
        if (hook.reinvocationPolicy === 'IfNeeded') state.previouslyInvoked.add(hook.uid);
        if (err !== undefined) {
          const refused = this.failed(hook, err);
          if (refused) throw refused;
        }
      }
    } finally {
      state.lastOutput = JSON.stringify(a.obj ?? null);
    }
  }

  /** Calls one webhook and applies its patch; true when the object changed. */
  private async callMutating(hook: Webhook, a: AdmissionRequest, inv: Invocation): Promise<boolean> {
    const result = await this.call(hook, a, inv, true);
    if (!result.patch) return false;
    let ops: unknown;
    try {
      ops = JSON.parse(result.patch.toString('utf8'));
      if (!Array.isArray(ops)) throw new Error(`json: cannot unmarshal ${typeof ops} into Go value of type jsonpatch.Patch`);
    } catch (err) {
      throw new WebhookCallError(`received undecodable patch in webhook response: ${(err as Error).message}`);
    }
    if (ops.length === 0) return false;
    if (a.operation !== 'CREATE' && a.operation !== 'UPDATE') {
      throw internalError(`admission webhook ${JSON.stringify(hook.name)} attempted to modify the object, which is not supported for this operation`);
    }
    if (result.patchType !== 'JSONPatch') throw new WebhookCallError(`unsupported patch type ${JSON.stringify(result.patchType)}`);
    const before = this.versioned(a.obj, inv)!;
    let patched: KubeObject;
    try {
      patched = applyJsonPatch(JSON.parse(JSON.stringify(before)), ops) as KubeObject;
    } catch (err) {
      throw internalError((err as Error).message);
    }
    let decoded: KubeObject;
    try {
      const stored = inv.conversion ? inv.conversion.toStorage(patched) : patched;
      decoded = a.decode ? a.decode(stored) : stored;
    } catch (err) {
      throw internalError((err as Error).message);
    }
    const changed = !deepEqual(a.obj, decoded);
    a.obj = decoded;
    return changed;
  }
}

function requireReinvoking(state: ReinvokeState): void {
  for (const uid of state.previouslyInvoked) state.reinvoke.add(uid);
  state.previouslyInvoked.clear();
}

export class ValidatingWebhookAdmission extends WebhookDispatcher implements AdmissionPlugin {
  readonly name = 'ValidatingAdmissionWebhook';

  constructor(opts: WebhookAdmissionOptions) {
    super(opts, VALIDATING_PREFIX);
  }

  async validate(a: AdmissionRequest): Promise<void> {
    if (isExemptConfigurationResource(a.entry)) return;
    const hooks = this.source.webhooks();
    if (hooks.length === 0) return;
    const relevant: { hook: Webhook; inv: Invocation }[] = [];
    for (const hook of hooks) {
      const inv = await this.shouldCall(hook, a);
      if (inv) relevant.push({ hook, inv });
    }
    // All at once; the first refusal (in configuration order) is the answer.
    const outcomes = await Promise.all(
      relevant.map(({ hook, inv }) =>
        this.call(hook, a, inv, false).then(
          () => undefined,
          (err: unknown) => this.failed(hook, err),
        ),
      ),
    );
    const refused = outcomes.find((o) => o !== undefined);
    if (refused) throw refused;
  }
}
