/**
 * OpenAPI v3 as upstream serves it: a root listing one document per group-version (plus the
 * discovery documents `api`, `apis`, `apis/<group>` and `version`), each document holding the
 * paths and operations of its resources and the definitions they reach. kubectl reads it for
 * apply/create validation, `explain`, and to choose strategic merge patch for built-in kinds.
 * Everything derives from the catalog entries and the generated definitions, so a caller rebuilds
 * it when entries change (CRDs).
 */
import { createHash } from 'node:crypto';
import { REF_PREFIX, type Definitions } from '../api/schema.js';
import type { ResourceEntry } from '../api/types.js';

export interface OpenApiDocument {
  body: Buffer;
  /** sha512 of body, hex upper case, as upstream puts in the root's `?hash=`. */
  hash: string;
}

export interface OpenApiRoot {
  paths: Record<string, { serverRelativeURL: string }>;
}

export interface OpenApiV3 {
  root: OpenApiRoot;
  /** Keyed as in the root: `api/v1`, `apis/apps/v1`, `apis/apps`, `api`, `apis`, `version`. */
  documents: Map<string, OpenApiDocument>;
}

const META = 'io.k8s.apimachinery.pkg.apis.meta.v1';
const SCALE = 'io.k8s.api.autoscaling.v1.Scale';
const STATUS = `${META}.Status`;
const WATCH_EVENT = `${META}.WatchEvent`;

/**
 * Strategic merge patch needs the patch markers of Go types, so upstream offers it for built-in
 * kinds only (kubectl falls back to merge patch otherwise). Built-in definitions live in these
 * packages; custom resources are named after their reversed group instead.
 */
export function supportsStrategicMerge(entry: ResourceEntry): boolean {
  return entry.definition.startsWith('io.k8s.api.') || entry.definition.startsWith('io.k8s.apiextensions-apiserver.');
}

// ---- parameters ---------------------------------------------------------------------------------

type Json = Record<string, any>;

function query(name: string, type: string, description: string): Json {
  return { description, in: 'query', name, schema: { type, uniqueItems: true } };
}

function pathParam(name: string, description: string): Json {
  return { description, in: 'path', name, required: true, schema: { type: 'string', uniqueItems: true } };
}

const P = {
  allowWatchBookmarks: query('allowWatchBookmarks', 'boolean', 'allowWatchBookmarks requests watch events with type "BOOKMARK". Servers may ignore it and send bookmarks at their discretion. Ignored unless watching.'),
  continue: query('continue', 'string', 'The continue token from the previous page of a list call. An expired token answers 410 ResourceExpired.'),
  dryRun: query('dryRun', 'string', 'When present, indicates that modifications should not be persisted. Valid values are: - All: all dry run stages will be processed'),
  fieldManager: query('fieldManager', 'string', 'fieldManager is a name associated with the actor or entity that is making these changes: at most 128 printable characters. Required for apply patches.'),
  fieldSelector: query('fieldSelector', 'string', 'A selector to restrict the list of returned objects by their fields. Defaults to everything.'),
  fieldValidation: query('fieldValidation', 'string', 'fieldValidation says what to do with unknown or duplicate fields in the request body: Ignore (drop them silently), Warn (drop them with a warning header; the default) or Strict (fail the request with BadRequest).'),
  force: query('force', 'boolean', 'Force is going to "force" Apply requests: the request re-acquires conflicting fields owned by other managers. Must be unset for non-apply patches.'),
  gracePeriodSeconds: query('gracePeriodSeconds', 'integer', 'The duration in seconds before the object should be deleted. Zero means delete immediately; unset means the default for the kind.'),
  labelSelector: query('labelSelector', 'string', 'A selector to restrict the list of returned objects by their labels. Defaults to everything.'),
  limit: query('limit', 'integer', 'limit is the maximum number of objects to return in one list call; when more exist, metadata.continue is set to fetch the next page.'),
  orphanDependents: query('orphanDependents', 'boolean', 'Deprecated: use propagationPolicy. Whether dependent objects should be orphaned.'),
  pretty: query('pretty', 'string', "If 'true', then the output is pretty printed."),
  propagationPolicy: query('propagationPolicy', 'string', "Whether and how garbage collection will be performed: 'Orphan' orphans the dependents, 'Background' deletes them in the background, 'Foreground' deletes them before the owner."),
  resourceVersion: query('resourceVersion', 'string', 'resourceVersion sets a constraint on what resource versions a request may be served from. See https://kubernetes.io/docs/reference/using-api/api-concepts/#resource-versions for details.'),
  resourceVersionMatch: query('resourceVersionMatch', 'string', 'resourceVersionMatch determines how resourceVersion is applied to list calls: NotOlderThan or Exact.'),
  timeoutSeconds: query('timeoutSeconds', 'integer', 'Timeout for the list/watch call, regardless of any activity or inactivity.'),
  watch: query('watch', 'boolean', 'Watch for changes to the described resources and return them as a stream of add, update, and remove notifications. Specify resourceVersion.'),
  namespace: pathParam('namespace', 'object name and auth scope, such as for teams and projects'),
};

