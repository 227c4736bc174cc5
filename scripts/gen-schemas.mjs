// Derives OpenAPI v3 schemas for every built-in type from kubernetes-types' .d.ts files and writes
// generated/definitions.json: { "io.k8s.api.core.v1.Pod": { ...schema }, ... } in upstream's style.
// The .d.ts give fields, types, required-ness and upstream's descriptions; scripts/schema-facts.mjs
// gives what TypeScript cannot say (int64 vs int32, patch and list markers, zero defaults).
// Runs on every build (and `npm ci` through `prepare`), so it only parses: no type checker.
import ts from 'typescript';
import { mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, posix, relative, sep } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import * as facts from './schema-facts.mjs';

const REF_PREFIX = '#/components/schemas/';
const INT_OR_STRING_REF = REF_PREFIX + facts.INT_OR_STRING.name;

/** @typedef {{ node: ts.Node, sf: ts.SourceFile }} Located */
/**
 * @typedef {object} Module
 * @property {string} id          e.g. 'core/v1'
 * @property {string} pkg         e.g. 'io.k8s.api.core.v1'
 * @property {Map<string, Located>} decls
 * @property {Map<string, string>} imports   imported name -> module id
 * @property {Map<string, Located[]>} extraMembers
 */

function walk(dir, out = []) {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) {
      if (name !== 'node_modules') walk(p, out);
    } else if (name.endsWith('.d.ts')) out.push(p);
  }
  return out;
}

const clone = (v) => JSON.parse(JSON.stringify(v));

function packageOf(id) {
  return facts.PACKAGES[id] ?? `io.k8s.api.${id.replace('/', '.')}`;
}

/** @returns {Map<string, Module>} */
export function loadModules(typesDir) {
  const modules = new Map();
  for (const file of walk(typesDir)) {
    const id = relative(typesDir, file).split(sep).join('/').replace(/\.d\.ts$/, '');
    const sf = ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.Latest, true);
    /** @type {Module} */
    const mod = { id, pkg: packageOf(id), decls: new Map(), imports: new Map(), extraMembers: new Map() };
    for (const st of sf.statements) {
      if (ts.isImportDeclaration(st) && ts.isStringLiteral(st.moduleSpecifier)) {
        const from = posix.normalize(posix.join(posix.dirname(id), st.moduleSpecifier.text));
        const named = st.importClause?.namedBindings;
        if (named && ts.isNamedImports(named)) for (const el of named.elements) mod.imports.set(el.name.text, from);
      } else if (ts.isInterfaceDeclaration(st) || ts.isTypeAliasDeclaration(st)) {
        mod.decls.set(st.name.text, { node: st, sf });
      }
    }
    modules.set(id, mod);
  }
  for (const [id, text] of Object.entries(facts.MISSING_PROPERTIES)) {
    const mod = modules.get(id);
    if (!mod) throw new Error(`schema-facts: MISSING_PROPERTIES names unknown module ${id}`);
    const sf = ts.createSourceFile(`schema-facts:${id}`, text, ts.ScriptTarget.Latest, true);
    for (const st of sf.statements) {
      if (!ts.isInterfaceDeclaration(st) || !mod.decls.has(st.name.text)) {
        throw new Error(`schema-facts: MISSING_PROPERTIES for ${id} must extend its interfaces`);
      }
      mod.extraMembers.set(st.name.text, st.members.map((node) => ({ node, sf })));
    }
  }
  return modules;
}

/** The /** … *\/ comment right before a node, without its frame, the way upstream wrote it. */
function docOf({ node, sf }) {
  const ranges = ts.getLeadingCommentRanges(sf.text, node.pos);
  const last = ranges?.at(-1);
  if (!last || !sf.text.startsWith('/**', last.pos)) return undefined;
  const lines = sf.text.slice(last.pos + 3, last.end - 2).split('\n');
  if (lines.length === 1) return lines[0].trim() || undefined;
  const body = lines.map((l, i) => (i === 0 ? l.trim() : l.replace(/^\s*\* ?/, '')));
  if (body[0] === '') body.shift();
  if (body.at(-1)?.trim() === '') body.pop();
  return body.join('\n') || undefined;
}

