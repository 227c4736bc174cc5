/**
 * /openapi/v2: the Swagger 2.0 document derived from the v3 documents, and its gnostic protobuf
 * encoding, decoded here with protobufjs from a schema written out below (field numbers and types as
 * in gnostic's openapiv2/OpenAPIv2.proto), and read the way kubectl reads it (kube-openapi's
 * pkg/util/proto and kubectl's pkg/util/openapi): models by x-kubernetes-group-version-kind, PATCH
 * operations by their GVK extension and their fieldValidation query parameter.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import protobuf from 'protobufjs';
import { parse as parseYaml } from 'yaml';
import { builtinResources } from '../api/catalog.js';
import { loadDefinitions } from '../api/schema.js';
import type { ResourceEntry } from '../api/types.js';
import { openSqliteStore } from '../storage/sqlite.js';
import type { Store } from '../storage/store.js';
import { buildOpenApiV2, negotiateOpenApiV2, OPENAPI_V2_PROTOBUF, OPENAPI_V2_PROTOBUF_DOTTED } from './openapi-v2.js';
import { ApiServer } from './server.js';

/**
 * The messages of gnostic's openapi.v2 package that skiff writes, with upstream's field numbers and
 * types. Fields skiff never writes are left out on purpose: the wire walk below then fails on any
 * field number the encoder should not have used.
 */
const GNOSTIC_SUBSET = `
syntax = "proto3";
package openapi.v2;
message Document {
  string swagger = 1; Info info = 2; Paths paths = 8; Definitions definitions = 9;
  repeated SecurityRequirement security = 12; SecurityDefinitions security_definitions = 13;
  repeated NamedAny vendor_extension = 16;
}
message Info { string title = 1; string version = 2; string description = 3; }
message Any { string yaml = 2; }
message NamedAny { string name = 1; Any value = 2; }
message Definitions { repeated NamedSchema additional_properties = 1; }
message NamedSchema { string name = 1; Schema value = 2; }
message Properties { repeated NamedSchema additional_properties = 1; }
message TypeItem { repeated string value = 1; }
message ItemsItem { repeated Schema schema = 1; }
message AdditionalPropertiesItem { oneof oneof { Schema schema = 1; bool boolean = 2; } }
message Schema {
  string _ref = 1; string format = 2; string title = 3; string description = 4; Any default = 5;
  double multiple_of = 6; double maximum = 7; bool exclusive_maximum = 8; double minimum = 9; bool exclusive_minimum = 10;
  int64 max_length = 11; int64 min_length = 12; string pattern = 13; int64 max_items = 14; int64 min_items = 15;
  bool unique_items = 16; int64 max_properties = 17; int64 min_properties = 18; repeated string required = 19;
  repeated Any enum = 20; AdditionalPropertiesItem additional_properties = 21; TypeItem type = 22; ItemsItem items = 23;
  repeated Schema all_of = 24; Properties properties = 25; string discriminator = 26; bool read_only = 27;
  Any example = 30; repeated NamedAny vendor_extension = 31;
}
message Paths { repeated NamedAny vendor_extension = 1; repeated NamedPathItem path = 2; }
message NamedPathItem { string name = 1; PathItem value = 2; }
message PathItem {
  string _ref = 1; Operation get = 2; Operation put = 3; Operation post = 4; Operation delete = 5;
  Operation options = 6; Operation head = 7; Operation patch = 8; repeated ParametersItem parameters = 9;
  repeated NamedAny vendor_extension = 10;
}
message Operation {
  repeated string tags = 1; string summary = 2; string description = 3; string operation_id = 5;
  repeated string produces = 6; repeated string consumes = 7; repeated ParametersItem parameters = 8;
  Responses responses = 9; repeated string schemes = 10; bool deprecated = 11; repeated NamedAny vendor_extension = 13;
}
message ParametersItem { oneof oneof { Parameter parameter = 1; } }
message Parameter { oneof oneof { BodyParameter body_parameter = 1; NonBodyParameter non_body_parameter = 2; } }
message BodyParameter {
  string description = 1; string name = 2; string in = 3; bool required = 4; Schema schema = 5;
  repeated NamedAny vendor_extension = 6;
}
message NonBodyParameter {
  oneof oneof {
    HeaderParameterSubSchema header_parameter_sub_schema = 1; QueryParameterSubSchema query_parameter_sub_schema = 3;
    PathParameterSubSchema path_parameter_sub_schema = 4;
  }
}
message QueryParameterSubSchema {
  bool required = 1; string in = 2; string description = 3; string name = 4; bool allow_empty_value = 5;
  string type = 6; string format = 7; bool unique_items = 20; repeated Any enum = 21; repeated NamedAny vendor_extension = 23;
}
message PathParameterSubSchema {
  bool required = 1; string in = 2; string description = 3; string name = 4; string type = 5; string format = 6;
  bool unique_items = 19; repeated Any enum = 20; repeated NamedAny vendor_extension = 22;
}
message HeaderParameterSubSchema {
  bool required = 1; string in = 2; string description = 3; string name = 4; string type = 5; string format = 6;
  bool unique_items = 19; repeated Any enum = 20; repeated NamedAny vendor_extension = 22;
}
message Responses { repeated NamedResponseValue response_code = 1; repeated NamedAny vendor_extension = 2; }
message NamedResponseValue { string name = 1; ResponseValue value = 2; }
message ResponseValue { oneof oneof { Response response = 1; } }
message Response { string description = 1; SchemaItem schema = 2; repeated NamedAny vendor_extension = 5; }
message SchemaItem { oneof oneof { Schema schema = 1; } }
message SecurityRequirement { repeated NamedStringArray additional_properties = 1; }
message NamedStringArray { string name = 1; StringArray value = 2; }
message StringArray { repeated string value = 1; }
message SecurityDefinitions { repeated NamedSecurityDefinitionsItem additional_properties = 1; }
message NamedSecurityDefinitionsItem { string name = 1; SecurityDefinitionsItem value = 2; }
message SecurityDefinitionsItem { oneof oneof { ApiKeySecurity api_key_security = 2; } }
message ApiKeySecurity { string type = 1; string name = 2; string in = 3; string description = 4; }
`;

