/**
 * The strategy of every built-in kind, keyed by upstream's GroupKind string ("Pod",
 * "Deployment.apps"). Each strategy is upstream's defaulting, validation and registry
 * PrepareForCreate/PrepareForUpdate for that kind; the rules live in validation/<group>.ts and
 * this file only indexes them.
 *
 * How the resource store is expected to use them (resource-store.ts does this):
 * - create: schema check → prepareForCreate → default → validateObjectMeta + validate;
 * - update: schema check → merge with the stored object → default → prepareForUpdate →
 *   validateObjectMeta + validate(obj, old). prepareForUpdate runs for the status subresource too,
 *   so it never touches status (the store carries status over for main-resource writes);
 * - delete: prepareForDelete when the object is marked for deletion.
 * Every hook is idempotent, so calling default more than once (prepareForCreate does for Pods and
 * Jobs, whose preparation depends on defaulted fields) is harmless.
 */
import type { Strategy } from './types.js';
import { appsStrategies } from './validation/apps.js';
import { batchStrategies } from './validation/batch.js';
import { coreStrategies } from './validation/core.js';
import { otherStrategies } from './validation/other.js';
import { admissionPolicyStrategies } from './validation/admissionregistration-policy.js';
import { admissionRegistrationWebhookStrategies } from './validation/admissionregistration-webhooks.js';
import { certificatesStrategies } from './validation/certificates.js';

const STRATEGIES: Record<string, Strategy> = {
  ...coreStrategies,
  ...appsStrategies,
  ...batchStrategies,
  ...otherStrategies,
  ...admissionPolicyStrategies,
  ...admissionRegistrationWebhookStrategies,
  ...certificatesStrategies,
};

/** Kinds without rules of their own (custom resources, unknown kinds) get this: nothing to do. */
const NOTHING: Strategy = Object.freeze({});

export function strategyFor(gk: string): Strategy {
  return STRATEGIES[gk] ?? NOTHING;
}

/** The GroupKinds that have a strategy of their own (for tests and diagnostics). */
export function kindsWithStrategies(): string[] {
  return Object.keys(STRATEGIES);
}
