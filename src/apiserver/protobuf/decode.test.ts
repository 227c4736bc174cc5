import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ApiError } from '../../api/errors.js';
import { decodeBody } from '../codec.js';
import { decodeKubernetesProtobuf } from './decode.js';

// A tiny protobuf writer for the tests: each helper returns one encoded field.
const varint = (v: number | bigint): number[] => {
  let n = BigInt.asUintN(64, BigInt(v));
  const out: number[] = [];
  do {
    const b = Number(n & 0x7fn);
    n >>= 7n;
    out.push(n > 0n ? b | 0x80 : b);
  } while (n > 0n);
  return out;
};
const bytesField = (field: number, payload: number[]) => [...varint((field << 3) | 2), ...varint(payload.length), ...payload];
const str = (field: number, s: string) => bytesField(field, [...Buffer.from(s, 'utf8')]);
const msg = (field: number, ...parts: number[][]) => bytesField(field, parts.flat());
const int = (field: number, v: number | bigint) => [...varint(field << 3), ...varint(v)];
const entry = (field: number, k: string, v: number[]) => msg(field, str(1, k), v);
const envelope = (apiVersion: string, kind: string, raw: number[], extra: number[] = []) =>
  Buffer.from([0x6b, 0x38, 0x73, 0x00, ...msg(1, str(1, apiVersion), str(2, kind)), ...bytesField(2, raw), ...extra]);
const RBAC = 'rbac.authorization.k8s.io/v1';
/** ObjectMeta as gogo-protobuf writes it for a new object: every non-pointer field, mostly empty. */
const newMeta = (name: string, ns = '', more: number[][] = []) =>
  msg(1, str(1, name), str(2, ''), str(3, ns), str(4, ''), str(5, ''), str(6, ''), int(7, 0), msg(8), ...more);

const statusOf = (fn: () => unknown): number => {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof ApiError, `not an ApiError: ${String(err)}`);
    return err.code;
  }
  return 200;
};

