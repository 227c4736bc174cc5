/**
 * Splits a request path into what upstream calls RequestInfo: API prefix, group, version,
 * namespace, resource, name, subresource and the verb it maps to.
 */

export interface RequestInfo {
  isResourceRequest: boolean;
  path: string;
  /** "api" or "apis" for resource requests. */
  apiPrefix: string;
  group: string;
  version: string;
  namespace: string;
  resource: string;
  subresource: string;
  name: string;
  /** get | list | watch | create | update | patch | delete | deletecollection, or the HTTP verb for others. */
  verb: string;
  /** Path segments after the group/version (for non-resource paths like /apis/apps). */
  parts: string[];
  /** The path named a namespace before the resource (/namespaces/{ns}/{resource}/...). */
  namespacedPath: boolean;
  /** The path used the deprecated /watch/ prefix. */
  watchPath: boolean;
}

const NAMESPACE_SUBRESOURCES = new Set(['status', 'finalize']);

export function parseRequestInfo(method: string, path: string, query: URLSearchParams): RequestInfo {
  const info: RequestInfo = {
    isResourceRequest: false,
    path,
    apiPrefix: '',
    group: '',
    version: '',
    namespace: '',
    resource: '',
    subresource: '',
    name: '',
    verb: method.toLowerCase(),
    parts: [],
    namespacedPath: false,
    watchPath: false,
  };
  const segs = path.split('/').filter((s) => s.length > 0);
  if (segs.length === 0 || (segs[0] !== 'api' && segs[0] !== 'apis')) return info;
  info.apiPrefix = segs[0];
  let i = 1;
  if (info.apiPrefix === 'apis') {
    if (segs.length < 3) {
      info.parts = segs;
      return info;
    }
    info.group = segs[1];
    i = 2;
  } else if (segs.length < 2) {
    info.parts = segs;
    return info;
  }
  info.version = segs[i++];
  let rest = segs.slice(i).map(safeDecode);
  info.parts = rest;
  if (rest.length === 0) return info;
  info.isResourceRequest = true;

  // Deprecated /watch/ prefix paths still used by old clients.
  let watchPrefix = false;
  if (rest[0] === 'watch') {
    watchPrefix = true;
    rest = rest.slice(1);
  }
  // "/namespaces/{ns}/{resource}/..." names a namespaced resource, but "/namespaces/{name}/status"
  // and "/namespaces/{name}/finalize" are subresources of the namespace itself.
  if (rest[0] === 'namespaces' && rest.length >= 3 && !NAMESPACE_SUBRESOURCES.has(rest[2])) {
    info.namespace = rest[1];
    info.namespacedPath = true;
    rest = rest.slice(2);
  } else if (rest[0] === 'namespaces' && rest.length >= 2) {
    info.namespace = rest[1];
  }
  info.resource = rest[0];
  if (rest.length >= 2) info.name = rest[1];
  if (rest.length >= 3) info.subresource = rest.slice(2).join('/');

  info.watchPath = watchPrefix;
  const m = method.toUpperCase();
  if ((watchPrefix && m === 'GET') || (m === 'GET' && isTrue(query.get('watch')))) info.verb = 'watch';
  else if (m === 'GET') info.verb = info.name ? 'get' : 'list';
  else if (m === 'POST') info.verb = 'create';
  else if (m === 'PUT') info.verb = 'update';
  else if (m === 'PATCH') info.verb = 'patch';
  else if (m === 'DELETE') info.verb = info.name ? 'delete' : 'deletecollection';
  return info;
}

function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

export function isTrue(v: string | null): boolean {
  return v === 'true' || v === '1';
}

/**
 * The name a `metadata.name=` field selector narrows a list or watch to: upstream's RequestInfo
 * takes it as the request's name, so a rule with resourceNames (or the Node authorizer) can allow
 * watching one object.
 */
export function fieldSelectorName(fieldSelector: string | null | undefined): string {
  return /(?:^|,)metadata\.name==?([^,]*)(?:,|$)/.exec(fieldSelector ?? '')?.[1] ?? '';
}
