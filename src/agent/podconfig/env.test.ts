import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { KubeObject } from '../../api/types.js';
import type { ConfigSource } from './config-source.js';
import { resolveEnvironment, type EnvironmentInput } from './env.js';
import { ContainerConfigError } from './errors.js';
import { formatMap } from './fieldpath.js';
import { serviceEnvironment } from './service-env.js';

const b64 = (s: string) => Buffer.from(s).toString('base64');

/** A fixed set of objects (the client-backed source is tested against a real server in config-source.test.ts). */
function source(objs: { configMaps?: Record<string, KubeObject>; secrets?: Record<string, KubeObject> }): ConfigSource & { reads: number } {
  const s = {
    reads: 0,
    async configMap(ns: string, name: string) {
      s.reads++;
      return objs.configMaps?.[`${ns}/${name}`];
    },
    async secret(ns: string, name: string) {
      s.reads++;
      return objs.secrets?.[`${ns}/${name}`];
    },
  };
  return s;
}

const pod: KubeObject = {
  metadata: { name: 'web-0', namespace: 'shop', uid: 'u-1', labels: { app: 'web', tier: 'front' }, annotations: { note: 'say "hi"\n' } },
  spec: { nodeName: 'node-a', serviceAccountName: 'builder', containers: [{ name: 'main', resources: { requests: { cpu: '250m', memory: '64Mi' }, limits: { memory: '128Mi' } } }] },
};

const objects = source({
  configMaps: { 'shop/cfg': { data: { LEVEL: 'debug', MODE: 'fast', 'dotted.key': 'ok' } }, 'shop/other': { data: { LEVEL: 'info' } } },
  secrets: { 'shop/creds': { data: { USER: b64('admin'), PASS: b64('s3cret') } } },
});

async function env(container: any, extra: Partial<EnvironmentInput> = {}) {
  const r = await resolveEnvironment({ pod, container, source: objects, podIPs: ['10.1.0.7', 'fd00::7'], hostIPs: ['192.168.1.5'], ...extra });
  return r;
}

function asObject(vars: { name: string; value: string }[]): Record<string, string> {
  return Object.fromEntries(vars.map((v) => [v.name, v.value]));
}

test('envFrom: ConfigMaps and Secrets with prefixes, later sources and then env winning', async () => {
  const { vars, warnings } = await env({
    name: 'main',
    envFrom: [{ configMapRef: { name: 'cfg' } }, { configMapRef: { name: 'other' } }, { prefix: 'DB_', secretRef: { name: 'creds' } }],
    env: [{ name: 'MODE', value: 'slow' }],
  });
  assert.deepEqual(asObject(vars), { LEVEL: 'info', MODE: 'slow', 'dotted.key': 'ok', DB_USER: 'admin', DB_PASS: 's3cret' });
  assert.deepEqual(warnings, []);
});

test('env values expand $(VAR) against envFrom, earlier env and service variables, never later ones', async () => {
  const { vars } = await env(
    {
      name: 'main',
      envFrom: [{ configMapRef: { name: 'cfg' } }],
      env: [
        { name: 'A', value: 'a' },
        { name: 'B', value: '$(A)-$(LEVEL)-$(C)' },
        { name: 'C', value: 'c' },
        { name: 'D', value: '$$(A) $(UNDEFINED) $(MY_SVC_SERVICE_HOST)' },
        { name: 'E', value: '' },
      ],
    },
    { serviceEnv: new Map([['MY_SVC_SERVICE_HOST', '10.96.0.9'], ['C', 'from-service']]) },
  );
  const got = asObject(vars);
  assert.equal(got.B, 'a-debug-from-service');
  assert.equal(got.C, 'c', 'an explicit variable wins over the service variable');
  assert.equal(got.D, '$(A) $(UNDEFINED) 10.96.0.9');
  assert.equal(got.E, '');
  assert.equal(got.MY_SVC_SERVICE_HOST, '10.96.0.9');
  assert.equal(vars.filter((v) => v.name === 'C').length, 1);
});