describe('protobuf request bodies', () => {
  it('decodes a RoleBinding as kubectl writes it, leaving out the zero values JSON would omit', () => {
    const raw = [
      ...newMeta('alice-view', 'team'),
      ...msg(2, str(1, 'User'), str(2, 'rbac.authorization.k8s.io'), str(3, 'alice'), str(4, '')),
      ...msg(2, str(1, 'ServiceAccount'), str(2, ''), str(3, 'bot'), str(4, 'team')),
      ...msg(3, str(1, 'rbac.authorization.k8s.io'), str(2, 'ClusterRole'), str(3, 'view')),
    ];
    const body = envelope(RBAC, 'RoleBinding', raw, [...str(3, ''), ...str(4, '')]);
    assert.deepEqual(decodeBody(body, 'application/vnd.kubernetes.protobuf'), {
      apiVersion: RBAC,
      kind: 'RoleBinding',
      metadata: { name: 'alice-view', namespace: 'team' },
      subjects: [
        { kind: 'User', apiGroup: 'rbac.authorization.k8s.io', name: 'alice' },
        { kind: 'ServiceAccount', name: 'bot', namespace: 'team' },
      ],
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'view' },
    });
  });

  it('decodes maps, repeated strings, times, owner references, label selectors and aggregation rules', () => {
    const meta = newMeta('agg', '', [
      entry(11, 'app', str(2, 'web')),
      entry(12, 'note', str(2, 'a b')),
      msg(13, str(5, 'v1'), str(1, 'ConfigMap'), str(3, 'owner'), str(4, 'u-1'), int(6, 1)),
      str(14, 'example.com/f'),
    ]);
    const raw = [
      ...meta,
      ...msg(2, str(1, 'get'), str(1, 'list'), str(2, ''), str(3, 'pods'), str(4, 'p1')),
      ...msg(3, msg(1, entry(1, 'rbac.example.com/agg', str(2, 'true')), msg(2, str(1, 'tier'), str(2, 'In'), str(3, 'a'), str(3, 'b')))),
    ];
    const obj = decodeKubernetesProtobuf(envelope(RBAC, 'ClusterRole', raw));
    assert.deepEqual(obj, {
      apiVersion: RBAC,
      kind: 'ClusterRole',
      metadata: {
        name: 'agg',
        labels: { app: 'web' },
        annotations: { note: 'a b' },
        ownerReferences: [{ apiVersion: 'v1', kind: 'ConfigMap', name: 'owner', uid: 'u-1', controller: true }],
        finalizers: ['example.com/f'],
      },
      rules: [{ verbs: ['get', 'list'], apiGroups: [''], resources: ['pods'], resourceNames: ['p1'] }],
      aggregationRule: {
        clusterRoleSelectors: [{ matchLabels: { 'rbac.example.com/agg': 'true' }, matchExpressions: [{ key: 'tier', operator: 'In', values: ['a', 'b'] }] }],
      },
    });
    const withTime = decodeKubernetesProtobuf(envelope(RBAC, 'Role', msg(1, str(1, 'r'), msg(8, int(1, 1700000000), int(2, 5)))));
    assert.deepEqual(withTime.metadata, { name: 'r', creationTimestamp: '2023-11-14T22:13:20Z' });
  });

  it('keeps pointer fields at zero, reads IntOrString, Quantity, bytes and negative numbers', () => {
    const container = msg(2, str(1, 'c'), str(2, 'busybox'), msg(8, entry(1, 'cpu', msg(2, str(1, '100m')))), int(16, 0));
    const deploy = [
      ...newMeta('d', 'ns'),
      ...msg(2, int(1, 0), msg(2, entry(1, 'app', str(2, 'd'))), msg(3, msg(1), msg(2, container)), msg(4, str(1, 'RollingUpdate'), msg(2, msg(1, int(1, 1), str(3, '25%')), msg(2, int(1, 0), int(2, 2))))),
      ...msg(3, int(1, 0), int(2, 0)),
    ];
    assert.deepEqual(decodeKubernetesProtobuf(envelope('apps/v1', 'Deployment', deploy)).spec, {
      replicas: 0,
      selector: { matchLabels: { app: 'd' } },
      template: { metadata: {}, spec: { containers: [{ name: 'c', image: 'busybox', resources: { limits: { cpu: '100m' } } }] } },
      strategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: '25%', maxSurge: 2 } },
    });
    const secret = decodeKubernetesProtobuf(envelope('v1', 'Secret', [...newMeta('s', 'ns'), ...entry(2, 'k', bytesField(2, [0, 1, 255])), ...str(3, 'Opaque')]));
    assert.deepEqual(secret.data, { k: 'AAH/' });
    const pc = decodeKubernetesProtobuf(envelope('scheduling.k8s.io/v1', 'PriorityClass', [...newMeta('low'), ...int(2, -5), ...int(3, 0)]));
    assert.equal(pc.value, -5);
    assert.equal('globalDefault' in pc, false);
  });

  it('accepts zero-valued fields it has no table entry for, as statuses are written on create', () => {
    const review = [...msg(1), ...msg(2, msg(1, str(1, ''), str(2, '')))];
    const obj = decodeKubernetesProtobuf(envelope('authentication.k8s.io/v1', 'SelfSubjectReview', review));
    assert.deepEqual(obj, { apiVersion: 'authentication.k8s.io/v1', kind: 'SelfSubjectReview', metadata: {}, status: {} });
  });

  it('refuses unknown kinds and unknown non-zero fields with 415, not by dropping data', () => {
    assert.equal(statusOf(() => decodeKubernetesProtobuf(envelope('example.com/v1', 'Widget', []))), 415);
    assert.equal(statusOf(() => decodeKubernetesProtobuf(envelope(RBAC, 'Role', str(99, 'surprise')))), 415);
    assert.equal(statusOf(() => decodeKubernetesProtobuf(envelope(RBAC, 'Role', [], str(3, 'gzip')))), 415);
  });

  it('answers 400 for malformed bodies', () => {
    const cases: Buffer[] = [
      Buffer.from(''),
      Buffer.from('{"kind":"Role"}'),
      Buffer.from([0x6b, 0x38, 0x73, 0x00]),
      Buffer.from([0x6b, 0x38, 0x73, 0x00, 0x0a, 0x7f]),
      envelope(RBAC, 'Role', [0x0a, 0x05, 0x0a]),
      envelope(RBAC, 'Role', int(1, 3)),
      envelope(RBAC, 'Role', [0x0a, 0x02, 0x0a, 0x80]),
      envelope(RBAC, 'Role', msg(1, bytesField(1, [0xff, 0xfe]))),
      envelope(RBAC, 'Role', msg(1, msg(8, int(1, 2n ** 62n)))),
      envelope(RBAC, 'Role', [0x0b]),
    ];
    for (const body of cases) assert.equal(statusOf(() => decodeKubernetesProtobuf(body)), 400, body.toString('hex'));
  });

  it('never fails other than 400 or 415 on random or truncated bytes', () => {
    let seed = 42;
    const rand = () => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff);
    const valid = envelope(RBAC, 'RoleBinding', [
      ...newMeta('x', 'ns', [entry(11, 'a', str(2, 'b'))]),
      ...msg(2, str(1, 'User'), str(3, 'alice')),
      ...msg(3, str(1, RBAC), str(2, 'ClusterRole'), str(3, 'view')),
    ]);
    for (let i = 0; i < 3000; i++) {
      let body: Buffer;
      if (i % 3 === 0) body = valid.subarray(0, Math.floor(rand() * valid.length));
      else if (i % 3 === 1) {
        body = Buffer.from(valid);
        for (let j = 0; j < 1 + rand() * 4; j++) body[4 + Math.floor(rand() * (body.length - 4))] = Math.floor(rand() * 256);
      } else body = Buffer.concat([valid.subarray(0, 4), Buffer.from(Array.from({ length: Math.floor(rand() * 64) }, () => Math.floor(rand() * 256)))]);
      const code = statusOf(() => decodeKubernetesProtobuf(body));
      assert.ok(code === 200 || code === 400 || code === 415, `status ${code} for ${body.toString('hex')}`);
    }
  });
});
