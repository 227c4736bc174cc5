/**
 * The apiextensions-apiserver's controllers, run beside every API server: naming/establishing
 * (upstream's NamingConditionController and EstablishingController: accepted names, NamesAccepted
 * and Established conditions) and CRDFinalizer (deleting a CRD deletes its objects first). Both
 * write only through the client, like upstream's.
 */
import type { KubeObject } from '../../api/types.js';
import { ApiError } from '../../api/errors.js';
import { Informer } from '../../client/informer.js';
import type { Client, ResourceRef } from '../../client/interface.js';
import { InformerController, type ControllerOptions } from '../../controllers/informer-controller.js';
import { conditionTrue, storageVersionOf } from './entries.js';

export const CRDS: ResourceRef = { group: 'apiextensions.k8s.io', version: 'v1', resource: 'customresourcedefinitions' };
export const CLEANUP_FINALIZER = 'customresourcecleanup.apiextensions.k8s.io';

interface Condition {
  type: string;
  status: 'True' | 'False' | 'Unknown';
  reason: string;
  message: string;
  lastTransitionTime?: string;
}

/** Sets a condition, keeping lastTransitionTime when the status does not change (upstream's SetCRDCondition). */
export function setCondition(conditions: Condition[], next: Condition): Condition[] {
  const old = conditions.find((c) => c.type === next.type);
  const lastTransitionTime = old && old.status === next.status && old.lastTransitionTime ? old.lastTransitionTime : new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
  const merged = { ...next, lastTransitionTime };
  return old ? conditions.map((c) => (c.type === next.type ? merged : c)) : [...conditions, merged];
}

interface Names {
  plural?: string;
  singular?: string;
  shortNames?: string[];
  kind?: string;
  listKind?: string;
  categories?: string[];
}

/**
 * What upstream's naming controller decides for one CRD given the names others in its group hold:
 * the names it may serve and its NamesAccepted condition.
 */
export function acceptNames(crd: KubeObject, others: KubeObject[]): { accepted: Names; condition: Condition } {
  const requested: Names = crd.spec?.names ?? {};
  const group = crd.spec?.group;
  const taken = { plural: new Set<string>(), singular: new Set<string>(), short: new Set<string>(), kind: new Set<string>(), listKind: new Set<string>() };
  for (const o of others) {
    if (o.metadata?.name === crd.metadata?.name || o.spec?.group !== group) continue;
    const n: Names = o.status?.acceptedNames ?? {};
    // A name anyone in the group uses as a plural, singular or short name is taken for all three.
    for (const v of [n.plural, n.singular, ...(n.shortNames ?? [])]) {
      if (!v) continue;
      taken.plural.add(v);
      taken.singular.add(v);
      taken.short.add(v);
    }
    if (n.kind) taken.kind.add(n.kind);
    if (n.listKind) taken.listKind.add(n.listKind);
  }
  const old: Names = crd.status?.acceptedNames ?? {};
  const accepted: Names = { ...requested };
  const conflict = (reason: string, message: string) => ({ accepted: { ...requested, ...old }, condition: { type: 'NamesAccepted', status: 'False' as const, reason, message } });
  if (requested.plural && taken.plural.has(requested.plural)) return conflict('PluralConflict', `"${requested.plural}" is already in use`);
  if (requested.singular && taken.singular.has(requested.singular)) return conflict('SingularConflict', `"${requested.singular}" is already in use`);
  for (const s of requested.shortNames ?? []) if (taken.short.has(s)) return conflict('ShortNamesConflict', `"${s}" is already in use`);
  if (requested.kind && taken.kind.has(requested.kind)) return conflict('KindConflict', `"${requested.kind}" is already in use`);
  if (requested.listKind && taken.listKind.has(requested.listKind)) return conflict('ListKindConflict', `"${requested.listKind}" is already in use`);
  return { accepted, condition: { type: 'NamesAccepted', status: 'True', reason: 'NoConflicts', message: 'no conflicts found' } };
}

/** Accepted names, NamesAccepted and Established for every CRD (upstream establishes once names are first accepted). */
export class CrdNamingController extends InformerController {
  private readonly crds: Informer;

