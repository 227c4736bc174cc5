/**
 * ValidatingAdmissionPolicy admission (k8s.io/apiserver/pkg/admission/plugin/policy/validating):
 * every binding whose policy matches the request evaluates the policy's CEL validations, with the
 * binding's params, and applies its validationActions (Deny refuses the write, Warn adds a warning,
 * Audit is recorded nowhere: skiff has no audit log, so Audit and auditAnnotations are no-ops).
 * Policies, bindings, params and namespaces are read from the watch cache.
 *
 * Not covered: `authorizer` (no authorization library), matchPolicy Equivalent across group
 * versions (each resource is served at one version here), status.typeChecking, CONNECT.
 */
import { ApiError, qualifiedResource } from '../../api/errors.js';
import type { KubeObject, ResourceEntry } from '../../api/types.js';
import { CostBudget, CostLimitExceeded } from '../../api/cel/cost.js';
import { compilePolicyExpression } from '../../api/cel/policy.js';
import { jsonToCel } from '../../api/cel/values.js';
import { selectorMatches } from '../../api/validation/util.js';
import type { UserInfo } from '../auth/user.js';
import { storagePrefix, type ResourceRegistry } from '../registry.js';
import type { WatchCache } from '../watch-cache.js';
import type { AdmissionPlugin, AdmissionRequest } from './types.js';

type Obj = Record<string, any>;
type Operation = 'CREATE' | 'UPDATE' | 'DELETE';

const POLICIES = '/registry/admissionregistration.k8s.io/validatingadmissionpolicies/';
const BINDINGS = '/registry/admissionregistration.k8s.io/validatingadmissionpolicybindings/';
const NAMESPACES = '/registry/namespaces/';

/** Policies never apply to the objects that configure admission (so a bad policy cannot lock itself in). */
const EXEMPT_RESOURCES = new Set(['validatingadmissionpolicies', 'validatingadmissionpolicybindings', 'validatingwebhookconfigurations', 'mutatingwebhookconfigurations']);

interface Request {
  operation: Operation;
  entry: ResourceEntry;
  subresource: string;
  name: string;
  namespace: string;
  object: KubeObject | undefined;
  oldObject: KubeObject | undefined;
  dryRun: boolean;
  user: UserInfo | undefined;
  warnings: string[] | undefined;
}

/** A failed validation (or an error under failurePolicy Fail) of one binding. */
interface Decision {
  message: string;
  reason: string;
}

const REASON_CODES: Record<string, number> = { Unauthorized: 401, Forbidden: 403, Invalid: 422, RequestEntityTooLarge: 413 };

function listOf(v: unknown): any[] {
  return Array.isArray(v) ? v : [];
}

function ruleMatches(rule: Obj, r: Request): boolean {
  const ops = listOf(rule.operations);
  if (!ops.includes('*') && !ops.includes(r.operation)) return false;
  const groups = listOf(rule.apiGroups);
  if (!groups.includes('*') && !groups.includes(r.entry.group)) return false;
  const versions = listOf(rule.apiVersions);
  if (!versions.includes('*') && !versions.includes(r.entry.version)) return false;
  const scope = rule.scope ?? '*';
  if (scope === 'Cluster' && r.entry.namespaced) return false;
  if (scope === 'Namespaced' && !r.entry.namespaced) return false;
  const names = listOf(rule.resourceNames);
  if (names.length && !names.includes(r.name)) return false;
  return listOf(rule.resources).some((res: string) => {
    const [resource, sub = ''] = res.split('/', 2);
    const resourceOk = resource === '*' || resource === r.entry.plural;
    const subOk = res.includes('/') ? sub === '*' || sub === r.subresource : r.subresource === '';
    return resourceOk && subOk;
  });
}

/** An empty (or absent) selector matches everything. */
function selects(sel: unknown, labels: unknown): boolean {
  if (!sel || typeof sel !== 'object') return true;
  const s = sel as Obj;
  if (!s.matchLabels && !s.matchExpressions) return true;
  return selectorMatches(s, labels ?? {});
}

export class ValidatingAdmissionPolicyPlugin implements AdmissionPlugin {
  readonly name = 'ValidatingAdmissionPolicy';

  constructor(
    private readonly cache: WatchCache,
    private readonly registry: ResourceRegistry,
  ) {}

  async validate(a: AdmissionRequest): Promise<void> {
    if (a.operation === 'CONNECT') return; // upstream's policies see CONNECT; skiff's streams do not send it yet
    const obj = a.operation === 'DELETE' ? undefined : a.obj;
    const old = a.old;
    this.admitRequest({
      operation: a.operation,
      entry: a.entry,
      subresource: a.subresource ?? '',
      name: a.name ?? obj?.metadata?.name ?? old?.metadata?.name ?? '',
      namespace: a.entry.namespaced ? (obj?.metadata?.namespace ?? old?.metadata?.namespace ?? a.namespace ?? '') : '',
      object: obj,
      oldObject: old,
      dryRun: a.dryRun,
      user: a.user,
      warnings: a.warnings,
    });
  }

