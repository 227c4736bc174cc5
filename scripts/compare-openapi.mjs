// Dev tool (not run by tests or the product): compares generated/definitions.json with upstream's
// OpenAPI v3 components and prints what differs, to drive scripts/schema-facts.mjs.
//
//   node scripts/compare-openapi.mjs [--upstream DIR] [--all] [--verbose] [--descriptions]
//
// DIR holds upstream's api/openapi-spec/v3/*.json (default /work/shared/k8s-openapi/v3, Kubernetes
// 1.26). By default only definitions the catalog reaches are compared (read from dist/, so build
// first); --all compares every definition both sides have.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const REF_PREFIX = '#/components/schemas/';
const EXTENSIONS = [
  'x-kubernetes-patch-strategy',
  'x-kubernetes-patch-merge-key',
  'x-kubernetes-list-type',
  'x-kubernetes-list-map-keys',
  'x-kubernetes-map-type',
];

const args = process.argv.slice(2);
const flag = (name) => args.includes(name);
const option = (name, dflt) => (args.includes(name) ? args[args.indexOf(name) + 1] : dflt);
const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const upstreamDir = option('--upstream', '/work/shared/k8s-openapi/v3');

function loadUpstream(dir) {
  const schemas = {};
  for (const f of readdirSync(dir).filter((n) => n.endsWith('.json'))) {
    Object.assign(schemas, JSON.parse(readFileSync(join(dir, f), 'utf8')).components?.schemas ?? {});
  }
  return schemas;
}

/** Names every $ref below `schema` points at. */
export function refsOf(schema, out = new Set()) {
  if (Array.isArray(schema)) for (const s of schema) refsOf(s, out);
  else if (schema && typeof schema === 'object') {
    for (const [k, v] of Object.entries(schema)) {
      if (k === '$ref' && typeof v === 'string') out.add(v.slice(REF_PREFIX.length));
      else refsOf(v, out);
    }
  }
  return out;
}

export function closure(names, defs) {
  const seen = new Set();
  const todo = [...names];
  while (todo.length > 0) {
    const n = todo.pop();
    if (seen.has(n) || !defs[n]) continue;
    seen.add(n);
    for (const r of refsOf(defs[n])) todo.push(r);
  }
  return seen;
}

/** A property's type as one comparable string: "integer/int64", "[]ref:…Container", "map[string]string". */
export function shapeOf(s) {
  if (!s || typeof s !== 'object') return String(s);
  const ref = s.$ref ?? (s.allOf?.length === 1 ? s.allOf[0].$ref : undefined);
  if (ref) return `ref:${ref.slice(REF_PREFIX.length)}`;
  if (s.type === 'array') return `[]${shapeOf(s.items)}`;
  if (s.type === 'object' && s.additionalProperties && typeof s.additionalProperties === 'object') {
    return `map[string]${shapeOf(s.additionalProperties)}`;
  }
  if (s.oneOf) return `oneOf(${s.oneOf.map(shapeOf).join('|')})`;
  return [s.type ?? 'any', s.format].filter(Boolean).join('/');
}