const LIST_PARAMS = [
  P.allowWatchBookmarks, P.continue, P.fieldSelector, P.labelSelector, P.limit,
  P.resourceVersion, P.resourceVersionMatch, P.timeoutSeconds, P.watch,
];
const DELETECOLLECTION_PARAMS = [
  P.continue, P.dryRun, P.fieldSelector, P.gracePeriodSeconds, P.labelSelector, P.limit,
  P.orphanDependents, P.propagationPolicy, P.resourceVersion, P.resourceVersionMatch, P.timeoutSeconds,
];
const WRITE_PARAMS = [P.dryRun, P.fieldManager, P.fieldValidation];
const PATCH_PARAMS = [...WRITE_PARAMS, P.force];
const DELETE_PARAMS = [P.dryRun, P.gracePeriodSeconds, P.orphanDependents, P.propagationPolicy];

/** Path-level parameters in upstream's order: alphabetical by name. */
function byName(params: Json[]): Json[] {
  return [...params].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

// ---- operations ---------------------------------------------------------------------------------

function ref(definition: string): Json {
  return { $ref: REF_PREFIX + definition };
}

/** skiff answers JSON and YAML; protobuf, which upstream also lists, is refused with 406. */
function content(definition: string, stream = false): Json {
  const schema = { schema: ref(definition) };
  return stream
    ? { 'application/json': schema, 'application/json;stream=watch': schema, 'application/yaml': schema }
    : { 'application/json': schema, 'application/yaml': schema };
}

function responses(definition: string, codes: string[], stream = false): Json {
  const out: Json = {};
  for (const code of codes) out[code] = { content: content(definition, stream), description: code === '200' ? 'OK' : code === '201' ? 'Created' : 'Accepted' };
  out['401'] = { description: 'Unauthorized' };
  return out;
}

interface Names {
  /** "AppsV1", "CoreV1", "RbacAuthorizationV1": upstream's operationId infix. */
  gv: string;
  /** "apps_v1", "core_v1", "rbacAuthorization_v1". */
  tag: string;
}

function capitalize(s: string): string {
  return s.charAt(0).toUpperCase() + s.slice(1);
}

/** Upstream drops ".k8s.io" and camel-cases the rest of the group: rbac.authorization.k8s.io → RbacAuthorization. */
function groupWord(group: string): string {
  if (!group) return 'Core';
  return group.replace(/\.k8s\.io$/, '').split(/[.-]/).map(capitalize).join('');
}

function namesOf(group: string, version: string): Names {
  const g = groupWord(group);
  return { gv: g + capitalize(version), tag: `${g.charAt(0).toLowerCase()}${g.slice(1)}_${version}` };
}

interface OpSpec {
  method: 'get' | 'put' | 'post' | 'patch' | 'delete';
  action: string;
  operationId: string;
  description: string;
  params?: Json[];
  body?: Json;
  responses: Json;
  gvk: Json;
}

/** Keys in upstream's (alphabetical) order, so documents read like upstream's. */
function operation(o: OpSpec, tag: string): Json {
  const op: Json = { description: o.description, operationId: o.operationId };
  if (o.params && o.params.length > 0) op.parameters = o.params;
  if (o.body) op.requestBody = { content: o.body };
  op.responses = o.responses;
  op.tags = [tag];
  op['x-kubernetes-action'] = o.action;
  op['x-kubernetes-group-version-kind'] = o.gvk;
  return op;
}

function pathItem(ops: OpSpec[], tag: string, params: Json[]): Json {
  const item: Json = {};
  for (const o of ops) item[o.method] = operation(o, tag);
  if (params.length > 0) item.parameters = byName(params);
  return Object.fromEntries(Object.entries(item).sort(([a], [b]) => (a < b ? -1 : 1)));
}

function patchBody(strategic: boolean): Json {
  const schema = { schema: ref(`${META}.Patch`) };
  const body: Json = { 'application/apply-patch+yaml': schema, 'application/json-patch+json': schema, 'application/merge-patch+json': schema };
  if (strategic) body['application/strategic-merge-patch+json'] = schema;
  return body;
}

/** The paths upstream serves for one resource, including the deprecated /watch/ forms skiff still routes. */
function resourcePaths(e: ResourceEntry, names: Names, out: Json): void {
  const prefix = e.group ? `/apis/${e.group}/${e.version}` : `/api/${e.version}`;
  const ns = e.namespaced ? 'Namespaced' : '';
  const scope = e.namespaced ? '/namespaces/{namespace}' : '';
  const scopeParams = e.namespaced ? [P.namespace] : [];
  const kind = e.kind;
  const gvk = { group: e.group, kind, version: e.version };
  const list = `${e.definition}List`;
  const can = (verb: string) => e.verbs.includes(verb);
  const strategic = supportsStrategicMerge(e);
  const id = (verb: string, suffix = '') => `${verb}${names.gv}${ns}${kind}${suffix}`;
  const name = pathParam('name', `name of the ${kind}`);
  const tag = names.tag;

  const collection: OpSpec[] = [];
  if (can('list')) {
    collection.push({ method: 'get', action: 'list', operationId: id('list'), description: `list or watch objects of kind ${kind}`, params: LIST_PARAMS, responses: responses(list, ['200'], true), gvk });
  }
  if (can('create')) {
    collection.push({ method: 'post', action: 'post', operationId: id('create'), description: `create a ${kind}`, params: WRITE_PARAMS, body: { '*/*': { schema: ref(e.definition) } }, responses: responses(e.definition, ['200', '201', '202']), gvk });
  }
  if (can('deletecollection')) {
    collection.push({ method: 'delete', action: 'deletecollection', operationId: `delete${names.gv}Collection${ns}${kind}`, description: `delete collection of ${kind}`, params: DELETECOLLECTION_PARAMS, body: { '*/*': { schema: ref(`${META}.DeleteOptions`) } }, responses: responses(STATUS, ['200']), gvk });
  }
  // Parameters every operation of a path shares sit on the path, as upstream's builder puts them:
  // a create-only kind (the reviews) has its create's parameters there.
  if (collection.length === 1 && collection[0].method === 'post') {
    out[`${prefix}${scope}/${e.plural}`] = pathItem([{ ...collection[0], params: undefined }], tag, [...WRITE_PARAMS, ...scopeParams, P.pretty]);
  } else if (collection.length > 0) out[`${prefix}${scope}/${e.plural}`] = pathItem(collection, tag, [...scopeParams, P.pretty]);

  const item: OpSpec[] = [];
  if (can('get')) item.push({ method: 'get', action: 'get', operationId: id('read'), description: `read the specified ${kind}`, responses: responses(e.definition, ['200']), gvk });
  if (can('update')) item.push({ method: 'put', action: 'put', operationId: id('replace'), description: `replace the specified ${kind}`, params: WRITE_PARAMS, body: { '*/*': { schema: ref(e.definition) } }, responses: responses(e.definition, ['200', '201']), gvk });
  if (can('patch')) item.push({ method: 'patch', action: 'patch', operationId: id('patch'), description: `partially update the specified ${kind}`, params: PATCH_PARAMS, body: patchBody(strategic), responses: responses(e.definition, ['200', '201']), gvk });
  if (can('delete')) item.push({ method: 'delete', action: 'delete', operationId: id('delete'), description: `delete a ${kind}`, params: DELETE_PARAMS, body: { '*/*': { schema: ref(`${META}.DeleteOptions`) } }, responses: responses(STATUS, ['200', '202']), gvk });
  const itemPath = `${prefix}${scope}/${e.plural}/{name}`;
  if (item.length > 0) out[itemPath] = pathItem(item, tag, [name, ...scopeParams, P.pretty]);

  const sub = (what: 'status' | 'scale', definition: string, subGvk: Json) => {
    const suffix = capitalize(what);
    const ops: OpSpec[] = [
      { method: 'get', action: 'get', operationId: id('read', suffix), description: `read ${what} of the specified ${kind}`, responses: responses(definition, ['200']), gvk: subGvk },
      { method: 'put', action: 'put', operationId: id('replace', suffix), description: `replace ${what} of the specified ${kind}`, params: WRITE_PARAMS, body: { '*/*': { schema: ref(definition) } }, responses: responses(definition, ['200', '201']), gvk: subGvk },
      { method: 'patch', action: 'patch', operationId: id('patch', suffix), description: `partially update ${what} of the specified ${kind}`, params: PATCH_PARAMS, body: patchBody(strategic), responses: responses(definition, ['200', '201']), gvk: subGvk },
    ];
    out[`${itemPath}/${what}`] = pathItem(ops, tag, [name, ...scopeParams, P.pretty]);
  };
  if (e.subresources.status) sub('status', e.definition, gvk);
  if (e.subresources.scale) sub('scale', SCALE, { group: 'autoscaling', kind: 'Scale', version: 'v1' });

  if (e.namespaced && can('list')) {
    const op: OpSpec = { method: 'get', action: 'list', operationId: `list${names.gv}${kind}ForAllNamespaces`, description: `list or watch objects of kind ${kind}`, responses: responses(list, ['200'], true), gvk };
    out[`${prefix}/${e.plural}`] = pathItem([op], tag, [...LIST_PARAMS, P.pretty]);
  }

  if (!can('watch')) return;
  const watch = (path: string, action: string, operationId: string, description: string, params: Json[]) => {
    const op: OpSpec = { method: 'get', action, operationId, description, responses: responses(WATCH_EVENT, ['200'], true), gvk };
    out[path] = pathItem([op], tag, [...LIST_PARAMS, ...params, P.pretty]);
  };
  const deprecated = "deprecated: use the 'watch' parameter with a list operation instead";
  watch(`${prefix}/watch${scope}/${e.plural}`, 'watchlist', id('watch', 'List'), `watch individual changes to a list of ${kind}. ${deprecated}.`, scopeParams);
  watch(`${prefix}/watch${scope}/${e.plural}/{name}`, 'watch', id('watch'), `watch changes to an object of kind ${kind}. ${deprecated}, filtered to a single item with the 'fieldSelector' parameter.`, [name, ...scopeParams]);
  if (e.namespaced) {
    watch(`${prefix}/watch/${e.plural}`, 'watchlist', `watch${names.gv}${kind}ListForAllNamespaces`, `watch individual changes to a list of ${kind}. ${deprecated}.`, []);
  }
}

function discoveryPath(path: string, operationId: string, description: string, tag: string, definition: string): Json {
  return { [path]: { get: { description, operationId, responses: responses(definition, ['200']), tags: [tag] } } };
}

// ---- definitions and serialization -------------------------------------------------------------

/**
 * A stand-in for kinds without a generated definition (custom resources until their schema is
 * wired in): anything goes, but the GVK is there, which kubectl needs to map the kind to it.
 */
function placeholderDefinitions(e: ResourceEntry): Record<string, Json> {
  const gvk = [{ group: e.group, kind: e.kind, version: e.version }];
  const listGvk = [{ group: e.group, kind: e.listKind, version: e.version }];
  return {
    [e.definition]: { type: 'object', 'x-kubernetes-group-version-kind': gvk, 'x-kubernetes-preserve-unknown-fields': true },
    [`${e.definition}List`]: {
      properties: {
        apiVersion: { type: 'string' },
        items: { items: ref(e.definition), type: 'array' },
        kind: { type: 'string' },
        metadata: { allOf: [ref(`${META}.ListMeta`)], default: {} },
      },
      required: ['items'],
      type: 'object',
      'x-kubernetes-group-version-kind': listGvk,
    },
  };
}

/** Names every $ref inside a value points at. */
function collectRefs(value: unknown, out: string[]): void {
  if (Array.isArray(value)) {
    for (const v of value) collectRefs(v, out);
  } else if (value !== null && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) {
      if (k === '$ref' && typeof v === 'string') out.push(v.startsWith(REF_PREFIX) ? v.slice(REF_PREFIX.length) : v);
      else collectRefs(v, out);
    }
  }
}

