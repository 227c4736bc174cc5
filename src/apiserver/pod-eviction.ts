/**
 * The `pods/eviction` subresource, after upstream's EvictionREST: a delete that asks the pod's
 * PodDisruptionBudget first. A pod that is already disrupted (terminal, Pending, terminating) goes at
 * once; otherwise its one budget must allow a disruption, which the eviction takes (decrementing
 * disruptionsAllowed and noting the pod in disruptedPods in one compare-and-swap) before the pod gets
 * its DisruptionTarget condition and is deleted. A refusal is a 429 that `kubectl drain` retries.
 */
import type { KubeObject, ResourceEntry } from '../api/types.js';
import { ApiError, errors } from '../api/errors.js';
import { budgetSelectsPod, updateDisruptionAllowedCondition, type BudgetStatus } from '../api/disruption-budget.js';
import { EVERYTHING, itemObject, type DeleteOptions, type ResourceStore, type WriteContext } from './resource-store.js';
import { admitNodeEvictionOf } from './admission/node-restriction.js';

/** Upstream's MaxDisruptedPodSize: evictions the controller has not confirmed yet, per budget. */
const MAX_DISRUPTED_POD_SIZE = 2000;
/** Upstream's EvictionsRetry allows 20 conflicts. */
const MAX_CONFLICT_RETRIES = 20;
const DISRUPTION_BUDGET_CAUSE = 'DisruptionBudget';
const EVICTION_VERSIONS = ['policy/v1', 'policy/v1beta1'];

interface EvictionRequest {
  deleteOptions: DeleteOptions;
  dryRun: boolean;
}

export function validateEviction(body: unknown, podName: string, createDryRun: boolean): EvictionRequest {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw errors.badRequest('the body of an eviction must be an Eviction object');
  const e = body as KubeObject & { deleteOptions?: unknown };
  if ((e.kind !== undefined && e.kind !== 'Eviction') || (e.apiVersion !== undefined && !EVICTION_VERSIONS.includes(e.apiVersion))) {
    throw errors.badRequest(`not a Eviction object: ${e.apiVersion ?? ''}, Kind=${e.kind ?? ''}`);
  }
  if ((e.metadata?.name ?? '') !== podName) throw errors.badRequest('name in URL does not match name in Eviction object');
  const raw = e.deleteOptions;
  if (raw !== undefined && raw !== null && (typeof raw !== 'object' || Array.isArray(raw))) throw errors.badRequest('deleteOptions must be a DeleteOptions object');
  const o = (raw ?? {}) as Record<string, unknown>;
  const deleteOptions: DeleteOptions = {};
  if (o.gracePeriodSeconds !== undefined && o.gracePeriodSeconds !== null) {
    if (typeof o.gracePeriodSeconds !== 'number' || !Number.isInteger(o.gracePeriodSeconds)) throw errors.badRequest('deleteOptions.gracePeriodSeconds must be an integer');
    deleteOptions.gracePeriodSeconds = o.gracePeriodSeconds;
  }
  if (o.propagationPolicy !== undefined && o.propagationPolicy !== null) {
    if (o.propagationPolicy !== 'Orphan' && o.propagationPolicy !== 'Background' && o.propagationPolicy !== 'Foreground') {
      throw errors.badRequest(`deleteOptions.propagationPolicy: Unsupported value: ${JSON.stringify(o.propagationPolicy)}`);
    }
    deleteOptions.propagationPolicy = o.propagationPolicy;
  }
  if (typeof o.orphanDependents === 'boolean') deleteOptions.orphanDependents = o.orphanDependents;
  const pre = o.preconditions as { uid?: unknown; resourceVersion?: unknown } | null | undefined;
  if (pre && typeof pre === 'object') {
    deleteOptions.preconditions = {};
    if (typeof pre.uid === 'string' && pre.uid !== '') deleteOptions.preconditions.uid = pre.uid;
    if (typeof pre.resourceVersion === 'string' && pre.resourceVersion !== '') deleteOptions.preconditions.resourceVersion = pre.resourceVersion;
  }
  // Upstream's propagateDryRun: the request's dryRun and the body's must agree when both are given.
  const bodyDryRun = Array.isArray(o.dryRun) ? o.dryRun.map(String) : [];
  if (bodyDryRun.some((d) => d !== 'All')) throw errors.badRequest(`deleteOptions.dryRun: Unsupported value: ${JSON.stringify(bodyDryRun)}`);
  if (createDryRun && bodyDryRun.length === 0 && o.dryRun !== undefined && o.dryRun !== null) {
    throw errors.badRequest(`Non-matching dry-run options in request and content: [All] and []`);
  }
  return { deleteOptions, dryRun: createDryRun || bodyDryRun.length > 0 };
}