const root = protobuf.parse(GNOSTIC_SUBSET, { keepCase: true }).root;
const DocumentType = root.lookupType('openapi.v2.Document');

const WIRE: Record<string, number> = { double: 1, float: 5, fixed64: 1, sfixed64: 1, fixed32: 5, sfixed32: 5, string: 2, bytes: 2 };

/**
 * Walks every field of a message, recursively, and checks each one is a field of its message type
 * with the wire type that field's type demands (protobufjs alone would read a mistyped scalar as garbage).
 */
function walkWire(type: protobuf.Type, buf: Uint8Array, path: string): number {
  const r = protobuf.Reader.create(buf);
  let fields = 0;
  while (r.pos < r.len) {
    const tag = r.uint32();
    const id = tag >>> 3;
    const wire = tag & 7;
    const field = type.fieldsById[id];
    assert.ok(field, `${path}: field number ${id} is not a field of ${type.name}`);
    field.resolve();
    const expected = field.resolvedType instanceof protobuf.Type ? 2 : (WIRE[field.type] ?? 0);
    assert.equal(wire, expected, `${path}.${field.name}: wire type ${wire}, want ${expected}`);
    fields++;
    if (field.resolvedType instanceof protobuf.Type) fields += walkWire(field.resolvedType, r.bytes(), `${path}.${field.name}`);
    else r.skipType(wire);
  }
  return fields;
}

const built = buildOpenApiV2(builtinResources, loadDefinitions());
const pb = built.protobuf().body;
const doc = DocumentType.toObject(DocumentType.decode(pb), { defaults: false }) as any;

/** A decoded model by name, as kube-openapi's proto.NewOpenAPIData indexes them. */
const models = new Map<string, any>(doc.definitions.additional_properties.map((n: any) => [n.name, n.value]));
const prop = (schema: any, name: string) => schema.properties.additional_properties.find((p: any) => p.name === name)?.value;
/** Vendor extensions as kube-openapi's VendorExtensionToMap reads them: each Any's YAML text, parsed. */
const extensions = (o: any): Record<string, unknown> => Object.fromEntries((o.vendor_extension ?? []).map((e: any) => [e.name, parseYaml(e.value.yaml)]));
const json = JSON.parse(built.json().body.toString('utf8'));

