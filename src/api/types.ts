/**
 * The vocabulary of the resource catalog. A kind is data: one ResourceEntry says everything the
 * generic API machinery needs to serve it. Kind-specific rules are looked up by GroupKind in the
 * tables next to this file (strategies, tables, fields), so adding a kind never adds a handler.
 */
import type { StatusCause } from './errors.js';

/** Any API object as it travels as JSON. */
export interface KubeObject {
  apiVersion?: string;
  kind?: string;
  metadata?: ObjectMeta;
  [field: string]: any;
}

export interface OwnerReference {
  apiVersion: string;
  kind: string;
  name: string;
  uid: string;
  controller?: boolean;
  blockOwnerDeletion?: boolean;
}

export interface ObjectMeta {
  name?: string;
  generateName?: string;
  namespace?: string;
  uid?: string;
  resourceVersion?: string;
  generation?: number;
  creationTimestamp?: string;
  deletionTimestamp?: string;
  deletionGracePeriodSeconds?: number;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  ownerReferences?: OwnerReference[];
  finalizers?: string[];
  managedFields?: unknown[];
  [field: string]: any;
}

/** "Deployment.apps", or just "Pod" for the core group: upstream's GroupKind.String(). */
export function groupKind(group: string, kind: string): string {
  return group ? `${kind}.${group}` : kind;
}

export interface TableColumn {
  name: string;
  type: 'string' | 'integer' | 'number' | 'boolean' | 'date';
  format: string;
  description: string;
  /** 0 = shown by `kubectl get`; 1 = only with `-o wide`. */
  priority: number;
}

export interface TableDef {
  columns: TableColumn[];
  /** One row's cells, in column order; `now` makes ages deterministic in tests. */
  cells(obj: KubeObject, now: Date): unknown[];
}

/** Where a kind's scale subresource reads and writes, as JSON paths in the object. */
export interface ScaleSpec {
  specReplicasPath: string;
  statusReplicasPath: string;
  labelSelectorPath?: string;
}

export interface Strategy {
  /** Fill in upstream's defaults (called on create and on update, after decoding). */
  default?(obj: KubeObject): void;
  /** Semantic rules the schema cannot express; `old` is set on update. Returns field causes. */
  validate?(obj: KubeObject, old?: KubeObject): StatusCause[];
  /**
   * The rules of an update through the status subresource (for pods also the binding), upstream's
   * status strategy ValidateUpdate; without it, `validate` runs. Such a write cannot change the spec
   * (the binding only sets spec.nodeName), and upstream does not validate the spec again there.
   */
  validateStatusUpdate?(obj: KubeObject, old: KubeObject): StatusCause[];
  /** Adjust a new object before it is stored (e.g. reset status, set a Pending phase); `user` is who creates it. */
  prepareForCreate?(obj: KubeObject, user?: { name: string; uid?: string; groups: string[]; extra?: Record<string, string[]> }): void;
  /** Adjust an updated object before it is stored, given the stored one. */
  prepareForUpdate?(obj: KubeObject, old: KubeObject): void;
  /** Adjust an object being marked for deletion (e.g. a Namespace turns Terminating). */
  prepareForDelete?(obj: KubeObject): void;
}

export interface ResourceEntry {
  group: string;
  version: string;
  kind: string;
  listKind: string;
  /** Lower-case plural, the URL segment: "deployments". */
  plural: string;
  singular: string;
  namespaced: boolean;
  shortNames: string[];
  /** e.g. ["all"] for what `kubectl get all` shows. */
  categories: string[];
  verbs: string[];
  /** Name of the OpenAPI definition describing the kind, e.g. "io.k8s.api.apps.v1.Deployment". */
  definition: string;
  /** finalize: a Namespace's spec.finalizers, writable only through /finalize. */
  subresources: {
    status?: boolean;
    scale?: ScaleSpec;
    finalize?: boolean;
    binding?: boolean;
    eviction?: boolean;
    /** A CertificateSigningRequest's status.conditions, writable only through /approval. */
    approval?: boolean;
    /** Subresources that only take a POST (serviceaccounts/token), by name, with the kind they take and answer; served by CreateOnlyHandlers. */
    createOnly?: Record<string, { group: string; version: string; kind: string }>;
  };
  /** Whether `metadata.generation` tracks spec changes (kinds with a spec). */
  hasSpec: boolean;
  /** Set for the versions a CustomResourceDefinition serves: what the generic machinery needs from it. */
  custom?: CustomResourceInfo;
}

/** A column of a CRD version's additionalPrinterColumns. */
export interface PrinterColumn {
  name: string;
  type: string;
  format?: string;
  description?: string;
  priority?: number;
  jsonPath: string;
}

export interface CustomResourceInfo {
  /** The CRD's name, "<plural>.<group>". */
  crdName: string;
  /** This version's openAPIV3Schema (upstream requires one per version in apiextensions/v1). */
  schema: Record<string, any> | undefined;
  /** Where objects of every version are stored (conversion strategy None: only apiVersion changes). */
  storageVersion: string;
  printerColumns: PrinterColumn[];
  selectableFields: { jsonPath: string }[];
  /** Set when the version is deprecated: the Warning every request for it gets. */
  deprecationWarning?: string;
  /** The CRD is being deleted: its objects may still be read and deleted, not created. */
  terminating: boolean;
  /** The storage version's entry (served or not), on the entries of every other version. */
  storage?: ResourceEntry;
  /** spec.conversion.strategy: only `None` converts; `Webhook` CRDs are served in their storage version only. */
  conversion: string;
}

export type FieldGetter = (obj: KubeObject) => string | undefined;