/** Every difference between two definitions, as [category, detail] pairs. */
export function diffDefinition(name, ours, theirs) {
  const out = [];
  const add = (cat, detail) => out.push([cat, `${name}${detail}`]);
  if (shapeOf({ ...theirs, properties: undefined }) !== shapeOf({ ...ours, properties: undefined })) {
    add('type', `: ${shapeOf(theirs)} upstream, ${shapeOf(ours)} ours`);
  }
  const gvk = (s) => JSON.stringify(s['x-kubernetes-group-version-kind'] ?? []);
  if (gvk(ours) !== gvk(theirs)) add('gvk', `: ${gvk(theirs)} upstream, ${gvk(ours)} ours`);
  if (ours['x-kubernetes-map-type'] !== theirs['x-kubernetes-map-type']) {
    add('extensions', ` x-kubernetes-map-type: ${theirs['x-kubernetes-map-type']} upstream, ${ours['x-kubernetes-map-type']} ours`);
  }
  if ((ours.description ?? '') !== (theirs.description ?? '')) add('description', '');
  const theirProps = theirs.properties ?? {};
  const ourProps = ours.properties ?? {};
  for (const [p, t] of Object.entries(theirProps)) {
    const o = ourProps[p];
    if (!o) {
      add('missing property', `.${p}`);
      continue;
    }
    if (shapeOf(o) !== shapeOf(t)) add('type', `.${p}: ${shapeOf(t)} upstream, ${shapeOf(o)} ours`);
    for (const x of EXTENSIONS) {
      if (JSON.stringify(o[x]) !== JSON.stringify(t[x])) {
        add('extensions', `.${p} ${x}: ${JSON.stringify(t[x])} upstream, ${JSON.stringify(o[x])} ours`);
      }
    }
    if (JSON.stringify(o.default) !== JSON.stringify(t.default)) {
      add('default', `.${p}: ${JSON.stringify(t.default)} upstream, ${JSON.stringify(o.default)} ours`);
    }
    const style = (s) => (s.$ref ? '$ref' : s.allOf ? 'allOf' : 'inline');
    if (style(o) !== style(t)) add('ref style', `.${p}: ${style(t)} upstream, ${style(o)} ours`);
    const elem = (s) => s.items ?? s.additionalProperties;
    if (elem(t) && elem(o) && JSON.stringify(elem(t).default) !== JSON.stringify(elem(o).default)) {
      add('default', `.${p}[]: ${JSON.stringify(elem(t).default)} upstream, ${JSON.stringify(elem(o).default)} ours`);
    }
    if ((o.description ?? '') !== (t.description ?? '')) add('description', `.${p}`);
  }
  for (const p of Object.keys(ourProps)) if (!theirProps[p]) add('extra property', `.${p}: ${shapeOf(ourProps[p])}`);
  const theirReq = new Set(theirs.required ?? []);
  const ourReq = new Set(ours.required ?? []);
  for (const p of theirReq) if (!ourReq.has(p) && ourProps[p]) add('required', `.${p}: required upstream only`);
  for (const p of ourReq) if (!theirReq.has(p) && theirProps[p]) add('required', `.${p}: required in ours only`);
  return out;
}

async function catalogDefinitions() {
  const built = join(root, 'dist', 'src', 'api', 'catalog.js');
  if (!existsSync(built)) return undefined;
  const { builtinResources } = await import(pathToFileURL(built).href);
  const meta = 'io.k8s.apimachinery.pkg.apis.meta.v1';
  return [
    ...builtinResources.flatMap((e) => [e.definition, `${e.definition}List`]),
    ...['DeleteOptions', 'Status', 'WatchEvent', 'APIResourceList', 'Patch'].map((k) => `${meta}.${k}`),
    'io.k8s.api.autoscaling.v1.Scale',
    'io.k8s.apimachinery.pkg.version.Info',
  ];
}

async function main() {
  const ours = JSON.parse(readFileSync(join(root, 'generated', 'definitions.json'), 'utf8'));
  const theirs = loadUpstream(upstreamDir);
  let scope = Object.keys(theirs);
  let scopeNote = 'every upstream definition';
  if (!flag('--all')) {
    const roots = await catalogDefinitions();
    if (roots) {
      const reach = closure(roots, theirs);
      for (const n of closure(roots, ours)) reach.add(n);
      scope = scope.filter((n) => reach.has(n));
      scopeNote = `${scope.length} upstream definitions the catalog reaches`;
    } else {
      scopeNote = 'every upstream definition (dist/src/api/catalog.js not built)';
    }
  }
  const byCategory = new Map();
  const add = (cat, detail) => {
    if (!byCategory.has(cat)) byCategory.set(cat, []);
    byCategory.get(cat).push(detail);
  };
  for (const name of scope) {
    if (!ours[name]) add('missing definition', name);
    else for (const [cat, detail] of diffDefinition(name, ours[name], theirs[name])) add(cat, detail);
  }
  const extra = Object.keys(ours).filter((n) => !theirs[n]);
  console.log(`compare-openapi: ${Object.keys(ours).length} ours vs ${Object.keys(theirs).length} upstream (${upstreamDir})`);
  console.log(`scope: ${scopeNote}; definitions only ours (added after upstream's version): ${extra.length}`);
  const quiet = new Set(flag('--descriptions') ? [] : ['description']);
  const order = ['missing definition', 'missing property', 'type', 'extensions', 'required', 'gvk', 'default', 'ref style', 'extra property', 'description'];
  for (const cat of order) {
    const items = byCategory.get(cat) ?? [];
    console.log(`  ${cat.padEnd(20)} ${items.length}`);
    if (quiet.has(cat) && !flag('--verbose')) continue;
    const shown = flag('--verbose') ? items : items.slice(0, 60);
    for (const i of shown) console.log(`      ${i}`);
    if (shown.length < items.length) console.log(`      … ${items.length - shown.length} more (--verbose)`);
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) await main();