describe('OpenAPI v2 protobuf', () => {
  test('every field has a gnostic field number and the wire type of its type', () => {
    const fields = walkWire(DocumentType, pb, 'Document');
    assert.ok(fields > 50_000, `only ${fields} fields`);
  });

  test('decodes to the same document as the JSON', () => {
    assert.equal(doc.swagger, '2.0');
    assert.deepEqual(doc.info, { title: 'Kubernetes', version: 'unversioned' });
    assert.deepEqual([...models.keys()], Object.keys(json.definitions));
    assert.deepEqual(
      doc.paths.path.map((p: any) => p.name),
      Object.keys(json.paths),
    );
    assert.deepEqual(doc.security, [{ additional_properties: [{ name: 'BearerToken', value: {} }] }]);
    const bearer = doc.security_definitions.additional_properties[0];
    assert.equal(bearer.name, 'BearerToken');
    assert.deepEqual({ ...bearer.value.api_key_security, description: undefined }, { type: 'apiKey', name: 'authorization', in: 'header', description: undefined });
  });

  test('a kind carries type, description, properties, $ref to #/definitions and its GVK as YAML', () => {
    const cm = models.get('io.k8s.api.core.v1.ConfigMap');
    assert.deepEqual(cm.type.value, ['object']);
    assert.match(cm.description, /^ConfigMap holds configuration data/);
    assert.deepEqual(
      cm.properties.additional_properties.map((p: any) => p.name),
      ['apiVersion', 'binaryData', 'data', 'immutable', 'kind', 'metadata'],
    );
    const metadata = prop(cm, 'metadata');
    assert.equal(metadata._ref, '#/definitions/io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta');
    assert.match(metadata.description, /^Standard object's metadata/);
    assert.equal(metadata.default.yaml, '{}\n');
    const data = prop(cm, 'data');
    assert.deepEqual(data.type.value, ['object']);
    assert.deepEqual(data.additional_properties.schema.type.value, ['string']);
    const binary = prop(cm, 'binaryData');
    assert.equal(binary.additional_properties.schema.format, 'byte');
    const gvk = cm.vendor_extension.find((e: any) => e.name === 'x-kubernetes-group-version-kind');
    assert.equal(gvk.value.yaml, '- group: ""\n  kind: ConfigMap\n  version: v1\n');
    assert.deepEqual(extensions(cm)['x-kubernetes-group-version-kind'], [{ group: '', kind: 'ConfigMap', version: 'v1' }]);
  });

  test('required, formats, arrays with items, and patch strategy extensions', () => {
    const container = models.get('io.k8s.api.core.v1.Container');
    assert.deepEqual(container.required, ['name']);
    const ports = prop(container, 'ports');
    assert.deepEqual(ports.type.value, ['array']);
    assert.equal(ports.items.schema.length, 1);
    assert.equal(ports.items.schema[0]._ref, '#/definitions/io.k8s.api.core.v1.ContainerPort');
    assert.deepEqual(prop(models.get('io.k8s.api.core.v1.ContainerPort'), 'containerPort').format, 'int32');
    const containers = prop(models.get('io.k8s.api.core.v1.PodSpec'), 'containers');
    assert.deepEqual(extensions(containers), { 'x-kubernetes-patch-merge-key': 'name', 'x-kubernetes-patch-strategy': 'merge' });
    const intOrString = models.get('io.k8s.apimachinery.pkg.util.intstr.IntOrString');
    assert.deepEqual(intOrString.type.value, ['string']);
    assert.equal(intOrString.format, 'int-or-string');
    assert.deepEqual(models.get('io.k8s.apimachinery.pkg.api.resource.Quantity').type.value, ['string']);
  });

  test('every model parses as kube-openapi parses models, and each kind is found by its GVK', () => {
    const byGvk = new Map<string, string>();
    const check = (s: any, where: string) => {
      if (s._ref) {
        assert.ok(s._ref.startsWith('#/definitions/'), `${where}: ${s._ref}`);
        assert.ok(models.has(s._ref.slice('#/definitions/'.length)), `${where}: unknown model in reference ${s._ref}`);
        return;
      }
      const types = s.type?.value ?? [];
      assert.ok(types.length <= 1, `${where}: definitions with multiple types aren't supported`);
      if (types[0] === 'array') {
        assert.equal(s.items?.schema?.length, 1, `${where}: array should have exactly one sub-item`);
        check(s.items.schema[0], `${where}[]`);
      }
      for (const p of s.properties?.additional_properties ?? []) check(p.value, `${where}.${p.name}`);
      if (s.additional_properties?.schema) check(s.additional_properties.schema, `${where}{}`);
    };
    for (const [name, s] of models) {
      check(s, name);
      for (const gvk of (extensions(s)['x-kubernetes-group-version-kind'] as any[] | undefined) ?? []) {
        byGvk.set(`${gvk.group}/${gvk.version}/${gvk.kind}`, name);
      }
    }
    for (const e of builtinResources) assert.equal(byGvk.get(`${e.group}/${e.version}/${e.kind}`), e.definition, `${e.kind}`);
  });

  test("PATCH operations carry the GVK and action kubectl looks for, and the fieldValidation parameter", () => {
    // kubectl's legacy QueryParamVerifier: the PATCH operation whose GVK extension matches, then a query parameter by name.
    const patchFor = (group: string, version: string, kind: string) =>
      doc.paths.path
        .map((p: any) => p.value.patch)
        .find((op: any) => {
          const gvk = op && (extensions(op)['x-kubernetes-group-version-kind'] as any);
          return gvk && gvk.group === group && gvk.version === version && gvk.kind === kind;
        });
    const cm = patchFor('', 'v1', 'ConfigMap');
    assert.ok(cm, 'no PATCH operation for v1 ConfigMap');
    assert.equal(extensions(cm)['x-kubernetes-action'], 'patch');
    const query = cm.parameters.map((p: any) => p.parameter.non_body_parameter?.query_parameter_sub_schema).filter(Boolean);
    assert.ok(query.some((q: any) => q.name === 'fieldValidation' && q.in === 'query' && q.type === 'string' && q.unique_items === true));
    assert.ok(cm.consumes.includes('application/strategic-merge-patch+json'));
    const body = cm.parameters.find((p: any) => p.parameter.body_parameter)?.parameter.body_parameter;
    assert.deepEqual(body, { name: 'body', in: 'body', required: true, schema: { _ref: '#/definitions/io.k8s.apimachinery.pkg.apis.meta.v1.Patch' } });
    assert.equal(cm.responses.response_code.find((r: any) => r.name === '200').value.response.schema.schema._ref, '#/definitions/io.k8s.api.core.v1.ConfigMap');
    assert.ok(patchFor('apps', 'v1', 'Deployment'));
    const item = doc.paths.path.find((p: any) => p.name === '/api/v1/namespaces/{namespace}/configmaps/{name}').value;
    const pathParams = item.parameters.map((p: any) => p.parameter.non_body_parameter.path_parameter_sub_schema).filter(Boolean);
    assert.deepEqual(
      pathParams.map((p: any) => [p.name, p.required]),
      [
        ['name', true],
        ['namespace', true],
      ],
    );
    assert.equal(extensions(item.get)['x-kubernetes-action'], 'get');
  });
});

describe('OpenAPI v2 JSON', () => {
  test('is Swagger 2.0 with v2 references only', () => {
    assert.equal(json.swagger, '2.0');
    const text = built.json().body.toString('utf8');
    assert.ok(!text.includes('#/components/schemas/'), 'a v3 reference is left');
    // v3-only keywords, anywhere but as the name of a property (JSONSchemaProps has properties called allOf, nullable, …).
    const v3Only = new Set(['allOf', 'oneOf', 'anyOf', 'not', 'nullable', 'requestBody', 'content']);
    const walk = (v: unknown, where: string, inProperties: boolean): void => {
      if (Array.isArray(v)) v.forEach((x, i) => walk(x, `${where}[${i}]`, false));
      else if (v !== null && typeof v === 'object') {
        for (const [k, x] of Object.entries(v)) {
          assert.ok(inProperties || !v3Only.has(k), `${where}: v3 keyword ${k}`);
          walk(x, `${where}.${k}`, !inProperties && k === 'properties');
        }
      }
    };
    walk(json, '', false);
    assert.deepEqual(json.definitions['io.k8s.api.core.v1.ConfigMap'].properties.metadata, {
      $ref: '#/definitions/io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta',
      default: {},
      description: loadDefinitions()['io.k8s.api.core.v1.ConfigMap'].properties.metadata.description,
    });
    const post = json.paths['/api/v1/namespaces/{namespace}/configmaps'].post;
    assert.deepEqual(post.consumes, ['*/*']);
    assert.deepEqual(post.parameters[0], { in: 'body', name: 'body', required: true, schema: { $ref: '#/definitions/io.k8s.api.core.v1.ConfigMap' } });
    assert.deepEqual(post['x-kubernetes-group-version-kind'], { group: '', kind: 'ConfigMap', version: 'v1' });
  });

  test('negotiates like kube-openapi: protobuf by either name, JSON for json or anything, nothing else', () => {
    // Answered with the dotted name whichever is asked: Go's mime parser rejects the '@' in the other.
    assert.deepEqual(negotiateOpenApiV2(OPENAPI_V2_PROTOBUF), { format: 'protobuf', contentType: OPENAPI_V2_PROTOBUF_DOTTED });
    assert.deepEqual(negotiateOpenApiV2(`${OPENAPI_V2_PROTOBUF_DOTTED}, application/json`), { format: 'protobuf', contentType: OPENAPI_V2_PROTOBUF_DOTTED });
    assert.deepEqual(negotiateOpenApiV2(`${OPENAPI_V2_PROTOBUF};q=0.5, application/json`), { format: 'json', contentType: 'application/json' });
    assert.equal(negotiateOpenApiV2(undefined)?.format, 'json');
    assert.equal(negotiateOpenApiV2('*/*')?.format, 'json');
    assert.equal(negotiateOpenApiV2('text/html'), undefined);
  });
});

describe('GET /openapi/v2 from the API server', () => {
  let dir: string;
  let store: Store;
  let server: ApiServer;
  let base: string;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'skiff-openapi-v2-'));
    store = await openSqliteStore(join(dir, 'state.db'));
    server = new ApiServer({ store });
    await server.start();
    base = `http://127.0.0.1:${await server.listen(0)}`;
  });
  after(async () => {
    await server?.close();
    await store?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  test('answers protobuf to client-go, JSON otherwise, 304 to a matching If-None-Match, 406 to the rest', async () => {
    const r = await fetch(`${base}/openapi/v2`, { headers: { Accept: OPENAPI_V2_PROTOBUF } });
    assert.equal(r.status, 200);
    assert.equal(r.headers.get('content-type'), OPENAPI_V2_PROTOBUF_DOTTED);
    const body = new Uint8Array(await r.arrayBuffer());
    const decoded = DocumentType.decode(body) as any;
    assert.equal(decoded.swagger, '2.0');
    const etag = r.headers.get('etag')!;
    assert.match(etag, /^"[0-9A-F]{128}"$/);

    const again = await fetch(`${base}/openapi/v2`, { headers: { Accept: OPENAPI_V2_PROTOBUF, 'If-None-Match': etag } });
    assert.equal(again.status, 304);
    assert.equal((await again.arrayBuffer()).byteLength, 0);

    const j = await fetch(`${base}/openapi/v2`);
    assert.equal(j.status, 200);
    assert.equal(j.headers.get('content-type'), 'application/json');
    assert.notEqual(j.headers.get('etag'), etag);
    assert.equal(((await j.json()) as any).swagger, '2.0');

    const bad = await fetch(`${base}/openapi/v2`, { headers: { Accept: 'text/html' } });
    assert.equal(bad.status, 406);
    assert.equal(((await bad.json()) as any).reason, 'NotAcceptable');
  });

  test('is rebuilt when the registry changes', async () => {
    const before = await fetch(`${base}/openapi/v2`);
    const etag = before.headers.get('etag')!;
    await before.arrayBuffer();
    const widget: ResourceEntry = {
      group: 'example.com', version: 'v1', kind: 'Widget', listKind: 'WidgetList', plural: 'widgets', singular: 'widget',
      namespaced: true, shortNames: [], categories: [], verbs: ['create', 'delete', 'get', 'list', 'patch', 'update', 'watch'],
      definition: 'com.example.v1.Widget', subresources: {}, hasSpec: true,
    };
    server.registry.add(widget);
    const after = await fetch(`${base}/openapi/v2`, { headers: { 'If-None-Match': etag } });
    assert.equal(after.status, 200);
    const d: any = await after.json();
    assert.deepEqual(d.definitions['com.example.v1.Widget']['x-kubernetes-group-version-kind'], [{ group: 'example.com', kind: 'Widget', version: 'v1' }]);
    assert.ok(d.paths['/apis/example.com/v1/namespaces/{namespace}/widgets/{name}'].patch);
  });
});