class DocumentWriter {
  // Definitions such as ObjectMeta appear in every document: walk and serialize each once per build.
  private readonly refs = new Map<string, string[]>();
  private readonly json = new Map<string, string>();

  constructor(private readonly defs: Definitions) {}

  private refsOf(name: string): string[] {
    let r = this.refs.get(name);
    if (!r) {
      r = [];
      collectRefs(this.defs[name], r);
      this.refs.set(name, r);
    }
    return r;
  }

  /** The definitions `paths` reaches, directly or through other definitions, sorted by name. */
  private closure(paths: Json): string[] {
    const todo: string[] = [];
    collectRefs(paths, todo);
    const seen = new Set<string>();
    while (todo.length > 0) {
      const n = todo.pop()!;
      if (seen.has(n)) continue;
      if (this.defs[n] === undefined) throw new Error(`OpenAPI: no definition ${n}`);
      seen.add(n);
      todo.push(...this.refsOf(n));
    }
    return [...seen].sort();
  }

  write(paths: Json): OpenApiDocument {
    const schemas = this.closure(paths).map((n) => {
      let s = this.json.get(n);
      if (s === undefined) {
        s = JSON.stringify(this.defs[n]);
        this.json.set(n, s);
      }
      return `${JSON.stringify(n)}:${s}`;
    });
    const sortedPaths = Object.fromEntries(Object.entries(paths).sort(([a], [b]) => (a < b ? -1 : 1)));
    // Assembled by hand so the shared definitions are not serialized again; keys in upstream's order.
    const text =
      `{"components":{"schemas":{${schemas.join(',')}},"securitySchemes":${SECURITY_SCHEMES}},` +
      `"info":{"title":"Kubernetes","version":"unversioned"},"openapi":"3.0.0","paths":${JSON.stringify(sortedPaths)}}`;
    const body = Buffer.from(text, 'utf8');
    return { body, hash: createHash('sha512').update(body).digest('hex').toUpperCase() };
  }
}

