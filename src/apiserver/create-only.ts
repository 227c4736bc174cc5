/**
 * Kinds and subresources that take only a POST and store nothing themselves: upstream's
 * create-only REST storages (TokenRequest on serviceaccounts/token, TokenReview, the access
 * reviews, SelfSubjectReview). The catalog describes them like any kind (a `create`-only entry,
 * or a `createOnly` subresource); the API server registers the code that answers them here, and
 * both the HTTP handlers and the in-process client dispatch through this one table.
 */
import type { KubeObject, ResourceEntry } from '../api/types.js';
import type { UserInfo } from './auth/user.js';

export interface CreateOnlyRequest {
  user: UserInfo;
  /** The entry the request addressed (its group/version/kind answer the response's apiVersion/kind). */
  entry: ResourceEntry;
  namespace: string;
  /** The parent object's name for a subresource (the ServiceAccount of serviceaccounts/token); '' for a kind. */
  name: string;
  dryRun: boolean;
}

/** Answers one create: validates `body` (a 4xx ApiError on bad input) and returns the object to send back with 201. */
export type CreateOnlyHandler = (req: CreateOnlyRequest, body: unknown) => Promise<KubeObject> | KubeObject;

export class CreateOnlyHandlers {
  private readonly handlers = new Map<string, CreateOnlyHandler>();

  /** `subresource` '' registers a whole kind (every version the catalog serves of `group`/`resource`). */
  register(group: string, resource: string, subresource: string, handler: CreateOnlyHandler): void {
    this.handlers.set(key(group, resource, subresource), handler);
  }

  lookup(group: string, resource: string, subresource: string): CreateOnlyHandler | undefined {
    return this.handlers.get(key(group, resource, subresource));
  }
}

function key(group: string, resource: string, subresource: string): string {
  return `${group}/${resource}/${subresource}`;
}