test('fieldRef: metadata, labels and annotations by key, spec and status fields', async () => {
  const fr = (fieldPath: string) => ({ valueFrom: { fieldRef: { apiVersion: 'v1', fieldPath } } });
  const { vars } = await env({
    name: 'main',
    env: [
      { name: 'NAME', ...fr('metadata.name') },
      { name: 'NS', ...fr('metadata.namespace') },
      { name: 'UID', ...fr('metadata.uid') },
      { name: 'APP', ...fr("metadata.labels['app']") },
      { name: 'NONE', ...fr("metadata.labels['missing']") },
      { name: 'NOTE', ...fr("metadata.annotations['note']") },
      { name: 'LABELS', ...fr('metadata.labels') },
      { name: 'NODE', ...fr('spec.nodeName') },
      { name: 'SA', ...fr('spec.serviceAccountName') },
      { name: 'HOST_IP', ...fr('status.hostIP') },
      { name: 'HOST_IPS', ...fr('status.hostIPs') },
      { name: 'POD_IP', ...fr('status.podIP') },
      { name: 'POD_IPS', ...fr('status.podIPs') },
    ],
  });
  assert.deepEqual(asObject(vars), {
    NAME: 'web-0',
    NS: 'shop',
    UID: 'u-1',
    APP: 'web',
    NONE: '',
    NOTE: 'say "hi"\n',
    LABELS: 'app="web"\ntier="front"',
    NODE: 'node-a',
    SA: 'builder',
    HOST_IP: '192.168.1.5',
    HOST_IPS: '192.168.1.5',
    POD_IP: '10.1.0.7',
    POD_IPS: '10.1.0.7,fd00::7',
  });
  assert.equal(formatMap({ b: 'x"y', a: 'tab\there' }), 'a="tab\\there"\nb="x\\"y"');
});

test('resourceFieldRef: divisors round up, unset limits default to node allocatable', async () => {
  const rf = (resource: string, divisor?: string, containerName?: string) => ({ valueFrom: { resourceFieldRef: { resource, divisor, containerName } } });
  const { vars } = await env(
    {
      name: 'main',
      resources: { requests: { cpu: '250m', memory: '64Mi' }, limits: { memory: '128Mi' } },
      env: [
        { name: 'REQ_CPU', ...rf('requests.cpu') },
        { name: 'REQ_CPU_M', ...rf('requests.cpu', '1m') },
        { name: 'REQ_MEM', ...rf('requests.memory') },
        { name: 'LIM_MEM_MI', ...rf('limits.memory', '1Mi') },
        { name: 'LIM_CPU', ...rf('limits.cpu') },
        { name: 'LIM_CPU_M', ...rf('limits.cpu', '1m') },
        { name: 'LIM_STORAGE_GI', ...rf('limits.ephemeral-storage', '1Gi') },
        { name: 'REQ_STORAGE', ...rf('requests.ephemeral-storage') },
        { name: 'OTHER', ...rf('requests.memory', '1Mi', 'main') },
      ],
    },
    { nodeAllocatable: { cpu: '3500m', memory: '7Gi', 'ephemeral-storage': '20Gi', pods: '110' } },
  );
  assert.deepEqual(asObject(vars), {
    REQ_CPU: '1',
    REQ_CPU_M: '250',
    REQ_MEM: String(64 * 1024 * 1024),
    LIM_MEM_MI: '128',
    LIM_CPU: '4',
    LIM_CPU_M: '3500',
    LIM_STORAGE_GI: '20',
    REQ_STORAGE: '0',
    OTHER: '64',
  });
});

test('missing ConfigMaps, Secrets and keys fail with upstream messages; optional ones are skipped', async () => {
  const failsWith = async (container: any, message: string) => {
    await assert.rejects(env({ name: 'main', ...container }), (err: unknown) => {
      assert.ok(err instanceof ContainerConfigError, String(err));
      assert.equal(err.reason, 'CreateContainerConfigError');
      assert.equal(err.message, message);
      return true;
    });
  };
  await failsWith({ envFrom: [{ configMapRef: { name: 'x' } }] }, 'configmap "x" not found');
  await failsWith({ envFrom: [{ secretRef: { name: 's' } }] }, 'secret "s" not found');
  await failsWith({ env: [{ name: 'K', valueFrom: { configMapKeyRef: { name: 'x', key: 'k' } } }] }, 'configmap "x" not found');
  await failsWith({ env: [{ name: 'K', valueFrom: { configMapKeyRef: { name: 'cfg', key: 'k' } } }] }, "couldn't find key k in ConfigMap shop/cfg");
  await failsWith({ env: [{ name: 'K', valueFrom: { secretKeyRef: { name: 's', key: 'k' } } }] }, 'secret "s" not found');
  await failsWith({ env: [{ name: 'K', valueFrom: { secretKeyRef: { name: 'creds', key: 'k' } } }] }, "couldn't find key k in Secret shop/creds");
  await failsWith({ env: [{ name: 'K', valueFrom: { fieldRef: { fieldPath: 'spec.bogus' } } }] }, 'field label not supported: spec.bogus');
  await failsWith({ env: [{ name: 'K', valueFrom: { resourceFieldRef: { resource: 'limits.gpu' } } }] }, 'unsupported container resource : limits.gpu');
  await failsWith({ env: [{ name: 'K', valueFrom: { resourceFieldRef: { resource: 'limits.cpu', containerName: 'nope' } } }] }, 'container nope not found');

  const { vars } = await env({
    name: 'main',
    envFrom: [{ configMapRef: { name: 'x', optional: true } }, { secretRef: { name: 's', optional: true } }],
    env: [
      { name: 'A', valueFrom: { configMapKeyRef: { name: 'x', key: 'k', optional: true } } },
      { name: 'B', valueFrom: { configMapKeyRef: { name: 'cfg', key: 'k', optional: true } } },
      { name: 'C', valueFrom: { secretKeyRef: { name: 'creds', key: 'k', optional: true } } },
      { name: 'D', valueFrom: { secretKeyRef: { name: 'creds', key: 'USER', optional: true } } },
    ],
  });
  assert.deepEqual(asObject(vars), { D: 'admin' });
});