  constructor(
    private readonly client: Client,
    opts: ControllerOptions = {},
  ) {
    super('crd naming controller', opts);
    this.crds = new Informer(client, CRDS);
    this.use(this.crds);
    const enqueueGroup = (crd: KubeObject) => {
      // A change in one CRD's names may free or take names of the others in its group.
      for (const o of this.crds.list()) if (o.spec?.group === crd.spec?.group) this.queue.add(o.metadata!.name!);
      this.queue.add(crd.metadata!.name!);
    };
    this.crds.onAdd(enqueueGroup).onUpdate((_o, n) => enqueueGroup(n)).onDelete(enqueueGroup);
  }

  override async reconcile(key: string): Promise<void> {
    const crd = this.crds.get(key);
    if (!crd || crd.metadata?.deletionTimestamp) return;
    const { accepted, condition } = acceptNames(crd, this.crds.list());
    let conditions: Condition[] = setCondition(crd.status?.conditions ?? [], condition);
    if (condition.status === 'True') {
      conditions = setCondition(conditions, { type: 'Established', status: 'True', reason: 'InitialNamesAccepted', message: 'the initial names have been accepted' });
    } else if (!conditionTrue(crd, 'Established')) {
      conditions = setCondition(conditions, { type: 'Established', status: 'False', reason: 'NotAccepted', message: 'not all names are accepted' });
    }
    const storage = storageVersionOf(crd);
    const stored: string[] = crd.status?.storedVersions ?? [];
    const storedVersions = storage && !stored.includes(storage) ? [...stored, storage] : stored;
    const status = { ...crd.status, conditions, acceptedNames: accepted, storedVersions };
    if (JSON.stringify(status) === JSON.stringify(crd.status)) return;
    try {
      await this.client.update(CRDS, '', { ...crd, status }, { subresource: 'status' });
    } catch (err) {
      if (err instanceof ApiError && err.code === 404) return;
      throw err;
    }
  }
}

/** Deletes a terminating CRD's objects, then lets the CRD go (upstream's CRDFinalizer). */
export class CrdFinalizer extends InformerController {
  private readonly crds: Informer;

  constructor(
    private readonly client: Client,
    opts: ControllerOptions = {},
  ) {
    super('crd finalizer', opts);
    this.crds = new Informer(client, CRDS);
    this.use(this.crds);
    const enqueue = (crd: KubeObject) => {
      if (crd.metadata?.deletionTimestamp) this.queue.add(crd.metadata.name!);
    };
    this.crds.onAdd(enqueue).onUpdate((_o, n) => enqueue(n));
  }

  override async reconcile(key: string): Promise<void> {
    const crd = this.crds.get(key);
    if (!crd?.metadata?.deletionTimestamp || !(crd.metadata.finalizers ?? []).includes(CLEANUP_FINALIZER)) return;
    const ref: ResourceRef = { group: crd.spec.group, version: storageVersionOf(crd) ?? crd.spec.versions?.[0]?.name, resource: crd.status?.acceptedNames?.plural ?? crd.spec.names.plural };
    let remaining: KubeObject[] = [];
    try {
      remaining = (await this.client.list(ref, '')).items;
      await Promise.all(
        remaining.map((o) =>
          this.client.delete(ref, o.metadata?.namespace ?? '', o.metadata!.name!).catch((err) => {
            if (!(err instanceof ApiError && err.code === 404)) throw err;
          }),
        ),
      );
      remaining = (await this.client.list(ref, '')).items;
    } catch (err) {
      // Not served (never established): nothing can exist to delete.
      if (!(err instanceof ApiError && err.code === 404)) throw err;
      remaining = [];
    }
    if (remaining.length > 0) {
      // Objects with finalizers of their own are gone only when their owners let them go: look again later.
      throw new Error(`${remaining.length} ${ref.resource} remain`);
    }
    const conditions = setCondition(crd.status?.conditions ?? [], { type: 'Terminating', status: 'False', reason: 'InstanceDeletionCompleted', message: 'removed all instances' });
    const next = { ...crd, metadata: { ...crd.metadata, finalizers: (crd.metadata.finalizers ?? []).filter((f: string) => f !== CLEANUP_FINALIZER) }, status: { ...crd.status, conditions } };
    try {
      await this.client.update(CRDS, '', next);
    } catch (err) {
      if (err instanceof ApiError && (err.code === 404 || err.code === 409)) return;
      throw err;
    }
  }
}
