import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { StatusCause } from '../errors.js';
import { strategyFor } from '../strategies.js';
import type { KubeObject } from '../types.js';
import { customResourceDefinitionStrategy as crd } from './apiextensions.js';

const schema = { type: 'object', properties: { spec: { type: 'object', properties: { replicas: { type: 'integer' } } } } };

function make(spec: Record<string, any> = {}, meta: Record<string, any> = {}): KubeObject {
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: 'widgets.example.com', ...meta },
    spec: {
      group: 'example.com',
      scope: 'Namespaced',
      names: { plural: 'widgets', kind: 'Widget' },
      versions: [{ name: 'v1', served: true, storage: true, schema: { openAPIV3Schema: schema } }],
      ...spec,
    },
  };
}

function created(o: KubeObject): KubeObject {
  crd.prepareForCreate!(o);
  crd.default!(o);
  return o;
}

function texts(errs: StatusCause[]): string[] {
  return errs.map((e) => `${e.field}: ${e.message}`);
}

const validate = (o: KubeObject, old?: KubeObject): string[] => texts(crd.validate!(created(o), old));

describe('CustomResourceDefinition strategy', () => {
  test('is the registered strategy', () => {
    assert.equal(strategyFor('CustomResourceDefinition.apiextensions.k8s.io'), crd);
  });

  test('defaults names, conversion, webhook port and stored versions', () => {
    const o = created(make({ conversion: { strategy: 'Webhook', webhook: { conversionReviewVersions: ['v1'], clientConfig: { service: { name: 's', namespace: 'n' } } } } }));
    assert.equal(o.spec.names.singular, 'widget');
    assert.equal(o.spec.names.listKind, 'WidgetList');
    assert.equal(o.spec.conversion.webhook.clientConfig.service.port, 443);
    assert.deepEqual(o.status.storedVersions, ['v1']);
    assert.deepEqual(created(make({ conversion: undefined })).spec.conversion, { strategy: 'None' });
  });

  test('accepts a valid CRD', () => {
    assert.deepEqual(validate(make()), []);
  });

  test('names, group and scope', () => {
    assert.deepEqual(validate(make({ group: 'example', names: { plural: 'Widgets', kind: 'wid_get', shortNames: ['W'] }, scope: 'Everywhere' }, { name: 'widgets.example.com' })), [
      'metadata.name: Invalid value: "widgets.example.com": must be spec.names.plural+"."+spec.group',
      'spec.group: Invalid value: "example": should be a domain with at least one dot',
      'spec.scope: Unsupported value: "Everywhere": supported values: "Cluster", "Namespaced"',
      "spec.names.plural: Invalid value: \"Widgets\": a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')",
      "spec.names.singular: Invalid value: \"wid_get\": a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')",
      "spec.names.kind: Invalid value: \"wid_get\": may have mixed case, but should otherwise match: a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')",
      "spec.names.listKind: Invalid value: \"wid_getList\": may have mixed case, but should otherwise match: a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')",
      "spec.names.shortNames[0]: Invalid value: \"W\": a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')",
    ]);
  });

  test('versions: exactly one storage version, unique names, schemas required', () => {
    const errs = validate(make({ versions: [{ name: 'v1', served: true, storage: false }, { name: 'v1', served: true, storage: false }] }));
    assert.ok(errs.includes('spec.versions[0].schema.openAPIV3Schema: Required value: schemas are required'), errs.join('\n'));
    assert.ok(errs.some((e) => e.startsWith('spec.versions: Invalid value: []apiextensions.CustomResourceDefinitionVersion{') && e.endsWith('must contain unique version names')));
    assert.ok(errs.some((e) => e.endsWith(': must have exactly one version marked as storage version')));
    assert.ok(errs.includes('status.storedVersions: Invalid value: []string{}: must have at least one stored version'), errs.join('\n'));
  });

  test('a schema shared by all versions is reported at spec.validation, per-version ones at the version', () => {
    const bad = { type: 'object', properties: { spec: { properties: {} } } };
    assert.deepEqual(validate(make({ versions: [{ name: 'v1', served: true, storage: true, schema: { openAPIV3Schema: bad } }] })), [
      'spec.validation.openAPIV3Schema.properties[spec].type: Required value: must not be empty for specified object fields',
    ]);
    assert.deepEqual(
      validate(make({ versions: [{ name: 'v1', served: true, storage: true, schema: { openAPIV3Schema: bad } }, { name: 'v2', served: true, storage: false, schema: { openAPIV3Schema: schema } }] })),
      ['spec.versions[0].schema.openAPIV3Schema.properties[spec].type: Required value: must not be empty for specified object fields'],
    );
  });

  test('status subresource restricts the schema root; scale paths live under .spec and .status', () => {
    const sub = { status: {}, scale: { specReplicasPath: '.status.replicas', statusReplicasPath: 'status.replicas' } };
    assert.deepEqual(validate(make({ versions: [{ name: 'v1', served: true, storage: true, schema: { openAPIV3Schema: { ...schema, maxProperties: 3 } }, subresources: sub }] })), [
      'spec.validation.openAPIV3Schema: Invalid value: apiextensions.JSONSchemaProps{...}: only [Description Type Format Title Maximum ExclusiveMaximum Minimum ExclusiveMinimum MaxLength MinLength Pattern MaxItems MinItems UniqueItems MultipleOf Required Items Properties ExternalDocs Example XPreserveUnknownFields XValidations] fields are allowed at the root of the schema if the status subresource is enabled',
      'spec.subresources.scale.specReplicasPath: Invalid value: ".status.replicas": should be a json path under .spec',
      'spec.subresources.scale.statusReplicasPath: Invalid value: "status.replicas": must be a simple json path starting with .',
    ]);
  });

  test('printer columns and selectable fields', () => {
    const v = { name: 'v1', served: true, storage: true, schema: { openAPIV3Schema: { type: 'object', properties: { spec: { type: 'object', properties: { color: { type: 'string' }, size: { type: 'object' } } } } } } };
    const errs = validate(
      make({
        versions: [
          { ...v, additionalPrinterColumns: [{ name: 'C', type: 'text', jsonPath: 'spec.color' }], selectableFields: [{ jsonPath: '.spec.color' }, { jsonPath: '.spec.size' }, { jsonPath: '.spec.nope' }, { jsonPath: '.spec.color' }] },
        ],
      }),
    );
    assert.deepEqual(errs, [
      'spec.additionalPrinterColumns[0].type: Invalid value: "text": must be one of boolean,date,integer,number,string',
      'spec.additionalPrinterColumns[0].JSONPath: Invalid value: "spec.color": must be a simple json path starting with .',
      'spec.selectableFields[1].jsonPath: Invalid value: ".spec.size": must point to a field of type string, boolean or integer. Enum string fields and strings with formats are allowed.',
      'spec.selectableFields[2].jsonPath: Invalid value: ".spec.nope": is an invalid path: does not refer to a valid field',
      'spec.selectableFields[3].jsonPath: Duplicate value: ".spec.color"',
    ]);
  });

  test('conversion webhook settings', () => {
    assert.deepEqual(validate(make({ conversion: { strategy: 'Webhook' } })), [
      'spec.conversion.webhookClientConfig: Required value: required when strategy is set to Webhook',
      'spec.conversion.conversionReviewVersions: Required value',
    ]);
    assert.deepEqual(validate(make({ conversion: { strategy: 'Webhook', webhook: { conversionReviewVersions: ['v2'], clientConfig: { url: 'http://x/convert?a=b' } } } })), [
      'spec.conversion.webhookClientConfig.url: Invalid value: "http": \'https\' is the only allowed URL scheme; desired format: https://host[/path]',
      'spec.conversion.webhookClientConfig.url: Invalid value: "a=b": query parameters are not permitted in the URL',
      'spec.conversion.conversionReviewVersions: Invalid value: []string{"v2"}: must include at least one of v1, v1beta1',
    ]);
    assert.deepEqual(validate(make({ conversion: { strategy: 'None', webhook: { conversionReviewVersions: ['v1'] } } })), [
      'spec.conversion.conversionReviewVersions: Forbidden: should not be set when strategy is not set to Webhook',
    ]);
  });

  test('preserveUnknownFields and protected groups', () => {
    assert.deepEqual(validate(make({ preserveUnknownFields: true })), [
      'spec.preserveUnknownFields: Invalid value: true: cannot set to true, set x-kubernetes-preserve-unknown-fields to true in spec.versions[*].schema instead',
    ]);
    assert.deepEqual(validate(make({ group: 'x.k8s.io' }, { name: 'widgets.x.k8s.io' })), [
      'metadata.annotations[api-approved.kubernetes.io]: Required value: protected groups must have approval annotation "api-approved.kubernetes.io", see https://github.com/kubernetes/enhancements/pull/1111',
    ]);
    assert.deepEqual(validate(make({ group: 'x.k8s.io' }, { name: 'widgets.x.k8s.io', annotations: { 'api-approved.kubernetes.io': 'unapproved, testing' } })), []);
  });

  test('updates: immutable group and plural, stored versions kept in spec.versions, new storage version recorded', () => {
    const old = created(make({ versions: [{ name: 'v1', served: true, storage: true, schema: { openAPIV3Schema: schema } }, { name: 'v2', served: true, storage: false, schema: { openAPIV3Schema: schema } }] }));
    old.status.conditions = [{ type: 'Established', status: 'True' }];
    const next: KubeObject = structuredClone(old);
    next.spec.versions = [{ name: 'v2', served: true, storage: true, schema: { openAPIV3Schema: schema } }];
    next.spec.group = 'other.example.com';
    crd.prepareForUpdate!(next, old);
    crd.default!(next);
    assert.deepEqual(next.status.storedVersions, ['v1', 'v2']);
    assert.deepEqual(texts(crd.validate!(next, old)), [
      'spec.group: Invalid value: "other.example.com": field is immutable',
      'status.storedVersions[0]: Invalid value: "v1": must appear in spec.versions',
    ]);
  });

  test('x-kubernetes-validations are compiled only when the schema is otherwise valid', () => {
    const withRule = { ...schema, 'x-kubernetes-validations': [{ rule: 'self.size(' }] };
    const errs = validate(make({ versions: [{ name: 'v1', served: true, storage: true, schema: { openAPIV3Schema: withRule } }] }));
    assert.equal(errs.length, 1);
    assert.match(errs[0], /^spec\.validation\.openAPIV3Schema\.x-kubernetes-validations\[0\]\.rule: Invalid value: .*compilation failed/);
    // A schema with other errors reports those, not its rules'.
    const broken = validate(make({ versions: [{ name: 'v1', served: true, storage: true, schema: { openAPIV3Schema: { ...withRule, type: 'string' } } }] }));
    assert.ok(broken.every((e) => !e.includes('compilation failed')), broken.join('\n'));
    assert.deepEqual(validate(make({ versions: [{ name: 'v1', served: true, storage: true, schema: { openAPIV3Schema: { ...schema, 'x-kubernetes-validations': [{ rule: 'true' }] } } }] })), []);
  });
});