function nameOf(member) {
  const n = member.name;
  if (ts.isIdentifier(n) || ts.isStringLiteral(n)) return n.text;
  throw new Error(`unsupported property name ${n.getText()}`);
}

function parseMarkers(spec, where) {
  const out = {};
  for (const token of spec.split(/\s+/).filter(Boolean)) {
    const [what, value = ''] = token.split('=');
    const [head, keys] = value.split('/');
    if (what === 'patch') {
      out['x-kubernetes-patch-strategy'] = head;
      if (keys) out['x-kubernetes-patch-merge-key'] = keys;
    } else if (what === 'list') {
      out['x-kubernetes-list-type'] = head;
      if (head === 'map') out['x-kubernetes-list-map-keys'] = keys.split(',');
    } else if (what === 'map') {
      out['x-kubernetes-map-type'] = head;
    } else {
      throw new Error(`schema-facts: bad marker ${token} for ${where}`);
    }
  }
  return out;
}

export function generate(typesDir) {
  const modules = loadModules(typesDir);
  const int64 = new Set(facts.INT64_FIELDS);
  const bytes = new Set(facts.BYTE_FIELDS);
  const valueStructs = new Set(
    Object.entries(facts.VALUE_STRUCTS).flatMap(([id, names]) => names.map((n) => `${packageOf(id)}.${n}`)),
  );
  const timeDefs = new Set(['Time', 'MicroTime'].map((n) => `${facts.PACKAGES['meta/v1']}.${n}`));
  const used = { merge: new Set(), formats: new Set(), defaults: new Set() };

  /** Definition name of `name` as seen from module `mod`. */
  function resolve(mod, name) {
    if (mod.decls.has(name)) return `${mod.pkg}.${name}`;
    const from = mod.imports.get(name);
    const target = from && modules.get(from);
    if (!target || !target.decls.has(name)) throw new Error(`${mod.id}: cannot resolve type ${name}`);
    return `${target.pkg}.${name}`;
  }

  function fact(table, usedSet, ctx) {
    const v = table[ctx.mod.id]?.[ctx.type]?.[ctx.prop];
    if (v !== undefined) usedSet.add(`${ctx.mod.id} ${ctx.type}.${ctx.prop}`);
    return v;
  }

  function scalar(kind, ctx) {
    const format = fact(facts.FORMATS, used.formats, ctx);
    if (kind === 'string') {
      return format === 'byte' || bytes.has(ctx.prop) ? { type: 'string', format: 'byte' } : { type: 'string' };
    }
    if (kind === 'boolean') return { type: 'boolean' };
    const f = format ?? (int64.has(ctx.prop) ? 'int64' : 'int32');
    return f === 'double' ? { type: 'number', format: 'double' } : { type: 'integer', format: f };
  }

  /** List items and map values: Go holds them by value, so upstream gives each a zero default. */
  function element(schema) {
    if (schema.$ref) return { allOf: [schema], default: {} };
    const zero = zeroOf(schema);
    return zero === undefined ? schema : { ...schema, default: zero };
  }

  function zeroOf(schema) {
    if (schema.format === 'byte') return undefined;
    switch (schema.type) {
      case 'string':
        return '';
      case 'integer':
      case 'number':
        return 0;
      case 'boolean':
        return false;
      default:
        return undefined;
    }
  }

  function convert(node, ctx) {
    switch (node.kind) {
      case ts.SyntaxKind.StringKeyword:
        return scalar('string', ctx);
      case ts.SyntaxKind.NumberKeyword:
        return scalar('number', ctx);
      case ts.SyntaxKind.BooleanKeyword:
        return scalar('boolean', ctx);
      case ts.SyntaxKind.LiteralType:
        if (ts.isStringLiteral(node.literal)) return { type: 'string' };
        break;
      case ts.SyntaxKind.ArrayType:
        return { type: 'array', items: element(convert(node.elementType, ctx)) };
      case ts.SyntaxKind.TypeReference: {
        const name = node.typeName.getText();
        if (name === 'Array' && node.typeArguments?.length === 1) {
          return { type: 'array', items: element(convert(node.typeArguments[0], ctx)) };
        }
        return { $ref: REF_PREFIX + resolve(ctx.mod, name) };
      }
      case ts.SyntaxKind.TypeLiteral: {
        const [sig] = node.members;
        if (node.members.length === 1 && ts.isIndexSignatureDeclaration(sig)) {
          return { type: 'object', additionalProperties: element(convert(sig.type, ctx)) };
        }
        break;
      }
      case ts.SyntaxKind.UnionType: {
        const kinds = node.types.map((t) => t.kind).sort();
        const intOrString = [ts.SyntaxKind.NumberKeyword, ts.SyntaxKind.StringKeyword].sort();
        if (kinds.length === 2 && kinds.every((k, i) => k === intOrString[i])) return { $ref: INT_OR_STRING_REF };
        break;
      }
    }
    throw new Error(`${ctx.mod.id} ${ctx.type}.${ctx.prop}: unsupported type ${node.getText()}`);
  }

  function defaultOf(schema, required, ctx) {
    const exception = fact(facts.DEFAULTS, used.defaults, ctx);
    if (exception === 'pointer') return undefined;
    if (exception !== undefined && exception !== 'value') return exception;
    if (schema.$ref) {
      const target = schema.$ref.slice(REF_PREFIX.length);
      const byValue =
        exception === 'value' ||
        required ||
        ['metadata', 'spec', 'status'].includes(ctx.prop) ||
        valueStructs.has(target) ||
        (ctx.type.endsWith('Condition') && timeDefs.has(target));
      return byValue ? {} : undefined;
    }
    return required ? zeroOf(schema) : undefined;
  }

  function property(member, required, ctx) {
    const schema = convert(member.node.type, ctx);
    const extras = {};
    const description = docOf(member);
    if (description !== undefined) extras.description = description;
    const dflt = defaultOf(schema, required, ctx);
    if (dflt !== undefined) extras.default = dflt;
    const markers = fact(facts.MERGE, used.merge, ctx);
    if (markers) Object.assign(extras, parseMarkers(markers, `${ctx.mod.id} ${ctx.type}.${ctx.prop}`));
    if (!schema.$ref) return { ...schema, ...extras };
    // Upstream wraps a reference in allOf only to give it siblings; a bare one stays bare.
    return Object.keys(extras).length === 0 ? schema : { allOf: [schema], ...extras };
  }

  function groupVersionOf(apiVersion) {
    const i = apiVersion.indexOf('/');
    return i < 0 ? { group: '', version: apiVersion } : { group: apiVersion.slice(0, i), version: apiVersion.slice(i + 1) };
  }

  function literalOf(members, name) {
    const m = members.find((x) => nameOf(x.node) === name);
    const t = m?.node.type;
    return t && ts.isLiteralTypeNode(t) && ts.isStringLiteral(t.literal) ? t.literal.text : undefined;
  }

  const defs = {};
  const groupVersions = new Map();
  for (const mod of modules.values()) {
    const shapes = facts.SHAPES[mod.id] ?? {};
    const atomic = new Set(facts.ATOMIC_STRUCTS[mod.id] ?? []);
    for (const [name, decl] of mod.decls) {
      const description = docOf(decl);
      const head = description === undefined ? {} : { description };
      if (shapes[name]) {
        defs[`${mod.pkg}.${name}`] = { ...head, ...clone(shapes[name]) };
        continue;
      }
      if (!ts.isInterfaceDeclaration(decl.node)) {
        throw new Error(`${mod.id}: type alias ${name} needs an entry in schema-facts SHAPES`);
      }
      const members = [
        ...decl.node.members.map((node) => ({ node, sf: decl.sf })),
        ...(mod.extraMembers.get(name) ?? []),
      ].filter((m) => ts.isPropertySignature(m.node));
      members.sort((a, b) => (nameOf(a.node) < nameOf(b.node) ? -1 : 1));
      const schema = { ...head, type: 'object' };
      const required = [];
      if (members.length > 0) {
        schema.properties = {};
        for (const m of members) {
          const prop = nameOf(m.node);
          const isRequired = !m.node.questionToken;
          if (isRequired) required.push(prop);
          schema.properties[prop] = property(m, isRequired, { mod, type: name, prop });
        }
      }
      if (required.length > 0) schema.required = required;
      const apiVersion = literalOf(members, 'apiVersion');
      const kind = literalOf(members, 'kind');
      if (apiVersion && kind) {
        const gv = groupVersionOf(apiVersion);
        schema['x-kubernetes-group-version-kind'] = [{ group: gv.group, kind, version: gv.version }];
        groupVersions.set(apiVersion, gv);
      }
      if (atomic.has(name)) schema['x-kubernetes-map-type'] = 'atomic';
      defs[`${mod.pkg}.${name}`] = schema;
    }
  }
  defs[facts.INT_OR_STRING.name] = clone(facts.INT_OR_STRING.schema);

  const allGroupVersions = [...groupVersions.values()].sort((a, b) =>
    a.group === b.group ? a.version.localeCompare(b.version) : a.group.localeCompare(b.group),
  );
  for (const [id, kinds] of Object.entries(facts.EVERY_GROUP_VERSION_KINDS)) {
    for (const kind of kinds) {
      defs[`${packageOf(id)}.${kind}`]['x-kubernetes-group-version-kind'] = allGroupVersions.map((gv) => ({
        group: gv.group,
        kind,
        version: gv.version,
      }));
    }
  }
  for (const [id, byKind] of Object.entries(facts.EXTRA_GVKS)) {
    for (const [kind, gvs] of Object.entries(byKind)) {
      defs[`${packageOf(id)}.${kind}`]['x-kubernetes-group-version-kind'] = gvs.map((apiVersion) => {
        const gv = groupVersionOf(apiVersion);
        return { group: gv.group, kind, version: gv.version };
      });
    }
  }

  checkFactsUsed(modules, used);
  return sortKeys(defs);
}