test('each referenced object is read once per resolution', async () => {
  const before = objects.reads;
  await env({
    name: 'main',
    envFrom: [{ configMapRef: { name: 'cfg' } }],
    env: [
      { name: 'A', valueFrom: { configMapKeyRef: { name: 'cfg', key: 'LEVEL' } } },
      { name: 'B', valueFrom: { configMapKeyRef: { name: 'cfg', key: 'MODE' } } },
      { name: 'C', valueFrom: { secretKeyRef: { name: 'creds', key: 'USER' } } },
      { name: 'D', valueFrom: { secretKeyRef: { name: 'creds', key: 'PASS' } } },
    ],
  });
  assert.equal(objects.reads - before, 2);
});

test('envFrom keys a process cannot take are skipped with an InvalidEnvironmentVariableNames warning', async () => {
  const odd = source({ configMaps: { 'shop/odd': { data: { GOOD: '1', 'a=b': '2', '1st': '3' } } } });
  const r = await resolveEnvironment({ pod, container: { envFrom: [{ configMapRef: { name: 'odd' } }] }, source: odd });
  // Upstream (relaxed env var names) passes "1st" through; only "=" cannot be expressed.
  assert.deepEqual(asObject(r.vars), { GOOD: '1', '1st': '3' });
  assert.deepEqual(r.warnings, [
    {
      type: 'Warning',
      reason: 'InvalidEnvironmentVariableNames',
      message: 'Keys [a=b] from the EnvFrom configMap shop/odd were skipped since they are considered invalid environment variable names.',
    },
  ]);
});

test("service variables: the master service always, the namespace's services with links enabled", () => {
  const svc = (ns: string, name: string, clusterIP: string, ports: any[]) => ({ metadata: { namespace: ns, name }, spec: { clusterIP, ports } });
  const services = [
    svc('default', 'kubernetes', '10.96.0.1', [{ name: 'https', port: 443, protocol: 'TCP' }]),
    svc('shop', 'redis-main', '10.96.0.20', [{ port: 6379 }, { name: 'metrics', port: 9121, protocol: 'TCP' }]),
    svc('shop', 'headless', 'None', [{ port: 80 }]),
    svc('other', 'elsewhere', '10.96.0.30', [{ port: 80 }]),
  ];
  const m = serviceEnvironment(services, 'shop');
  assert.deepEqual(Object.fromEntries(m), {
    KUBERNETES_SERVICE_HOST: '10.96.0.1',
    KUBERNETES_SERVICE_PORT: '443',
    KUBERNETES_SERVICE_PORT_HTTPS: '443',
    KUBERNETES_PORT: 'tcp://10.96.0.1:443',
    KUBERNETES_PORT_443_TCP: 'tcp://10.96.0.1:443',
    KUBERNETES_PORT_443_TCP_PROTO: 'tcp',
    KUBERNETES_PORT_443_TCP_PORT: '443',
    KUBERNETES_PORT_443_TCP_ADDR: '10.96.0.1',
    REDIS_MAIN_SERVICE_HOST: '10.96.0.20',
    REDIS_MAIN_SERVICE_PORT: '6379',
    REDIS_MAIN_SERVICE_PORT_METRICS: '9121',
    REDIS_MAIN_PORT: 'tcp://10.96.0.20:6379',
    REDIS_MAIN_PORT_6379_TCP: 'tcp://10.96.0.20:6379',
    REDIS_MAIN_PORT_6379_TCP_PROTO: 'tcp',
    REDIS_MAIN_PORT_6379_TCP_PORT: '6379',
    REDIS_MAIN_PORT_6379_TCP_ADDR: '10.96.0.20',
    REDIS_MAIN_PORT_9121_TCP: 'tcp://10.96.0.20:9121',
    REDIS_MAIN_PORT_9121_TCP_PROTO: 'tcp',
    REDIS_MAIN_PORT_9121_TCP_PORT: '9121',
    REDIS_MAIN_PORT_9121_TCP_ADDR: '10.96.0.20',
  });
  assert.deepEqual([...serviceEnvironment(services, 'shop', false).keys()].filter((k) => !k.startsWith('KUBERNETES_')), []);
});