/** Evicts pod `name`; answers upstream's Success Status or throws its refusals. */
export async function evictPod(
  resources: ResourceStore,
  pods: ResourceEntry,
  budgets: ResourceEntry | undefined,
  namespace: string,
  name: string,
  body: unknown,
  ctx: WriteContext,
): Promise<KubeObject> {
  const request = validateEviction(body, name, ctx.dryRun);
  const write: WriteContext = { ...ctx, dryRun: request.dryRun };
  const original = request.deleteOptions;
  const retryConflicts = !original.preconditions?.resourceVersion;

  // A pod that is already disrupted costs its budget nothing: delete it straight away.
  let pod: KubeObject;
  for (let attempt = 0; ; attempt++) {
    pod = (await resources.get(pods, namespace, name)).obj;
    // NodeRestriction (evictions do not pass the admission chain): a node evicts only its own pods.
    admitNodeEvictionOf(ctx.user, pod, name);
    if (!canIgnoreBudget(pod)) break;
    let opts = original;
    // A Pending pod might turn ready meanwhile: delete only the pod that was judged.
    if (shouldEnforceResourceVersion(pod) && retryConflicts) opts = withResourceVersion(original, pod.metadata?.resourceVersion);
    try {
      await markAndDelete(resources, pods, namespace, name, opts, write);
      return success();
    } catch (err) {
      if (retryConflicts && attempt < MAX_CONFLICT_RETRIES && err instanceof ApiError && err.code === 409) continue;
      throw err;
    }
  }

  const matching = budgets ? (await resources.list(budgets, namespace, { filter: EVERYTHING })).items.map(itemObject).filter((b) => budgetSelectsPod(b, pod)) : [];
  if (matching.length > 1) throw new ApiError(500, 'InternalError', 'This pod has more than one PodDisruptionBudget, which the eviction subresource does not support.');

  let opts = original;
  let unhealthyPod = false;
  if (matching.length === 1) {
    const pdb = matching[0];
    const st = (pdb.status ?? {}) as BudgetStatus;
    // An unready pod adds nothing to currentHealthy: taking it costs the budget nothing when the
    // budget is met anyway (IfHealthyBudget, the default) or when the budget says AlwaysAllow.
    if (!isReady(pod) && (pdb.spec?.unhealthyPodEvictionPolicy === 'AlwaysAllow' || ((st.currentHealthy ?? 0) >= (st.desiredHealthy ?? 0) && (st.desiredHealthy ?? 0) > 0))) {
      unhealthyPod = true;
    } else {
      await takeDisruption(resources, budgets!, namespace, pdb.metadata!.name!, name, write);
    }
  }
  // Only the pod that was judged unready may go without its budget's say.
  if (unhealthyPod) opts = withResourceVersion(original, pod.metadata?.resourceVersion);
  try {
    await markAndDelete(resources, pods, namespace, name, opts, write);
  } catch (err) {
    if (err instanceof ApiError && err.code === 409 && unhealthyPod && retryConflicts) throw stillProcessing(matching[0].metadata!.name!);
    throw err;
  }
  return success();
}