  private admitRequest(r: Request): void {
    if (r.entry.group === 'admissionregistration.k8s.io' && EXEMPT_RESOURCES.has(r.entry.plural)) return;
    const bindings = this.cache.resource(BINDINGS).objects;
    if (bindings.size === 0) return;
    const policies = this.cache.resource(POLICIES).objects;
    const budget = new CostBudget();
    let namespaceObject: KubeObject | null | undefined;
    const ns = () => (namespaceObject === undefined ? (namespaceObject = this.namespaceObject(r)) : namespaceObject);
    for (const cached of [...bindings.values()].sort((x, y) => (x.key < y.key ? -1 : 1))) {
      const binding = cached.obj;
      const spec: Obj = binding.spec ?? {};
      const policy = policies.get(`${POLICIES}${spec.policyName ?? ''}`)?.obj;
      if (!policy) continue;
      const pspec: Obj = policy.spec ?? {};
      if (!this.matches(pspec.matchConstraints, r, ns, true)) continue;
      if (spec.matchResources && !this.matches(spec.matchResources, r, ns, false)) continue;
      const decisions = this.evaluateBinding(policy, binding, r, ns, budget);
      const actions = listOf(spec.validationActions);
      for (const d of decisions) {
        const pname = policy.metadata?.name ?? '';
        const bname = binding.metadata?.name ?? '';
        if (actions.includes('Warn')) r.warnings?.push(`Validation failed for ValidatingAdmissionPolicy '${pname}' with binding '${bname}': ${d.message}`);
        if (actions.includes('Deny')) throw this.denied(r, `ValidatingAdmissionPolicy '${pname}' with binding '${bname}' denied request: ${d.message}`, d.reason);
      }
    }
  }

  private denied(r: Request, message: string, reason: string): ApiError {
    const resource = qualifiedResource(r.entry.group, r.entry.plural);
    return new ApiError(REASON_CODES[reason] ?? 422, reason, `${resource} "${r.name}" is forbidden: ${message}`, {
      name: r.name,
      group: r.entry.group || undefined,
      kind: r.entry.plural,
      causes: [{ message }],
    });
  }

  private namespaceObject(r: Request): KubeObject | null {
    if (!r.namespace) return null;
    return this.cache.resource(NAMESPACES).objects.get(`${NAMESPACES}${r.namespace}`)?.obj ?? null;
  }

  private matches(mr: unknown, r: Request, ns: () => KubeObject | null, rulesRequired: boolean): boolean {
    if (!mr || typeof mr !== 'object') return !rulesRequired;
    const m = mr as Obj;
    const rules = listOf(m.resourceRules);
    if (rules.length || rulesRequired) {
      if (!rules.some((rule) => ruleMatches(rule, r))) return false;
    }
    if (listOf(m.excludeResourceRules).some((rule) => ruleMatches(rule, r))) return false;
    if (m.namespaceSelector && (m.namespaceSelector.matchLabels || m.namespaceSelector.matchExpressions)) {
      if (r.entry.namespaced) {
        if (!selects(m.namespaceSelector, ns()?.metadata?.labels)) return false;
      } else if (r.entry.group === '' && r.entry.plural === 'namespaces') {
        const self = r.object ?? r.oldObject;
        if (!selects(m.namespaceSelector, self?.metadata?.labels)) return false;
      }
    }
    if (m.objectSelector && (m.objectSelector.matchLabels || m.objectSelector.matchExpressions)) {
      const now = r.object ? selects(m.objectSelector, r.object.metadata?.labels) : false;
      const before = r.oldObject ? selects(m.objectSelector, r.oldObject.metadata?.labels) : false;
      if (!now && !before) return false;
    }
    return true;
  }

  /** The failures of one binding: one per failed validation, or one for an error under Fail. */
  private evaluateBinding(policy: KubeObject, binding: KubeObject, r: Request, ns: () => KubeObject | null, budget: CostBudget): Decision[] {
    const pspec: Obj = policy.spec ?? {};
    const fail = (pspec.failurePolicy ?? 'Fail') === 'Fail';
    const onError = (message: string): Decision[] => (fail ? [{ message, reason: 'Invalid' }] : []);
    let params: (KubeObject | null)[] = [null];
    if (pspec.paramKind) {
      const found = this.params(pspec.paramKind, binding.spec?.paramRef, r);
      if (typeof found === 'string') return onError(found);
      if (found.length === 0) {
        if ((binding.spec?.paramRef?.parameterNotFoundAction ?? 'Deny') === 'Deny') {
          return onError('no params found for policy binding with `Deny` parameterNotFoundAction');
        }
        return [];
      }
      params = found;
    }
    const out: Decision[] = [];
    for (const param of params) {
      try {
        out.push(...this.evaluate(pspec, param, r, ns, budget, onError));
      } catch (err) {
        out.push(...onError(err instanceof Error ? err.message : String(err)));
      }
    }
    return out;
  }

