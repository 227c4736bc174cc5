import { UPSTREAM_OPENAPI_V3, upstreamOpenApiSkip } from '../../test/harness/upstream-openapi.js';
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { builtinResources } from './catalog.js';
import { definitionFor, loadDefinitions, refName, resolveRef, skiffRoot, type Definitions } from './schema.js';

const defs = loadDefinitions();
const CORE = 'io.k8s.api.core.v1';
const META = 'io.k8s.apimachinery.pkg.apis.meta.v1';

function prop(definition: string, path: string): any {
  let s: any = defs[definition];
  assert.ok(s, `no definition ${definition}`);
  const parts = path.split('.');
  for (const [i, p] of parts.entries()) {
    const field = s.properties?.[p];
    assert.ok(field, `${definition} has no ${parts.slice(0, i + 1).join('.')}`);
    if (i === parts.length - 1) return field;
    s = resolveRef(field.items ?? field, defs);
  }
}

describe('generated definitions', () => {
  test('are cached', () => {
    assert.equal(loadDefinitions(), defs);
  });

  test('exist for every catalog entry and its list, with the group-version-kind', () => {
    for (const e of builtinResources) {
      const d = definitionFor(e);
      assert.ok(d, `${e.definition} missing`);
      assert.deepEqual(d['x-kubernetes-group-version-kind'], [{ group: e.group, kind: e.kind, version: e.version }], e.definition);
      assert.equal(d.type, 'object');
      assert.ok(d.description, `${e.definition} has no description`);
      // Create-only kinds (the reviews) have no list, upstream as here.
      if (!e.verbs.includes('list')) continue;
      const list = defs[`${e.definition}List`];
      assert.ok(list, `${e.definition}List missing`);
      assert.deepEqual(list['x-kubernetes-group-version-kind'], [{ group: e.group, kind: e.listKind, version: e.version }]);
      assert.deepEqual(refName(list.properties.items.items), e.definition);
    }
  });

  test('carry the patch strategies and merge keys of pod specs', () => {
    const containers = prop(`${CORE}.PodSpec`, 'containers');
    assert.equal(containers['x-kubernetes-patch-strategy'], 'merge');
    assert.equal(containers['x-kubernetes-patch-merge-key'], 'name');
    assert.deepEqual(containers.items, { allOf: [{ $ref: `#/components/schemas/${CORE}.Container` }], default: {} });
    for (const f of ['initContainers', 'ephemeralContainers', 'imagePullSecrets']) {
      assert.equal(prop(`${CORE}.PodSpec`, f)['x-kubernetes-patch-merge-key'], 'name', f);
    }
    const volumes = prop(`${CORE}.PodSpec`, 'volumes');
    assert.equal(volumes['x-kubernetes-patch-strategy'], 'merge,retainKeys');
    assert.equal(volumes['x-kubernetes-patch-merge-key'], 'name');
    assert.equal(prop(`${CORE}.PodSpec`, 'hostAliases')['x-kubernetes-patch-merge-key'], 'ip');
    const tsc = prop(`${CORE}.PodSpec`, 'topologySpreadConstraints');
    assert.deepEqual(tsc['x-kubernetes-list-map-keys'], ['topologyKey', 'whenUnsatisfiable']);
    assert.equal(prop(`${CORE}.PodSpec`, 'nodeSelector')['x-kubernetes-map-type'], 'atomic');

    const ports = prop(`${CORE}.Container`, 'ports');
    assert.equal(ports['x-kubernetes-patch-strategy'], 'merge');
    assert.equal(ports['x-kubernetes-patch-merge-key'], 'containerPort');
    assert.equal(ports['x-kubernetes-list-type'], 'map');
    assert.deepEqual(ports['x-kubernetes-list-map-keys'], ['containerPort', 'protocol']);
    assert.equal(prop(`${CORE}.ContainerPort`, 'protocol').default, 'TCP');
    assert.equal(prop(`${CORE}.Container`, 'env')['x-kubernetes-patch-merge-key'], 'name');
    assert.equal(prop(`${CORE}.Container`, 'volumeMounts')['x-kubernetes-patch-merge-key'], 'mountPath');
    assert.equal(prop(`${CORE}.PodStatus`, 'conditions')['x-kubernetes-patch-merge-key'], 'type');
    const svcPorts = prop(`${CORE}.ServiceSpec`, 'ports');
    assert.equal(svcPorts['x-kubernetes-patch-merge-key'], 'port');
    assert.deepEqual(svcPorts['x-kubernetes-list-map-keys'], ['port', 'protocol']);
  });

  test('carry object metadata semantics', () => {
    const finalizers = prop(`${META}.ObjectMeta`, 'finalizers');
    assert.equal(finalizers['x-kubernetes-patch-strategy'], 'merge');
    assert.equal(finalizers['x-kubernetes-list-type'], 'set');
    assert.deepEqual(finalizers.items, { default: '', type: 'string' });
    assert.equal(prop(`${META}.ObjectMeta`, 'ownerReferences')['x-kubernetes-patch-merge-key'], 'uid');
    assert.equal(defs[`${META}.OwnerReference`]['x-kubernetes-map-type'], 'atomic');
    assert.equal(defs[`${META}.LabelSelector`]['x-kubernetes-map-type'], 'atomic');
    const created = prop(`${META}.ObjectMeta`, 'creationTimestamp');
    assert.equal(refName(created), `${META}.Time`);
    assert.deepEqual(resolveRef(created, defs).format, 'date-time');
    assert.equal(resolveRef(created, defs).type, 'string');
    assert.deepEqual(prop(`${META}.ObjectMeta`, 'generation'), { description: prop(`${META}.ObjectMeta`, 'generation').description, format: 'int64', type: 'integer' });
    assert.deepEqual(prop(`${META}.ObjectMeta`, 'labels').additionalProperties, { default: '', type: 'string' });
  });

  test('distinguish int32, int64, double and byte where the .d.ts only says number or string', () => {
    const replicas = prop('io.k8s.api.apps.v1.DeploymentSpec', 'replicas');
    assert.equal(replicas.type, 'integer');
    assert.equal(replicas.format, 'int32');
    assert.equal(prop('io.k8s.api.apps.v1.DeploymentSpec', 'strategy')['x-kubernetes-patch-strategy'], 'retainKeys');
    assert.equal(prop(`${CORE}.PodSpec`, 'terminationGracePeriodSeconds').format, 'int64');
    assert.equal(prop(`${CORE}.Toleration`, 'tolerationSeconds').format, 'int64');
    assert.deepEqual(prop(`${CORE}.PodSecurityContext`, 'supplementalGroups').items, { default: 0, format: 'int64', type: 'integer' });
    assert.deepEqual(prop(`${CORE}.Secret`, 'data').additionalProperties, { format: 'byte', type: 'string' });
    assert.equal(prop('io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1.JSONSchemaProps', 'maximum').type, 'number');
    assert.equal(prop('io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1.JSONSchemaProps', 'maximum').format, 'double');
  });

  test('use upstream special types for quantities and int-or-string', () => {
    const limits = prop(`${CORE}.Container`, 'resources.limits');
    assert.equal(limits.type, 'object');
    assert.equal(refName(limits.additionalProperties), 'io.k8s.apimachinery.pkg.api.resource.Quantity');
    const quantity = defs['io.k8s.apimachinery.pkg.api.resource.Quantity'];
    assert.deepEqual(quantity.oneOf, [{ type: 'string' }, { type: 'number' }]);
    const targetPort = prop(`${CORE}.ServicePort`, 'targetPort');
    assert.equal(refName(targetPort), 'io.k8s.apimachinery.pkg.util.intstr.IntOrString');
    const ios = resolveRef(targetPort, defs);
    assert.equal(ios.format, 'int-or-string');
    assert.equal(ios['x-kubernetes-int-or-string'], true);
    assert.equal(refName(prop(`${CORE}.HTTPGetAction`, 'port')), 'io.k8s.apimachinery.pkg.util.intstr.IntOrString');
  });

  test('write references as upstream v3 does', () => {
    // Wrapped in allOf when the field says more than the type (description, default, markers).
    assert.deepEqual(Object.keys(prop('io.k8s.api.apps.v1.Deployment', 'spec')).sort(), ['allOf', 'default', 'description']);
    assert.deepEqual(prop('io.k8s.api.apps.v1.Deployment', 'spec').default, {});
    // Pointers get no default.
    assert.equal(prop('io.k8s.api.apps.v1.DeploymentSpec', 'selector').default, undefined);
    // Bare $ref when there is nothing beside it.
    assert.deepEqual(prop('io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1.JSONSchemaProps', 'not'), {
      $ref: '#/components/schemas/io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1.JSONSchemaProps',
    });
    // Required scalars carry their zero value as default.
    assert.equal(prop(`${CORE}.Container`, 'name').default, '');
    assert.deepEqual(defs['io.k8s.api.apps.v1.DeploymentSpec'].required, ['selector', 'template']);
  });

  test('add the CRD schema extensions kubernetes-types leaves out', () => {
    const jsp = 'io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1.JSONSchemaProps';
    assert.equal(prop(jsp, 'x-kubernetes-preserve-unknown-fields').type, 'boolean');
    assert.equal(prop(jsp, 'x-kubernetes-int-or-string').type, 'boolean');
    const validations = prop(jsp, 'x-kubernetes-validations');
    assert.equal(refName(validations.items), 'io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1.ValidationRule');
    assert.deepEqual(validations['x-kubernetes-list-map-keys'], ['rule']);
    assert.deepEqual(defs['io.k8s.api.authorization.v1.ResourceRule'].required, ['verbs']);
  });

  test('every reference resolves', () => {
    const walk = (v: unknown, where: string): void => {
      if (Array.isArray(v)) v.forEach((x) => walk(x, where));
      else if (v && typeof v === 'object') {
        for (const [k, x] of Object.entries(v)) {
          if (k === '$ref' && typeof x === 'string') assert.ok(defs[refName({ $ref: x })!], `${where} -> ${x}`);
          else walk(x, where);
        }
      }
    };
    for (const [name, d] of Object.entries(defs)) walk(d, name);
  });
});

