/**
 * The one client interface every component uses to reach the API. Two transports implement it with
 * identical semantics: in-process (inside `skiff up`) and HTTPS (components on other machines).
 */
import type { KubeObject } from '../api/types.js';

export interface ResourceRef {
  group: string;
  version: string;
  /** Plural resource name, e.g. "deployments". */
  resource: string;
}

export interface ListOptions {
  labelSelector?: string;
  fieldSelector?: string;
  limit?: number;
  continue?: string;
  resourceVersion?: string;
}

export interface ListResult {
  items: KubeObject[];
  resourceVersion: string;
  continue?: string;
}

export interface WriteOptions {
  dryRun?: boolean;
  /** Who the write is recorded under in managedFields; required for server-side apply. */
  fieldManager?: string;
  subresource?: string;
  /** Server-side apply only: take fields other managers own instead of failing with a conflict. */
  force?: boolean;
}

export interface DeleteOptions {
  gracePeriodSeconds?: number;
  propagationPolicy?: 'Orphan' | 'Background' | 'Foreground';
  preconditions?: { uid?: string; resourceVersion?: string };
}

export type PatchType = 'application/merge-patch+json' | 'application/strategic-merge-patch+json' | 'application/json-patch+json' | 'application/apply-patch+yaml';

export type WatchEventType = 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR';

export interface WatchOptions extends ListOptions {
  allowWatchBookmarks?: boolean;
}

export interface WatchHandle {
  stop(): void;
}

export interface Client {
  get(ref: ResourceRef, namespace: string, name: string): Promise<KubeObject>;
  list(ref: ResourceRef, namespace: string, opts?: ListOptions): Promise<ListResult>;
  create(ref: ResourceRef, namespace: string, obj: KubeObject, opts?: WriteOptions): Promise<KubeObject>;
  update(ref: ResourceRef, namespace: string, obj: KubeObject, opts?: WriteOptions): Promise<KubeObject>;
  patch(ref: ResourceRef, namespace: string, name: string, type: PatchType, patch: unknown, opts?: WriteOptions): Promise<KubeObject>;
  delete(ref: ResourceRef, namespace: string, name: string, opts?: DeleteOptions): Promise<void>;
  /**
   * Streams changes after opts.resourceVersion (or the current state first when it is unset).
   * `onEvent` gets ERROR with a Status object (e.g. 410 Expired) and then the watch is over.
   * Event objects are shared and frozen: copy one before changing it.
   */
  watch(ref: ResourceRef, namespace: string, opts: WatchOptions, onEvent: (type: WatchEventType, obj: KubeObject) => void): WatchHandle;
  /** The resources the server serves (discovery). */
  resources(): Promise<{ ref: ResourceRef; namespaced: boolean; kind: string; verbs: string[]; preferred: boolean }[]>;
}
