/**
 * Admission: checks and mutations that need more than the object itself (other objects, shared
 * ranges, webhooks), in upstream's two phases.
 *
 * The contract (the resource store runs it; see resource-store.ts):
 *
 *   decode → defaults → MUTATING phase → strategy (prepare + validate) → VALIDATING phase → storage
 *
 * - `mutate(a)` runs in the mutating phase, plugins in list order, for CREATE, UPDATE and DELETE
 *   (DELETE: `a.obj` is absent, `a.old` is the object being deleted). A plugin may change `a.obj`
 *   in place or replace it (a webhook's patch result); what comes out is validated by the strategy
 *   like any client input. A plugin that replaces the object decodes it with `a.decode` first (a
 *   patch result is decoded again, as upstream does). If a plugin asks for it
 *   (`a.reinvocation.shouldReinvoke`), the whole mutating phase runs once more with
 *   `a.reinvocation.isReinvoke` set: built-in mutations must therefore be idempotent.
 * - `validate(a)` runs in the validating phase, after the strategy's validation, for every
 *   operation; it refuses by throwing an ApiError and should not change the object (the only
 *   exception: storage-owned fields, as upstream's BeginCreate/BeginUpdate hooks, e.g. a Service's
 *   cluster IP; such a plugin returns an AdmissionOutcome to give back what it reserved).
 * - `admit(a)` is the older name of `validate` for CREATE and UPDATE only (`a.obj` always set);
 *   `admitDelete(entry, obj)` the older name of `validate` for DELETE. Both keep working and run
 *   in the validating phase, after the same plugin's `validate`.
 * - Every write's attributes carry who asked (`user`), the request's namespace, name and
 *   subresource, the options object upstream sends webhooks (CreateOptions, UpdateOptions,
 *   DeleteOptions), `dryRun`, and `warnings` (appended to the client's Warning headers). The
 *   fields added after the first version are optional so that attributes built by hand (tests)
 *   still type-check; the resource store always fills them.
 */
import type { KubeObject, ResourceEntry } from '../../api/types.js';
import type { UserInfo } from '../auth/user.js';

export type AdmissionOperation = 'CREATE' | 'UPDATE' | 'DELETE' | 'CONNECT';

/** What every admission request carries besides its objects. */
export interface RequestAttributes {
  entry: ResourceEntry;
  dryRun: boolean;
  /** The request's namespace ('' for cluster-scoped resources; a Namespace's own name for updates and deletes of it). */
  namespace?: string;
  /** The object's name ('' on a create with generateName, as upstream). */
  name?: string;
  /** '' for the main resource, or 'status', 'binding', 'finalize'… */
  subresource?: string;
  user?: UserInfo;
  /** CreateOptions / UpdateOptions / DeleteOptions (meta.k8s.io/v1), as upstream sends webhooks. */
  options?: KubeObject;
  /** Warnings for the client (the Warning header); plugins append. */
  warnings?: string[];
  /**
   * Decodes a replaced object as the store decodes client input (kind and version checks, schema
   * types, unknown fields dropped, defaults). Throws an ApiError when it cannot.
   */
  decode?(obj: unknown): KubeObject;
  /** Shared by the plugins of one request across a reinvocation of the mutating phase. */
  reinvocation?: ReinvocationContext;
}

/** A CREATE or UPDATE: what `admit` has always received. */
export interface AdmissionAttributes extends RequestAttributes {
  operation: 'CREATE' | 'UPDATE';
  /** The object about to be stored; mutating plugins may change or replace it. */
  obj: KubeObject;
  old?: KubeObject;
}

export interface DeleteAttributes extends RequestAttributes {
  operation: 'DELETE';
  obj?: undefined;
  /** The object being deleted. */
  old: KubeObject;
}

export interface ConnectAttributes extends RequestAttributes {
  operation: 'CONNECT';
  /** The connect options (PodExecOptions, PodAttachOptions, PodPortForwardOptions, PodProxyOptions). */
  obj: KubeObject;
  old?: undefined;
}

export type AdmissionRequest = AdmissionAttributes | DeleteAttributes | ConnectAttributes;

export interface ReinvocationContext {
  /** True while the mutating phase runs for the second time. */
  isReinvoke: boolean;
  /** Set by a plugin whose change means earlier plugins should see the object again. */
  shouldReinvoke: boolean;
  /** Per-plugin state, keyed by plugin name. */
  values: Map<string, unknown>;
}

/** What a plugin wants done once the write's outcome is known (e.g. release what it reserved). */
export interface AdmissionOutcome {
  onCommitted?(): Promise<void>;
  onAborted?(): Promise<void>;
}

export interface AdmissionPlugin {
  readonly name: string;
  /** Mutating phase (before the strategy validates). Throws an ApiError to refuse. */
  mutate?(a: AdmissionRequest): Promise<void>;
  /** Validating phase (after the strategy validated). Throws an ApiError to refuse. */
  validate?(a: AdmissionRequest): Promise<AdmissionOutcome | void>;
  /** Validating phase, CREATE and UPDATE only (the older name of `validate`). */
  admit?(a: AdmissionAttributes): Promise<AdmissionOutcome | void>;
  /** Validating phase, DELETE only (the older name of `validate`). Throws an ApiError to refuse a deletion. */
  admitDelete?(entry: ResourceEntry, obj: KubeObject): Promise<void>;
  /** Called once an object is gone from the store (e.g. to free what it held). */
  deleted?(entry: ResourceEntry, obj: KubeObject): Promise<void>;
}

/** Runs the mutating phase, and once more if a plugin asked for reinvocation. */
export async function runMutatingAdmission(plugins: readonly AdmissionPlugin[], a: AdmissionRequest): Promise<void> {
  if (!plugins.some((p) => p.mutate)) return;
  const reinvocation = (a.reinvocation ??= { isReinvoke: false, shouldReinvoke: false, values: new Map() });
  for (const p of plugins) await p.mutate?.(a);
  if (!reinvocation.shouldReinvoke) return;
  reinvocation.isReinvoke = true;
  reinvocation.shouldReinvoke = false;
  for (const p of plugins) await p.mutate?.(a);
}

/** Runs the validating phase; if a plugin refuses, what the earlier ones reserved is given back. */
export async function runValidatingAdmission(plugins: readonly AdmissionPlugin[], a: AdmissionRequest): Promise<AdmissionOutcome> {
  const outcomes: AdmissionOutcome[] = [];
  try {
    for (const p of plugins) {
      const v = await p.validate?.(a);
      if (v) outcomes.push(v);
      if (a.operation === 'CREATE' || a.operation === 'UPDATE') {
        const o = await p.admit?.(a);
        if (o) outcomes.push(o);
      } else if (a.operation === 'DELETE') {
        await p.admitDelete?.(a.entry, a.old);
      }
    }
  } catch (err) {
    for (const o of outcomes) await o.onAborted?.();
    throw err;
  }
  return {
    onCommitted: async () => {
      for (const o of outcomes) await o.onCommitted?.();
    },
    onAborted: async () => {
      for (const o of outcomes) await o.onAborted?.();
    },
  };
}

/** The older name of the validating phase. */
export const runAdmission = runValidatingAdmission;
