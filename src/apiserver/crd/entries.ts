/**
 * A CustomResourceDefinition seen as catalog entries: one ResourceEntry per served version, so the
 * generic handlers, discovery, OpenAPI and tables serve custom kinds with no code of their own.
 */
import { STANDARD_VERBS } from '../../api/catalog.js';
import type { KubeObject, PrinterColumn, ResourceEntry } from '../../api/types.js';

export const CRD_PREFIX = '/registry/apiextensions.k8s.io/customresourcedefinitions/';

/** Upstream's OpenAPI definition name of a custom kind: the group reversed, then version and kind. */
export function customDefinitionName(group: string, version: string, kind: string): string {
  return `${group.split('.').reverse().join('.')}.${version}.${kind}`;
}

export function conditionTrue(crd: KubeObject, type: string): boolean {
  return (crd.status?.conditions ?? []).some((c: any) => c?.type === type && c?.status === 'True');
}

export function storageVersionOf(crd: KubeObject): string | undefined {
  return (crd.spec?.versions ?? []).find((v: any) => v?.storage === true)?.name;
}

/** The entries of every served version; names come from status.acceptedNames, as upstream serves them. */
export function entriesFromCrd(crd: KubeObject): ResourceEntry[] {
  const spec = crd.spec ?? {};
  const names = crd.status?.acceptedNames?.plural ? crd.status.acceptedNames : spec.names;
  const group: string = spec.group;
  const storageVersion = storageVersionOf(crd);
  if (!names?.plural || !names.kind || !group || !storageVersion) return [];
  const all: ResourceEntry[] = [];
  for (const v of spec.versions ?? []) {
    if (!v?.name) continue;
    const sub = v.subresources ?? {};
    const scale = sub.scale
      ? { specReplicasPath: sub.scale.specReplicasPath, statusReplicasPath: sub.scale.statusReplicasPath, labelSelectorPath: sub.scale.labelSelectorPath }
      : undefined;
    all.push({
      group,
      version: v.name,
      kind: names.kind,
      listKind: names.listKind ?? `${names.kind}List`,
      plural: names.plural,
      singular: names.singular ?? names.kind.toLowerCase(),
      namespaced: spec.scope === 'Namespaced',
      shortNames: names.shortNames ?? [],
      categories: names.categories ?? [],
      verbs: STANDARD_VERBS,
      definition: customDefinitionName(group, v.name, names.kind),
      subresources: { ...(sub.status ? { status: true } : {}), ...(scale ? { scale } : {}) },
      // Custom resources track generation themselves (see strategy.ts): every change outside metadata (and status) counts.
      hasSpec: false,
      custom: {
        crdName: crd.metadata?.name ?? `${names.plural}.${group}`,
        schema: v.schema?.openAPIV3Schema,
        storageVersion,
        printerColumns: (v.additionalPrinterColumns ?? []) as PrinterColumn[],
        selectableFields: v.selectableFields ?? [],
        deprecationWarning: v.deprecated ? (v.deprecationWarning ?? `${group}/${v.name} ${names.kind} is deprecated`) : undefined,
        terminating: !!crd.metadata?.deletionTimestamp,
        conversion: spec.conversion?.strategy ?? 'None',
      },
    });
  }
  const storage = all.find((e) => e.version === storageVersion);
  const served = new Set((spec.versions ?? []).filter((v: any) => v?.served).map((v: any) => v.name));
  return all.filter((e) => served.has(e.version)).map((e) => (e === storage || !storage ? e : { ...e, custom: { ...e.custom!, storage } }));
}