function success(): KubeObject {
  return { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success', code: 201 } as unknown as KubeObject;
}

function isReady(pod: KubeObject): boolean {
  return ((pod.status?.conditions ?? []) as { type?: string; status?: string }[]).some((c) => c.type === 'Ready' && c.status === 'True');
}

/** Upstream's canIgnorePDB: terminal, Pending and terminating pods are disrupted already. */
function canIgnoreBudget(pod: KubeObject): boolean {
  const phase = pod.status?.phase;
  return phase === 'Succeeded' || phase === 'Failed' || phase === 'Pending' || !!pod.metadata?.deletionTimestamp;
}

function shouldEnforceResourceVersion(pod: KubeObject): boolean {
  const phase = pod.status?.phase;
  return !(phase === 'Succeeded' || phase === 'Failed' || pod.metadata?.deletionTimestamp);
}

function withResourceVersion(opts: DeleteOptions, resourceVersion: string | undefined): DeleteOptions {
  return { ...opts, preconditions: { ...opts.preconditions, resourceVersion } };
}

function tooManyRequests(retryAfterSeconds: number, cause: string): ApiError {
  return new ApiError(429, 'TooManyRequests', "Cannot evict pod as it would violate the pod's disruption budget.", {
    causes: [{ reason: DISRUPTION_BUDGET_CAUSE, message: cause }],
    ...(retryAfterSeconds > 0 ? { retryAfterSeconds } : {}),
  });
}

function stillProcessing(budget: string): ApiError {
  return tooManyRequests(10, `The disruption budget ${budget} is still being processed by the server.`);
}

/** Carries a refusal through the store's retry: a 409 makes it re-read a cached copy before judging. */
class Refusal extends ApiError {
  constructor(readonly refusal: ApiError) {
    super(409, 'Conflict', refusal.message);
  }
}

/** Upstream's checkAndDecrement, as one compare-and-swap on the budget's status. */
async function takeDisruption(resources: ResourceStore, budgets: ResourceEntry, namespace: string, budget: string, podName: string, ctx: WriteContext): Promise<void> {
  const now = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
  const decide = (pdb: KubeObject): KubeObject => {
    const st = { ...(pdb.status ?? {}) } as BudgetStatus;
    const name = pdb.metadata?.name ?? budget;
    if ((st.observedGeneration ?? 0) < (pdb.metadata?.generation ?? 0)) throw new Refusal(stillProcessing(name));
    const allowed = st.disruptionsAllowed ?? 0;
    if (allowed < 0) throw new Refusal(errors.forbidden(`poddisruptionbudgets.policy "${name}" is forbidden: pdb disruptions allowed is negative`));
    if (Object.keys(st.disruptedPods ?? {}).length > MAX_DISRUPTED_POD_SIZE) {
      throw new Refusal(errors.forbidden(`poddisruptionbudgets.policy "${name}" is forbidden: DisruptedPods map too big - too many evictions not confirmed by PDB controller`));
    }
    if (allowed === 0) throw new Refusal(tooManyRequests(0, `The disruption budget ${name} needs ${st.desiredHealthy ?? 0} healthy pods and has ${st.currentHealthy ?? 0} currently`));
    st.disruptionsAllowed = allowed - 1;
    if (st.disruptionsAllowed === 0) updateDisruptionAllowedCondition(st, now);
    // Tells the disruption controller this pod is on its way out, so it stops counting it healthy.
    st.disruptedPods = { ...st.disruptedPods, [podName]: now };
    return { ...pdb, status: st as Record<string, unknown> };
  };
  try {
    for (let attempt = 0; ; attempt++) {
      try {
        await resources.patch(budgets, namespace, budget, decide, ctx, 'status');
        return;
      } catch (err) {
        if (err instanceof Refusal || !(err instanceof ApiError) || err.code !== 409) throw err;
        if (attempt >= MAX_CONFLICT_RETRIES) throw errors.timeout(`couldn't update PodDisruptionBudget "${budget}" due to conflicts`);
      }
    }
  } catch (err) {
    if (err instanceof Refusal) throw err.refusal;
    throw err;
  }
}

/**
 * Upstream 1.30's addConditionAndDeletePod: the pod learns why it goes (DisruptionTarget) before it
 * is deleted, and a resourceVersion precondition follows the condition's own write.
 */
async function markAndDelete(resources: ResourceStore, pods: ResourceEntry, namespace: string, name: string, opts: DeleteOptions, ctx: WriteContext): Promise<void> {
  let options = opts;
  if (!ctx.dryRun) {
    const now = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
    const marked = await resources.patch(
      pods,
      namespace,
      name,
      (pod) => {
        const meta = pod.metadata ?? {};
        const pre = opts.preconditions;
        if (pre?.uid && pre.uid !== meta.uid) {
          throw errors.conflict('', 'pods', name, `Precondition failed: UID in precondition: ${pre.uid}, UID in object meta: ${meta.uid ?? ''}`);
        }
        if (pre?.resourceVersion && pre.resourceVersion !== meta.resourceVersion) {
          throw errors.conflict('', 'pods', name, `Precondition failed: ResourceVersion in precondition: ${pre.resourceVersion}, ResourceVersion in meta: ${meta.resourceVersion ?? ''}`);
        }
        const conditions = [...((pod.status?.conditions ?? []) as Record<string, unknown>[])];
        const target = { type: 'DisruptionTarget', status: 'True', lastProbeTime: null, lastTransitionTime: now, reason: 'EvictionByEvictionAPI', message: 'Eviction API: evicting' };
        const at = conditions.findIndex((c) => c.type === 'DisruptionTarget');
        if (at < 0) conditions.push(target);
        else conditions[at] = { ...target, lastTransitionTime: conditions[at].status === 'True' ? conditions[at].lastTransitionTime : now };
        pod.status = { ...pod.status, conditions };
        return pod;
      },
      ctx,
      'status',
    );
    if (options.preconditions?.resourceVersion) options = withResourceVersion(options, marked.obj.metadata?.resourceVersion);
  }
  await resources.delete(pods, namespace, name, options, ctx);
}
