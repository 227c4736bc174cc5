/** The KindRules of built-in kinds: strategies, generated schemas and upstream's metadata rules. */
import type { KubeObject, ResourceEntry, Strategy } from '../api/types.js';
import { groupKind } from '../api/types.js';
import { strategyFor } from '../api/strategies.js';
import { checkAgainstSchema } from '../api/validation/schema-check.js';
import { validateObjectMeta } from '../api/validation/meta.js';
import type { KindRules } from './kind-rules.js';
import type { SchemaSource } from './schemas.js';
import { CRD_CLEANUP_FINALIZER } from '../api/validation/apiextensions.js';
import { checkCustomResource, customResourceStrategy } from './crd/strategy.js';

/** Kinds whose PUT creates a missing object (upstream strategies' AllowCreateOnUpdate). */
const CREATE_ON_UPDATE = new Set(['Endpoints', 'Event', 'Lease.coordination.k8s.io', 'Event.events.k8s.io']);

export function defaultKindRules(schemas: SchemaSource): KindRules {
  const strategies = new Map<string, Strategy>();
  const roots = new Map<string, any>();
  // Custom entries are rebuilt whenever their CRD changes, so their strategies are cached per entry object.
  const customStrategies = new WeakMap<ResourceEntry, Strategy>();
  const strategy = (e: ResourceEntry): Strategy => {
    if (e.custom) {
      let c = customStrategies.get(e);
      if (!c) {
        c = customResourceStrategy(e.custom, !!e.subresources.status);
        customStrategies.set(e, c);
      }
      return c;
    }
    const gk = groupKind(e.group, e.kind);
    let s = strategies.get(gk);
    if (!s) {
      s = strategyFor(gk);
      strategies.set(gk, s);
    }
    return s;
  };
  return {
    strategy,
    checkSchema(entry, obj, fieldValidation) {
      if (entry.custom) return checkCustomResource(entry.custom, obj, fieldValidation, schemas.definitions());
      let root = roots.get(entry.definition);
      if (root === undefined) {
        root = schemas.schemaFor(entry.definition) ?? null;
        roots.set(entry.definition, root);
      }
      if (!root) return { typeErrors: [], unknownFields: [], object: obj };
      const r = checkAgainstSchema(obj, root, schemas.definitions(), { fieldValidation });
      return { typeErrors: r.typeErrors, unknownFields: r.unknownFields, object: r.pruned as KubeObject };
    },
    metaCauses(entry, obj, old) {
      return validateObjectMeta(entry, obj, old);
    },
    allowCreateOnUpdate(entry) {
      return CREATE_ON_UPDATE.has(groupKind(entry.group, entry.kind));
    },
    gracePeriod(entry, obj, requested) {
      if (entry.group !== '' || entry.plural !== 'pods') return 0;
      // Only a pod some kubelet runs needs time to stop; unscheduled or finished pods go at once.
      const phase = obj.status?.phase;
      if (!obj.spec?.nodeName || phase === 'Succeeded' || phase === 'Failed') return 0;
      const g = requested ?? obj.spec?.terminationGracePeriodSeconds ?? 30;
      return Math.max(0, g);
    },
    deferDeletion(entry, obj) {
      // A CRD waits for its objects to be deleted (the cleanup finalizer its strategy adds).
      if (entry.group === 'apiextensions.k8s.io' && entry.plural === 'customresourcedefinitions') return !(obj.metadata?.finalizers ?? []).includes(CRD_CLEANUP_FINALIZER);
      return isNamespace(entry) && (obj.spec?.finalizers?.length ?? 0) > 0;
    },
    canFinishDeletion(entry, obj) {
      return !isNamespace(entry) || (obj.spec?.finalizers?.length ?? 0) === 0;
    },
  };
}

function isNamespace(e: ResourceEntry): boolean {
  return e.group === '' && e.plural === 'namespaces';
}

export type { KubeObject };