describe('resolveRef', () => {
  const small: Definitions = { A: { type: 'object' }, B: { $ref: '#/components/schemas/A' } };
  test('follows $ref and allOf references, and chains', () => {
    assert.equal(resolveRef({ $ref: '#/components/schemas/A' }, small), small.A);
    assert.equal(resolveRef({ allOf: [{ $ref: '#/components/schemas/B' }], description: 'x' }, small), small.A);
  });
  test('returns other schemas as they are and rejects unknown names', () => {
    const s = { type: 'string' };
    assert.equal(resolveRef(s, small), s);
    assert.throws(() => resolveRef({ $ref: '#/components/schemas/C' }, small), /unknown definition C/);
  });
});

describe('gen-schemas', () => {
  test('generated/definitions.json is what the generator makes now, and it is quick', async () => {
    const root = skiffRoot();
    const gen = await import(pathToFileURL(join(root, 'scripts', 'gen-schemas.mjs')).href);
    const started = performance.now();
    const fresh = gen.generate(join(root, 'node_modules', 'kubernetes-types'));
    const ms = performance.now() - started;
    assert.ok(ms < 5000, `generation took ${ms} ms`);
    assert.deepEqual(fresh, defs, 'generated/definitions.json is stale: run npm run build');
  });
});

// ---- against upstream -------------------------------------------------------------------------
// /work/shared holds upstream 1.26's OpenAPI (read here only: the product never depends on it).

