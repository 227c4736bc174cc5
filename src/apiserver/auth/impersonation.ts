/**
 * Impersonation (upstream's endpoints/filters/impersonation.go): a request carrying
 * Impersonate-User, Impersonate-Group (repeatable), Impersonate-Uid or Impersonate-Extra-<key>
 * headers runs as the user they describe, once the authenticated requester has been authorized to
 * `impersonate` each part of it: users (or the serviceaccounts object for
 * `system:serviceaccount:<ns>:<name>`), groups, uids, and userextras/<key>.
 */
import type { IncomingMessage } from 'node:http';
import { errors } from '../../api/errors.js';
import type { Attributes } from '../authz/types.js';
import type { UserInfo } from './user.js';

const USER = 'impersonate-user';
const GROUP = 'impersonate-group';
const UID = 'impersonate-uid';
const EXTRA_PREFIX = 'impersonate-extra-';

const AUTHENTICATED = 'system:authenticated';
const UNAUTHENTICATED = 'system:unauthenticated';
const ANONYMOUS = 'system:anonymous';
const SERVICE_ACCOUNT_PREFIX = 'system:serviceaccount:';

interface ImpersonationRequest {
  kind: 'User' | 'ServiceAccount' | 'Group' | 'UserExtra' | 'UID';
  namespace?: string;
  name: string;
  /** The extra's key (UserExtra only). */
  key?: string;
}

/** `system:serviceaccount:<ns>:<name>` → [ns, name] (upstream's serviceaccount.SplitUsername). */
function splitServiceAccount(user: string): [string, string] | undefined {
  if (!user.startsWith(SERVICE_ACCOUNT_PREFIX)) return undefined;
  const parts = user.slice(SERVICE_ACCOUNT_PREFIX.length).split(':');
  if (parts.length !== 2 || !parts[0] || !parts[1]) return undefined;
  return [parts[0], parts[1]];
}

function unescapeKey(key: string): string {
  try {
    return decodeURIComponent(key);
  } catch {
    return key;
  }
}

/** How Go prints the []ObjectReference upstream's message names (close enough to read). */
function describe(reqs: ImpersonationRequest[]): string {
  return `[${reqs.map((r) => `{${r.kind} ${r.namespace ?? ''} ${r.name}${r.key ? ` ${r.key}` : ''}}`).join(' ')}]`;
}

function requestsOf(headers: NodeJS.Dict<string[]>): ImpersonationRequest[] {
  const out: ImpersonationRequest[] = [];
  const user = headers[USER]?.[0] ?? '';
  if (user) {
    const sa = splitServiceAccount(user);
    out.push(sa ? { kind: 'ServiceAccount', namespace: sa[0], name: sa[1] } : { kind: 'User', name: user });
  }
  const groups = headers[GROUP] ?? [];
  for (const g of groups) out.push({ kind: 'Group', name: g });
  let extras = false;
  for (const [header, values] of Object.entries(headers)) {
    if (!header.startsWith(EXTRA_PREFIX) || !values) continue;
    extras = true;
    const key = unescapeKey(header.slice(EXTRA_PREFIX.length).toLowerCase());
    for (const v of values) out.push({ kind: 'UserExtra', name: v, key });
  }
  const uid = headers[UID]?.[0] ?? '';
  if (uid) out.push({ kind: 'UID', name: uid });
  // Upstream answers this with an internal error; it is the client's mistake, so skiff says 400.
  if ((groups.length > 0 || extras || uid) && !user) throw errors.badRequest(`requested ${describe(out)} without impersonating a user`);
  return out;
}

/**
 * The user a request acts as: `requestor` itself when it asks for no impersonation, else the
 * impersonated user, after `authorize` (which throws upstream's 403) allowed every part of it.
 */
export function impersonate(req: IncomingMessage, requestor: UserInfo, authorize: (a: Attributes) => void): UserInfo {
  // Most requests impersonate no one: look at the header names already parsed before building the
  // repeated-header view (Node joins repeated unknown headers with commas in req.headers).
  let any = false;
  for (const h in req.headers) {
    if (h.startsWith('impersonate-')) {
      any = true;
      break;
    }
  }
  if (!any) return requestor;
  const headers = req.headersDistinct;
  const requests = requestsOf(headers);
  if (requests.length === 0) return requestor;

  const groupsSpecified = (headers[GROUP]?.length ?? 0) > 0;
  let username = '';
  let uid = '';
  let groups: string[] = [];
  const extra: Record<string, string[]> = {};
  for (const r of requests) {
    const a: Attributes = {
      user: requestor,
      verb: 'impersonate',
      resourceRequest: true,
      path: '',
      apiGroup: '',
      apiVersion: 'v1',
      resource: '',
      subresource: '',
      namespace: r.namespace ?? '',
      name: r.name,
    };
    switch (r.kind) {
      case 'ServiceAccount':
        a.resource = 'serviceaccounts';
        username = `${SERVICE_ACCOUNT_PREFIX}${r.namespace}:${r.name}`;
        // A service account's groups are fixed; they are implied unless groups were asked for.
        if (!groupsSpecified) groups = ['system:serviceaccounts', `system:serviceaccounts:${r.namespace}`];
        break;
      case 'User':
        a.resource = 'users';
        username = r.name;
        break;
      case 'Group':
        a.resource = 'groups';
        groups.push(r.name);
        break;
      case 'UserExtra':
        a.apiGroup = 'authentication.k8s.io';
        a.resource = 'userextras';
        a.subresource = r.key ?? '';
        (extra[r.key ?? ''] ??= []).push(r.name);
        break;
      case 'UID':
        a.apiGroup = 'authentication.k8s.io';
        a.resource = 'uids';
        uid = r.name;
        break;
    }
    authorize(a);
  }

  if (username !== ANONYMOUS) {
    if (!groups.some((g) => g === AUTHENTICATED || g === UNAUTHENTICATED)) groups.push(AUTHENTICATED);
  } else if (!groups.includes(UNAUTHENTICATED)) {
    groups.push(UNAUTHENTICATED);
  }
  return { name: username, groups, ...(uid ? { uid } : {}), ...(Object.keys(extra).length ? { extra } : {}) };
}