const SECURITY_SCHEMES = JSON.stringify({
  BearerToken: { description: 'Bearer Token authentication', in: 'header', name: 'authorization', type: 'apiKey' },
});

/**
 * Builds the root and every document. Cheap enough to do in one go (tens of milliseconds for the
 * built-in catalog, see openapi.test.ts); callers build on first request and again when entries change.
 */
export function buildOpenApiV3(entries: ResourceEntry[], defs: Definitions): OpenApiV3 {
  let allDefs = defs;
  for (const e of entries) {
    if (defs[e.definition] === undefined) allDefs = { ...allDefs, ...placeholderDefinitions(e) };
  }
  const writer = new DocumentWriter(allDefs);
  const byGroupVersion = new Map<string, ResourceEntry[]>();
  for (const e of entries) {
    const key = e.group ? `apis/${e.group}/${e.version}` : `api/${e.version}`;
    if (!byGroupVersion.has(key)) byGroupVersion.set(key, []);
    byGroupVersion.get(key)!.push(e);
  }

  const documents = new Map<string, OpenApiDocument>();
  const groups = new Set<string>();
  for (const [key, es] of byGroupVersion) {
    const { group, version } = es[0];
    if (group) groups.add(group);
    const names = namesOf(group, version);
    const paths: Json = discoveryPath(`/${key}/`, `get${names.gv}APIResources`, 'get available resources', names.tag, `${META}.APIResourceList`);
    for (const e of es) resourcePaths(e, names, paths);
    documents.set(key, writer.write(paths));
  }
  documents.set('api', writer.write(discoveryPath('/api/', 'getCoreAPIVersions', 'get available API versions', 'core', `${META}.APIVersions`)));
  documents.set('apis', writer.write(discoveryPath('/apis/', 'getAPIVersions', 'get available API versions', 'apis', `${META}.APIGroupList`)));
  for (const group of groups) {
    const word = groupWord(group);
    const tag = word.charAt(0).toLowerCase() + word.slice(1);
    documents.set(`apis/${group}`, writer.write(discoveryPath(`/apis/${group}/`, `get${word}APIGroup`, 'get information of a group', tag, `${META}.APIGroup`)));
  }
  documents.set('version', writer.write(discoveryPath('/version/', 'getCodeVersion', 'get the code version', 'version', 'io.k8s.apimachinery.pkg.version.Info')));

  const root: OpenApiRoot = { paths: {} };
  for (const key of [...documents.keys()].sort()) {
    root.paths[key] = { serverRelativeURL: `/openapi/v3/${key}?hash=${documents.get(key)!.hash}` };
  }
  return { root, documents };
}