const UPSTREAM = UPSTREAM_OPENAPI_V3;
const PATCH_EXTENSIONS = ['x-kubernetes-patch-strategy', 'x-kubernetes-patch-merge-key', 'x-kubernetes-list-type', 'x-kubernetes-list-map-keys', 'x-kubernetes-map-type'];

/** Known differences from upstream 1.26, each deliberate or a later upstream change (kubernetes-types is 1.30). */
const ALLOWED: Record<string, string> = {
  'io.k8s.api.networking.v1.NetworkPolicyStatus': 'removed upstream in 1.28',
  'io.k8s.api.networking.v1.NetworkPolicy.status': 'removed upstream in 1.28',
  'io.k8s.api.core.v1.PersistentVolumeClaimStatus.resizeStatus': 'replaced by allocatedResourceStatuses in 1.28',
  'io.k8s.api.core.v1.PersistentVolumeClaimSpec.resources': 'type became VolumeResourceRequirements in 1.29',
  'io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta.finalizers x-kubernetes-list-type': 'set, as newer upstream marks it',
  'io.k8s.api.batch.v1.PodFailurePolicyRule.onPodConditions required': 'optional since 1.29',
};

function shapeOf(s: any): string {
  const ref = refName(s);
  if (ref) return `ref:${ref}`;
  if (s.type === 'array') return `[]${shapeOf(s.items)}`;
  if (s.type === 'object' && s.additionalProperties && typeof s.additionalProperties === 'object') return `map[string]${shapeOf(s.additionalProperties)}`;
  if (s.oneOf) return `oneOf(${s.oneOf.map(shapeOf).join('|')})`;
  return [s.type ?? 'any', s.format].filter(Boolean).join('/');
}