  /** The params a binding points at, or a configuration error's message. */
  private params(paramKind: Obj, paramRef: Obj | undefined, r: Request): KubeObject[] | string {
    const entry = this.registry.findByKind(String(paramKind.apiVersion ?? ''), String(paramKind.kind ?? ''));
    if (!entry) return `failed to find resource referenced by paramKind: '${paramKind.apiVersion}, Kind=${paramKind.kind}'`;
    if (!paramRef) return 'paramKind is set but the binding has no paramRef';
    let namespace = '';
    if (entry.namespaced) {
      namespace = paramRef.namespace || r.namespace;
      if (!namespace) return 'cannot use namespaced paramRef in policy binding that matches cluster-scoped resources';
    }
    const objects = this.cache.resource(storagePrefix(entry)).objects;
    if (paramRef.name) {
      const key = entry.namespaced ? `${storagePrefix(entry)}${namespace}/${paramRef.name}` : `${storagePrefix(entry)}${paramRef.name}`;
      const p = objects.get(key)?.obj;
      return p ? [p] : [];
    }
    const prefix = entry.namespaced ? `${storagePrefix(entry)}${namespace}/` : storagePrefix(entry);
    const out: KubeObject[] = [];
    for (const [key, c] of objects) if (key.startsWith(prefix) && selects(paramRef.selector ?? {}, c.obj.metadata?.labels)) out.push(c.obj);
    return out;
  }

  private evaluate(pspec: Obj, param: KubeObject | null, r: Request, ns: () => KubeObject | null, budget: CostBudget, onError: (m: string) => Decision[]): Decision[] {
    const vars: Record<string, unknown> = {
      object: r.object ? jsonToCel(r.object) : null,
      oldObject: r.oldObject && r.operation !== 'CREATE' ? jsonToCel(r.oldObject) : null,
      request: requestOf(r),
      params: param ? jsonToCel(param) : null,
      namespaceObject: namespaceForCel(ns()),
    };
    vars.variables = lazyVariables(listOf(pspec.variables), vars, budget);
    const run = (expression: string): unknown => {
      try {
        return compilePolicyExpression(expression).evaluate(vars, budget);
      } catch (err) {
        const why = err instanceof CostLimitExceeded ? err.message : (err as Error).message;
        throw new Error(`expression '${expression}' resulted in error: ${why}`);
      }
    };
    for (const c of listOf(pspec.matchConditions)) {
      let v: unknown;
      try {
        v = run(String(c.expression ?? ''));
      } catch (err) {
        return onError(`failed to evaluate matchCondition '${c.name}': ${(err as Error).message}`);
      }
      if (v !== true) return [];
    }
    const out: Decision[] = [];
    for (const v of listOf(pspec.validations)) {
      const expression = String(v.expression ?? '');
      let result: unknown;
      try {
        result = run(expression);
      } catch (err) {
        out.push(...onError((err as Error).message));
        continue;
      }
      if (result === true) continue;
      let message = typeof v.message === 'string' && v.message !== '' ? v.message : `failed expression: ${expression.trim()}`;
      if (typeof v.messageExpression === 'string' && v.messageExpression !== '') {
        try {
          const m = run(v.messageExpression);
          if (typeof m === 'string' && m.trim() !== '' && !/[\n\r]/.test(m)) message = m.trim();
        } catch {
          // Upstream falls back to the static message when messageExpression fails.
        }
      }
      out.push({ message, reason: typeof v.reason === 'string' && v.reason !== '' ? v.reason : 'Invalid' });
    }
    return out;
  }
}

/** `variables.x` evaluates x on first use, as upstream's lazy composition does. */
function lazyVariables(defs: Obj[], vars: Record<string, unknown>, budget: CostBudget): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const d of defs) {
    const name = String(d.name ?? '');
    let done = false;
    let value: unknown;
    Object.defineProperty(out, name, {
      enumerable: true,
      get() {
        if (!done) {
          value = compilePolicyExpression(String(d.expression ?? '')).evaluate(vars, budget);
          done = true;
        }
        return value;
      },
    });
  }
  return out;
}

function namespaceForCel(ns: KubeObject | null): unknown {
  if (!ns) return null;
  // Upstream strips managedFields from namespaceObject.
  const { managedFields: _drop, ...metadata } = ns.metadata ?? {};
  void _drop;
  return jsonToCel({ ...ns, metadata });
}

function requestOf(r: Request): Record<string, unknown> {
  const kind = { group: r.entry.group, version: r.entry.version, kind: r.entry.kind };
  const resource = { group: r.entry.group, version: r.entry.version, resource: r.entry.plural };
  const user = r.user;
  return {
    kind,
    resource,
    subResource: r.subresource,
    requestKind: kind,
    requestResource: resource,
    requestSubResource: r.subresource,
    name: r.name,
    namespace: r.namespace,
    operation: r.operation,
    userInfo: user ? { username: user.name, uid: user.uid ?? '', groups: [...user.groups], extra: user.extra ?? {} } : { username: '', uid: '', groups: [], extra: {} },
    dryRun: r.dryRun,
    options: r.operation === 'CREATE' ? { kind: 'CreateOptions', apiVersion: 'meta.k8s.io/v1' } : r.operation === 'UPDATE' ? { kind: 'UpdateOptions', apiVersion: 'meta.k8s.io/v1' } : { kind: 'DeleteOptions', apiVersion: 'meta.k8s.io/v1' },
  };
}