/** A fact naming a field that does not exist is a typo or a field upstream removed: say so. */
function checkFactsUsed(modules, used) {
  const stale = [];
  for (const [table, usedSet] of [
    [facts.MERGE, used.merge],
    [facts.FORMATS, used.formats],
    [facts.DEFAULTS, used.defaults],
  ]) {
    for (const [id, types] of Object.entries(table)) {
      for (const [type, props] of Object.entries(types)) {
        for (const prop of Object.keys(props)) {
          if (!usedSet.has(`${id} ${type}.${prop}`)) stale.push(`${id} ${type}.${prop}`);
        }
      }
    }
  }
  for (const table of [facts.ATOMIC_STRUCTS, facts.VALUE_STRUCTS]) {
    for (const [id, names] of Object.entries(table)) {
      for (const n of names) if (!modules.get(id)?.decls.has(n)) stale.push(`${id} ${n}`);
    }
  }
  if (stale.length > 0) throw new Error(`schema-facts names fields kubernetes-types lacks: ${stale.join(', ')}`);
}

/** Upstream's documents list object keys alphabetically; so do we, to compare and hash stably. */
function sortKeys(value) {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value === null || typeof value !== 'object') return value;
  const out = {};
  for (const k of Object.keys(value).sort()) out[k] = sortKeys(value[k]);
  return out;
}

function main() {
  const started = performance.now();
  const root = join(dirname(fileURLToPath(import.meta.url)), '..');
  const typesDir = dirname(createRequire(import.meta.url).resolve('kubernetes-types/package.json'));
  const defs = generate(typesDir);
  const body = JSON.stringify(defs);
  mkdirSync(join(root, 'generated'), { recursive: true });
  writeFileSync(join(root, 'generated', 'definitions.json'), body);
  const ms = Math.round(performance.now() - started);
  console.log(
    `gen-schemas: ${Object.keys(defs).length} definitions, ${(body.length / 1024).toFixed(0)} KiB -> generated/definitions.json (${ms} ms)`,
  );
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) main();