describe('against upstream 1.26 OpenAPI', { skip: upstreamOpenApiSkip() }, () => {
  test('every definition the catalog reaches has upstream’s properties, types, formats, required and merge markers', () => {
    const upstream: Definitions = {};
    for (const f of readdirSync(UPSTREAM).filter((n) => n.endsWith('.json'))) {
      Object.assign(upstream, JSON.parse(readFileSync(join(UPSTREAM, f), 'utf8')).components?.schemas ?? {});
    }
    const roots = builtinResources.flatMap((e) => [e.definition, `${e.definition}List`]);
    roots.push(`${META}.DeleteOptions`, `${META}.Status`, `${META}.WatchEvent`, `${META}.APIResourceList`, 'io.k8s.api.autoscaling.v1.Scale');
    const reach = new Set<string>();
    const todo = [...roots];
    while (todo.length > 0) {
      const n = todo.pop()!;
      if (reach.has(n) || !upstream[n]) continue;
      reach.add(n);
      JSON.stringify(upstream[n], (k, v) => {
        if (k === '$ref' && typeof v === 'string') todo.push(refName({ $ref: v })!);
        return v;
      });
    }
    assert.ok(reach.size > 250, `only ${reach.size} upstream definitions reached`);

    const problems: string[] = [];
    const allowedSeen = new Set<string>();
    const report = (key: string, what: string) => {
      if (ALLOWED[key]) allowedSeen.add(key);
      else problems.push(`${key}: ${what}`);
    };
    for (const name of reach) {
      const theirs = upstream[name];
      const ours = defs[name];
      if (!ours) {
        report(name, 'missing definition');
        continue;
      }
      if (ours['x-kubernetes-map-type'] !== theirs['x-kubernetes-map-type']) report(`${name} x-kubernetes-map-type`, 'differs');
      if (theirs['x-kubernetes-group-version-kind'] && name.startsWith('io.k8s.api.')) {
        assert.deepEqual(ours['x-kubernetes-group-version-kind'], theirs['x-kubernetes-group-version-kind'], name);
      }
      for (const [p, t] of Object.entries<any>(theirs.properties ?? {})) {
        const o = ours.properties?.[p];
        const key = `${name}.${p}`;
        if (!o) {
          report(key, 'missing property');
          continue;
        }
        if (shapeOf(o) !== shapeOf(t)) report(key, `${shapeOf(t)} upstream, ${shapeOf(o)} ours`);
        for (const x of PATCH_EXTENSIONS) {
          if (JSON.stringify(o[x]) !== JSON.stringify(t[x])) report(`${key} ${x}`, `${JSON.stringify(t[x])} upstream, ${JSON.stringify(o[x])} ours`);
        }
        if ((theirs.required ?? []).includes(p) !== (ours.required ?? []).includes(p)) report(`${key} required`, 'differs');
      }
    }
    assert.deepEqual(problems, []);
    assert.deepEqual(Object.keys(ALLOWED).filter((k) => !allowedSeen.has(k)), [], 'stale allow-list entries');
  });
});
