/**
 * The kind-specific rules the generic resource store consults, gathered behind one interface so
 * the store stays generic: strategies (defaults, validation), schema checks, metadata checks and
 * the few deletion rules that differ by kind.
 */
import type { KubeObject, ResourceEntry, Strategy } from '../api/types.js';
import type { StatusCause } from '../api/errors.js';
import type { FieldValidation } from './resource-store.js';

export interface SchemaCheckResult {
  typeErrors: string[];
  unknownFields: string[];
  /** The object with unknown fields dropped (what is stored). */
  object: KubeObject;
}

export interface KindRules {
  strategy(entry: ResourceEntry): Strategy;
  checkSchema(entry: ResourceEntry, obj: KubeObject, fieldValidation: FieldValidation): SchemaCheckResult;
  metaCauses(entry: ResourceEntry, obj: KubeObject, old: KubeObject | undefined): StatusCause[];
  /** Whether PUT on a missing object creates it (upstream: Endpoints, Events, Leases…). */
  allowCreateOnUpdate(entry: ResourceEntry): boolean;
  /** Seconds of grace a delete gets (0 = delete now); pods bound to a node get theirs. */
  gracePeriod(entry: ResourceEntry, obj: KubeObject, requested: number | undefined): number;
  /** Whether deletion waits for something besides finalizers (a Namespace's spec.finalizers). */
  deferDeletion(entry: ResourceEntry, obj: KubeObject): boolean;
  /** Whether an object marked for deletion with no finalizers left may now be removed. */
  canFinishDeletion(entry: ResourceEntry, obj: KubeObject): boolean;
}
