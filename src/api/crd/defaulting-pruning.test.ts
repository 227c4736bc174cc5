import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { applyDefaults, pruneUnknownFields } from './index.js';

const obj = (properties: Record<string, unknown>, extra: Record<string, unknown> = {}): Record<string, unknown> => ({ type: 'object', properties, ...extra });

describe('applyDefaults', () => {
  test('fills absent properties, recursing into defaults, items and map values', () => {
    const schema = obj({
      spec: obj({
        replicas: { type: 'integer', default: 1 },
        strategy: obj({ type: { type: 'string', default: 'Rolling' }, maxSurge: { type: 'integer', default: 2 } }, { default: {} }),
        ports: { type: 'array', items: obj({ name: { type: 'string' }, protocol: { type: 'string', default: 'TCP' } }) },
        limits: { type: 'object', additionalProperties: obj({ unit: { type: 'string', default: 'm' } }) },
      }),
    });
    const o: any = { apiVersion: 'x/v1', kind: 'X', metadata: { name: 'a' }, spec: { ports: [{ name: 'http' }, { name: 'https', protocol: 'UDP' }], limits: { cpu: {} } } };
    applyDefaults(o, schema);
    assert.deepEqual(o.spec, {
      replicas: 1,
      strategy: { type: 'Rolling', maxSurge: 2 },
      ports: [{ name: 'http', protocol: 'TCP' }, { name: 'https', protocol: 'UDP' }],
      limits: { cpu: { unit: 'm' } },
    });
  });

  test('defaults are copies, never shared with the schema', () => {
    const schema = obj({ list: { type: 'array', items: { type: 'string' }, default: ['a'] } });
    const a: any = {};
    const b: any = {};
    applyDefaults(a, schema);
    applyDefaults(b, schema);
    a.list.push('b');
    assert.deepEqual(b.list, ['a']);
  });

  test('nulls: defaulted when not nullable, dropped when neither nullable nor defaulted, kept when nullable', () => {
    const schema = obj({
      a: { type: 'string', default: 'x' },
      b: { type: 'string' },
      c: { type: 'string', nullable: true, default: 'y' },
      d: { type: 'string', nullable: true },
      items: { type: 'array', items: { type: 'string', default: 'z' } },
      m: { type: 'object', additionalProperties: { type: 'string', default: 'w' } },
      unknown: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true },
    });
    const o: any = { a: null, b: null, c: null, d: null, items: ['q', null], m: { k: null }, unknown: { free: null } };
    applyDefaults(o, schema);
    assert.deepEqual(o, { a: 'x', c: null, d: null, items: ['q', 'z'], m: { k: 'w' }, unknown: { free: null } });
  });

  test('no defaults under a nullable parent that is null, nor under an absent parent without a default', () => {
    const schema = obj({
      parent: obj({ child: { type: 'string', default: 'x' } }, { nullable: true }),
      other: obj({ child: { type: 'string', default: 'x' } }),
    });
    const o: any = { parent: null };
    applyDefaults(o, schema);
    assert.deepEqual(o, { parent: null });
  });
});

describe('pruneUnknownFields', () => {
  const schema = obj({
    spec: obj({
      name: { type: 'string' },
      items: { type: 'array', items: obj({ bar: { type: 'string' } }) },
      free: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true, properties: { known: obj({ x: { type: 'string' } }) } },
      labels: { type: 'object', additionalProperties: { type: 'string' } },
      port: { 'x-kubernetes-int-or-string': true },
      template: { type: 'object', 'x-kubernetes-embedded-resource': true, properties: { spec: obj({ image: { type: 'string' } }) } },
      rawTemplate: { type: 'object', 'x-kubernetes-embedded-resource': true, 'x-kubernetes-preserve-unknown-fields': true },
    }),
    status: obj({ ready: { type: 'boolean' } }),
  });

  test('drops what the schema does not specify and reports sorted paths', () => {
    const o: any = {
      apiVersion: 'x/v1',
      kind: 'X',
      metadata: { name: 'a', whatever: 1 },
      extra: true,
      spec: {
        name: 'n',
        foo: 1,
        items: [{ bar: 'b', baz: 1 }, { qux: 2 }],
        free: { anything: { goes: 1 }, known: { x: 'y', z: 1 } },
        labels: { a: 'b' },
        port: 'http',
        template: { apiVersion: 'v1', kind: 'Pod', metadata: { name: 't', bogus: 1 }, spec: { image: 'i', cmd: 'c' }, other: 1 },
        rawTemplate: { apiVersion: 'v1', kind: 'Pod', anything: { x: 1 } },
      },
      status: { ready: true, phase: 'x' },
    };
    const pruned = pruneUnknownFields(o, schema);
    assert.deepEqual(pruned, [
      'extra',
      'spec.foo',
      'spec.free.known.z',
      'spec.items[0].baz',
      'spec.items[1].qux',
      'spec.template.metadata.bogus',
      'spec.template.other',
      'spec.template.spec.cmd',
      'status.phase',
    ]);
    assert.deepEqual(o, {
      apiVersion: 'x/v1',
      kind: 'X',
      metadata: { name: 'a', whatever: 1 },
      spec: {
        name: 'n',
        items: [{ bar: 'b' }, {}],
        free: { anything: { goes: 1 }, known: { x: 'y' } },
        labels: { a: 'b' },
        port: 'http',
        template: { apiVersion: 'v1', kind: 'Pod', metadata: { name: 't' }, spec: { image: 'i' } },
        rawTemplate: { apiVersion: 'v1', kind: 'Pod', anything: { x: 1 } },
      },
      status: { ready: true },
    });
  });

  test('a root with x-kubernetes-preserve-unknown-fields keeps everything', () => {
    const o: any = { apiVersion: 'x/v1', kind: 'X', spec: { a: 1 } };
    assert.deepEqual(pruneUnknownFields(o, { type: 'object', 'x-kubernetes-preserve-unknown-fields': true }), []);
    assert.deepEqual(o.spec, { a: 1 });
  });

  test('upstream pruning fixture: nested embedded resources', () => {
    const embedded = (props: Record<string, unknown>): Record<string, unknown> => ({ type: 'object', 'x-kubernetes-embedded-resource': true, properties: props });
    const s = obj({
      pruned: embedded({ spec: obj({}) }),
      nested: embedded({ spec: obj({ embedded: embedded({ spec: obj({}) }) }) }),
    });
    const o: any = {
      unspecified: 'x',
      apiVersion: 'v1',
      pruned: { apiVersion: 'v1', kind: 'K', unspecified: 1, spec: { unspecified: 1 } },
      nested: { apiVersion: 'v1', kind: 'K', unspecified: 1, spec: { unspecified: 1, embedded: { apiVersion: 'v1', kind: 'K', unspecified: 1, spec: { unspecified: 1 } } } },
    };
    assert.deepEqual(pruneUnknownFields(o, s), [
      'nested.spec.embedded.spec.unspecified',
      'nested.spec.embedded.unspecified',
      'nested.spec.unspecified',
      'nested.unspecified',
      'pruned.spec.unspecified',
      'pruned.unspecified',
      'unspecified',
    ]);
  });
});
