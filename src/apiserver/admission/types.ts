/**
 * Admission: checks and mutations that need more than the object itself (other objects, shared
 * ranges), run on every write after validation, like upstream's admission chain.
 */
import type { KubeObject, ResourceEntry } from '../../api/types.js';

export interface AdmissionAttributes {
  operation: 'CREATE' | 'UPDATE';
  entry: ResourceEntry;
  /** The object about to be stored; plugins may change it. */
  obj: KubeObject;
  old?: KubeObject;
  dryRun: boolean;
  /** '' (or absent) for the main resource; 'status', 'binding', ... for a subresource write. */
  subresource?: string;
}

/** What a plugin wants done once the write's outcome is known (e.g. release what it reserved). */
export interface AdmissionOutcome {
  onCommitted?(): Promise<void>;
  onAborted?(): Promise<void>;
}

export interface AdmissionPlugin {
  readonly name: string;
  /** Throws an ApiError to refuse the write. */
  admit(a: AdmissionAttributes): Promise<AdmissionOutcome | void>;
  /** Throws an ApiError to refuse a deletion. */
  admitDelete?(entry: ResourceEntry, obj: KubeObject): Promise<void>;
  /** Called once an object is gone from the store (e.g. to free what it held). */
  deleted?(entry: ResourceEntry, obj: KubeObject): Promise<void>;
}

/** Runs plugins in order; if one refuses, what the earlier ones reserved is given back. */
export async function runAdmission(plugins: readonly AdmissionPlugin[], a: AdmissionAttributes): Promise<AdmissionOutcome> {
  const outcomes: AdmissionOutcome[] = [];
  try {
    for (const p of plugins) {
      const o = await p.admit(a);
      if (o) outcomes.push(o);
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
