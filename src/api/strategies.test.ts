import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { StatusCause } from './errors.js';
import { builtinResources } from './catalog.js';
import { kindsWithStrategies, strategyFor } from './strategies.js';
import { groupKind, type KubeObject } from './types.js';
import { prepareMetaForUpdate, validateObjectMeta } from './validation/meta.js';
import { CONTAINER_DEFAULTS, DEPLOYMENT_SPEC_DEFAULTS, POD_TEMPLATE_SPEC_DEFAULTS } from '../../test/harness/upstream.js';

const UID = '8d9a3f52-1c5e-4d51-9a7e-0c1b2d3e4f50';
const CREATED = '2024-05-01T12:00:00Z';

function entryOf(obj: KubeObject) {
  const [group, version] = obj.apiVersion!.includes('/') ? obj.apiVersion!.split('/') : ['', obj.apiVersion!];
  const e = builtinResources.find((x) => x.group === group && x.version === version && x.kind === obj.kind);
  assert.ok(e, `${obj.apiVersion} ${obj.kind} in the catalog`);
  return e;
}

/** The store's create path: system fields, prepareForCreate, default, then both validations. */
function create(input: KubeObject): { obj: KubeObject; errs: StatusCause[] } {
  const obj = structuredClone(input);
  const e = entryOf(obj);
  const s = strategyFor(groupKind(e.group, e.kind));
  obj.metadata = { ...obj.metadata, uid: UID, creationTimestamp: CREATED };
  if (e.hasSpec) obj.metadata.generation = 1;
  s.prepareForCreate?.(obj);
  s.default?.(obj);
  return { obj, errs: [...validateObjectMeta(e, obj), ...(s.validate?.(obj) ?? [])] };
}

/** A created object that must be valid. */
function created(input: KubeObject): KubeObject {
  const r = create(input);
  assert.deepEqual(r.errs, [], `${input.kind} should be valid`);
  return r.obj;
}

/** The store's update path for the main resource: status carried over, default, prepare, validate. */
function update(old: KubeObject, change: (o: KubeObject) => void): { obj: KubeObject; errs: StatusCause[] } {
  const obj = structuredClone(old);
  change(obj);
  const e = entryOf(obj);
  const s = strategyFor(groupKind(e.group, e.kind));
  if (e.subresources.status) obj.status = structuredClone(old.status);
  s.default?.(obj);
  s.prepareForUpdate?.(obj, old);
  prepareMetaForUpdate(obj, old);
  return { obj, errs: [...validateObjectMeta(e, obj, old), ...(s.validate?.(obj, old) ?? [])] };
}

function fields(errs: StatusCause[]): string[] {
  return errs.map((c) => `${c.field} ${c.reason}`);
}

const meta = (name: string) => ({ name, namespace: 'default' });

const minimalPod = (): KubeObject => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: meta('nginx'),
  spec: { containers: [{ name: 'nginx', image: 'nginx' }] },
});

const minimalDeployment = (): KubeObject => ({
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { ...meta('web'), labels: { app: 'web' } },
  spec: {
    selector: { matchLabels: { app: 'web' } },
    template: { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'nginx', image: 'nginx:1.25', ports: [{ containerPort: 80 }] }] } },
  },
});

/** What upstream returns for a container nobody configured beyond name and image. */
const defaultedContainer = (name: string, image: string, pullPolicy: string, extra: object = {}) => ({
  name,
  image,
  ...extra,
  ...CONTAINER_DEFAULTS,
  imagePullPolicy: pullPolicy,
});

describe('defaults, as `kubectl get -o yaml` shows them', () => {
  test('a minimal Pod', () => {
    assert.deepEqual(created(minimalPod()), {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { ...meta('nginx'), uid: UID, creationTimestamp: CREATED },
      spec: {
        containers: [defaultedContainer('nginx', 'nginx', 'Always')],
        ...POD_TEMPLATE_SPEC_DEFAULTS,
        enableServiceLinks: true,
      },
      status: { phase: 'Pending', qosClass: 'BestEffort' },
    });
  });

  test('a minimal Deployment', () => {
    assert.deepEqual(created(minimalDeployment()), {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { ...meta('web'), labels: { app: 'web' }, uid: UID, creationTimestamp: CREATED, generation: 1 },
      spec: {
        ...DEPLOYMENT_SPEC_DEFAULTS,
        replicas: 1,
        selector: { matchLabels: { app: 'web' } },
        template: {
          metadata: { labels: { app: 'web' }, creationTimestamp: null },
          spec: {
            containers: [defaultedContainer('nginx', 'nginx:1.25', 'IfNotPresent', { ports: [{ containerPort: 80, protocol: 'TCP' }] })],
            ...POD_TEMPLATE_SPEC_DEFAULTS,
          },
        },
      },
      status: {},
    });
  });

  test('a minimal Service (cluster IP allocation is not defaulting, so absent)', () => {
    const svc = created({ apiVersion: 'v1', kind: 'Service', metadata: meta('web'), spec: { selector: { app: 'web' }, ports: [{ port: 80 }] } });
    assert.deepEqual(svc.spec, {
      selector: { app: 'web' },
      ports: [{ port: 80, protocol: 'TCP', targetPort: 80 }],
      type: 'ClusterIP',
      sessionAffinity: 'None',
      internalTrafficPolicy: 'Cluster',
      ipFamilyPolicy: 'SingleStack',
      ipFamilies: ['IPv4'],
    });
    assert.deepEqual(svc.status, { loadBalancer: {} });
    const np = created({ apiVersion: 'v1', kind: 'Service', metadata: meta('np'), spec: { type: 'NodePort', ports: [{ port: 80, targetPort: 'http' }] } });
    assert.equal(np.spec.externalTrafficPolicy, 'Cluster');
    assert.equal(np.spec.ports[0].targetPort, 'http');
    const lb = created({ apiVersion: 'v1', kind: 'Service', metadata: meta('lb'), spec: { type: 'LoadBalancer', ports: [{ port: 80 }] } });
    assert.equal(lb.spec.allocateLoadBalancerNodePorts, true);
    const en = created({ apiVersion: 'v1', kind: 'Service', metadata: meta('en'), spec: { type: 'ExternalName', externalName: 'example.com' } });
    assert.equal(en.spec.ipFamilies, undefined);
  });

  test('a minimal Job: generated selector, labels and batch defaults', () => {
    const job = created({
      apiVersion: 'batch/v1',
      kind: 'Job',
      metadata: meta('pi'),
      spec: { template: { spec: { containers: [{ name: 'pi', image: 'perl:5.34' }], restartPolicy: 'Never' } } },
    });
    const labels = { 'batch.kubernetes.io/controller-uid': UID, 'batch.kubernetes.io/job-name': 'pi', 'controller-uid': UID, 'job-name': 'pi' };
    assert.deepEqual(job.metadata?.labels, labels);
    assert.deepEqual(job.spec, {
      completions: 1,
      parallelism: 1,
      backoffLimit: 6,
      completionMode: 'NonIndexed',
      suspend: false,
      podReplacementPolicy: 'TerminatingOrFailed',
      selector: { matchLabels: { 'batch.kubernetes.io/controller-uid': UID } },
      template: {
        metadata: { labels, creationTimestamp: null },
        spec: { containers: [defaultedContainer('pi', 'perl:5.34', 'IfNotPresent')], ...POD_TEMPLATE_SPEC_DEFAULTS, restartPolicy: 'Never' },
      },
    });
    assert.deepEqual(job.status, {});
  });

  test('pods: requests default to limits, QoS follows', () => {
    const pod = minimalPod();
    pod.spec.containers[0].resources = { limits: { cpu: '500m', memory: '128Mi' } };
    const p = created(pod);
    assert.deepEqual(p.spec.containers[0].resources, { limits: { cpu: '500m', memory: '128Mi' }, requests: { cpu: '500m', memory: '128Mi' } });
    assert.equal(p.status.qosClass, 'Guaranteed');
    const b = minimalPod();
    b.spec.containers[0].resources = { requests: { cpu: '100m' } };
    assert.equal(created(b).status.qosClass, 'Burstable');
  });

  test('image pull policy follows the tag', () => {
    const cases: [string, string][] = [
      ['nginx', 'Always'],
      ['nginx:latest', 'Always'],
      ['nginx:1.25', 'IfNotPresent'],
      ['localhost:5000/nginx', 'Always'],
      ['registry.k8s.io/pause:3.9', 'IfNotPresent'],
      [`nginx@sha256:${'a'.repeat(64)}`, 'IfNotPresent'],
    ];
    for (const [image, want] of cases) {
      const pod = minimalPod();
      pod.spec.containers[0].image = image;
      assert.equal(created(pod).spec.containers[0].imagePullPolicy, want, image);
    }
  });

  test('probes, ports, volumes and env get their nested defaults', () => {
    const pod = minimalPod();
    pod.spec.containers[0] = {
      name: 'app',
      image: 'app:1',
      ports: [{ containerPort: 8080, protocol: 'UDP' }],
      livenessProbe: { httpGet: { port: 8080 } },
      env: [{ name: 'POD', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } }],
      volumeMounts: [{ name: 'cfg', mountPath: '/cfg' }, { name: 'scratch', mountPath: '/tmp' }],
    };
    pod.spec.volumes = [{ name: 'cfg', configMap: { name: 'cm' } }, { name: 'scratch' }];
    const c = created(pod);
    const ctr = c.spec.containers[0];
    assert.deepEqual(ctr.livenessProbe, { httpGet: { port: 8080, path: '/', scheme: 'HTTP' }, timeoutSeconds: 1, periodSeconds: 10, successThreshold: 1, failureThreshold: 3 });
    assert.equal(ctr.ports[0].protocol, 'UDP');
    assert.equal(ctr.env[0].valueFrom.fieldRef.apiVersion, 'v1');
    assert.deepEqual(c.spec.volumes, [{ name: 'cfg', configMap: { name: 'cm', defaultMode: 420 } }, { name: 'scratch', emptyDir: {} }]);
  });

  test('StatefulSet, DaemonSet, ReplicaSet, CronJob', () => {
    const template = { metadata: { labels: { app: 'x' } }, spec: { containers: [{ name: 'c', image: 'i:1' }] } };
    const sts = created({
      apiVersion: 'apps/v1',
      kind: 'StatefulSet',
      metadata: meta('db'),
      spec: {
        serviceName: 'db',
        selector: { matchLabels: { app: 'x' } },
        template,
        volumeClaimTemplates: [{ metadata: { name: 'data' }, spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } } }],
      },
    });
    assert.equal(sts.spec.podManagementPolicy, 'OrderedReady');
    assert.deepEqual(sts.spec.updateStrategy, { type: 'RollingUpdate', rollingUpdate: { partition: 0 } });
    assert.deepEqual(sts.spec.persistentVolumeClaimRetentionPolicy, { whenDeleted: 'Retain', whenScaled: 'Retain' });
    assert.equal(sts.spec.replicas, 1);
    assert.equal(sts.spec.revisionHistoryLimit, 10);
    assert.deepEqual(sts.spec.volumeClaimTemplates[0].spec.volumeMode, 'Filesystem');
    assert.deepEqual(sts.spec.volumeClaimTemplates[0].status, { phase: 'Pending' });
    assert.deepEqual(sts.spec.volumeClaimTemplates[0].metadata, { name: 'data', creationTimestamp: null });
    assert.deepEqual(sts.status, { replicas: 0, availableReplicas: 0 });

    const ds = created({ apiVersion: 'apps/v1', kind: 'DaemonSet', metadata: meta('agent'), spec: { selector: { matchLabels: { app: 'x' } }, template } });
    assert.deepEqual(ds.spec.updateStrategy, { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 1, maxSurge: 0 } });
    assert.equal(ds.spec.revisionHistoryLimit, 10);
    const templateGeneration = (o: KubeObject) => o.metadata?.annotations?.['deprecated.daemonset.template.generation'];
    assert.equal(templateGeneration(ds), '1');
    const relabelled = update(ds, (o) => (o.metadata = { ...o.metadata, labels: { tier: 'node' } })).obj;
    assert.equal(templateGeneration(relabelled), '1', 'no template change, no bump');
    const bumped = update(ds, (o) => (o.spec.template.spec.containers[0].image = 'i:2')).obj;
    assert.equal(templateGeneration(bumped), '2');
    const forged = update(bumped, (o) => (o.metadata = { ...o.metadata, annotations: { 'deprecated.daemonset.template.generation': '9' } })).obj;
    assert.equal(templateGeneration(forged), '2', 'clients cannot set it');

    const rs = created({ apiVersion: 'apps/v1', kind: 'ReplicaSet', metadata: meta('rs'), spec: { selector: { matchLabels: { app: 'x' } }, template } });
    assert.equal(rs.spec.replicas, 1);
    assert.deepEqual(rs.status, { replicas: 0 });

    const cj = created({
      apiVersion: 'batch/v1',
      kind: 'CronJob',
      metadata: meta('tick'),
      spec: { schedule: '*/5 * * * *', jobTemplate: { spec: { template: { spec: { containers: [{ name: 'c', image: 'busybox' }], restartPolicy: 'OnFailure' } } } } },
    });
    assert.equal(cj.spec.concurrencyPolicy, 'Allow');
    assert.equal(cj.spec.suspend, false);
    assert.equal(cj.spec.successfulJobsHistoryLimit, 3);
    assert.equal(cj.spec.failedJobsHistoryLimit, 1);
    // A job template is not a Job: no backoffLimit there.
    assert.equal(cj.spec.jobTemplate.spec.backoffLimit, undefined);
  });

  test('ReplicationController takes selector and labels from its template', () => {
    const rc = created({
      apiVersion: 'v1',
      kind: 'ReplicationController',
      metadata: meta('rc'),
      spec: { template: { metadata: { labels: { app: 'x' } }, spec: { containers: [{ name: 'c', image: 'i:1' }] } } },
    });
    assert.deepEqual(rc.spec.selector, { app: 'x' });
    assert.deepEqual(rc.metadata?.labels, { app: 'x' });
    assert.equal(rc.spec.replicas, 1);
  });

  test('Secret, Namespace, PV, PVC', () => {
    const sec = created({ apiVersion: 'v1', kind: 'Secret', metadata: meta('s'), stringData: { password: 'hunter2' } });
    assert.equal(sec.type, 'Opaque');
    assert.deepEqual(sec.data, { password: 'aHVudGVyMg==' });
    assert.equal(sec.stringData, undefined);

    const ns = created({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'team-a' } });
    assert.deepEqual(ns.spec, { finalizers: ['kubernetes'] });
    assert.deepEqual(ns.status, { phase: 'Active' });
    assert.deepEqual(ns.metadata?.labels, { 'kubernetes.io/metadata.name': 'team-a' });
    const nsStrategy = strategyFor('Namespace');
    nsStrategy.prepareForDelete?.(ns);
    assert.equal(ns.status.phase, 'Terminating');

    const pvc = created({
      apiVersion: 'v1',
      kind: 'PersistentVolumeClaim',
      metadata: meta('data'),
      spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } },
    });
    assert.equal(pvc.spec.volumeMode, 'Filesystem');
    assert.deepEqual(pvc.status, { phase: 'Pending' });

    const pv = created({
      apiVersion: 'v1',
      kind: 'PersistentVolume',
      metadata: { name: 'pv1' },
      spec: { capacity: { storage: '5Gi' }, accessModes: ['ReadWriteOnce'], hostPath: { path: '/data' } },
    });
    assert.equal(pv.spec.persistentVolumeReclaimPolicy, 'Retain');
    assert.equal(pv.spec.volumeMode, 'Filesystem');
    assert.deepEqual(pv.spec.hostPath, { path: '/data', type: '' });
    assert.equal(pv.status.phase, 'Pending');
  });

  test('every catalog kind has a strategy, and unknown kinds get one that does nothing', () => {
    const known = new Set(kindsWithStrategies());
    for (const e of builtinResources) {
      const gk = groupKind(e.group, e.kind);
      if (gk === 'ServiceAccount') continue;
      // Create-only kinds (the reviews) are answered by code and never stored.
      if (!e.verbs.includes('get')) continue;
      assert.ok(known.has(gk), `${gk} has a strategy`);
    }
    assert.deepEqual(strategyFor('Widget.example.com'), {});
  });
});

describe('validation of invalid objects', () => {
  const cases: { name: string; obj: KubeObject; want: string[]; message?: [number, string] }[] = [
    {
      name: 'pod without containers',
      obj: { apiVersion: 'v1', kind: 'Pod', metadata: meta('p'), spec: {} },
      want: ['spec.containers FieldValueRequired'],
    },
    {
      name: 'container without name and image',
      obj: { apiVersion: 'v1', kind: 'Pod', metadata: meta('p'), spec: { containers: [{}] } },
      want: ['spec.containers[0].name FieldValueRequired', 'spec.containers[0].image FieldValueRequired'],
    },
    {
      name: 'duplicate container names and a bad one',
      obj: { apiVersion: 'v1', kind: 'Pod', metadata: meta('p'), spec: { containers: [{ name: 'a', image: 'x' }, { name: 'a', image: 'y' }, { name: 'B_', image: 'z' }] } },
      want: ['spec.containers[1].name FieldValueDuplicate', 'spec.containers[2].name FieldValueInvalid'],
    },
    {
      name: 'container port out of range',
      obj: { apiVersion: 'v1', kind: 'Pod', metadata: meta('p'), spec: { containers: [{ name: 'a', image: 'x', ports: [{ containerPort: 70000 }] }] } },
      want: ['spec.containers[0].ports[0].containerPort FieldValueInvalid'],
      message: [0, 'Invalid value: 70000: must be between 1 and 65535, inclusive'],
    },
    {
      name: 'requests above limits',
      obj: { apiVersion: 'v1', kind: 'Pod', metadata: meta('p'), spec: { containers: [{ name: 'a', image: 'x', resources: { requests: { cpu: '2' }, limits: { cpu: '1' } } }] } },
      want: ['spec.containers[0].resources.requests FieldValueInvalid'],
      message: [0, 'Invalid value: "2": must be less than or equal to cpu limit of 1'],
    },
    {
      name: 'volume mount of an unknown volume',
      obj: { apiVersion: 'v1', kind: 'Pod', metadata: meta('p'), spec: { containers: [{ name: 'a', image: 'x', volumeMounts: [{ name: 'v', mountPath: '/v' }] }] } },
      want: ['spec.containers[0].volumeMounts[0].name FieldValueNotFound'],
    },
    {
      name: 'bad restart policy',
      obj: { apiVersion: 'v1', kind: 'Pod', metadata: meta('p'), spec: { restartPolicy: 'Sometimes', containers: [{ name: 'a', image: 'x' }] } },
      want: ['spec.restartPolicy FieldValueNotSupported'],
      message: [0, 'Unsupported value: "Sometimes": supported values: "Always", "OnFailure", "Never"'],
    },
    {
      name: 'deployment without selector',
      obj: { apiVersion: 'apps/v1', kind: 'Deployment', metadata: meta('d'), spec: { template: { metadata: { labels: { app: 'x' } }, spec: { containers: [{ name: 'a', image: 'x' }] } } } },
      want: ['spec.selector FieldValueRequired', 'spec.template.metadata.labels FieldValueInvalid'],
      message: [1, 'Invalid value: map[string]string{"app":"x"}: `selector` does not match template `labels`'],
    },
    {
      name: 'deployment selector not matching, negative replicas',
      obj: {
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        metadata: meta('d'),
        spec: { replicas: -1, selector: { matchLabels: { app: 'y' } }, template: { metadata: { labels: { app: 'x' } }, spec: { containers: [{ name: 'a', image: 'x' }] } } },
      },
      want: ['spec.replicas FieldValueInvalid', 'spec.template.metadata.labels FieldValueInvalid'],
      message: [0, 'Invalid value: -1: must be greater than or equal to 0'],
    },
    {
      name: 'deployment with an empty selector and restartPolicy Never',
      obj: {
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        metadata: meta('d'),
        spec: { selector: {}, template: { metadata: { labels: { app: 'x' } }, spec: { restartPolicy: 'Never', containers: [{ name: 'a', image: 'x' }] } } },
      },
      want: ['spec.selector FieldValueInvalid', 'spec.template.spec.restartPolicy FieldValueNotSupported'],
      message: [0, 'Invalid value: v1.LabelSelector{MatchLabels:map[string]string(nil), MatchExpressions:[]v1.LabelSelectorRequirement(nil)}: empty selector is invalid for deployment'],
    },
    {
      name: 'service without ports, with a bad type',
      obj: { apiVersion: 'v1', kind: 'Service', metadata: meta('s'), spec: { type: 'Magic' } },
      want: ['spec.ports FieldValueRequired', 'spec.type FieldValueNotSupported'],
    },
    {
      name: 'service port zero and unnamed ports',
      obj: { apiVersion: 'v1', kind: 'Service', metadata: meta('s'), spec: { ports: [{ port: 0 }, { port: 81, targetPort: 'Bad_Name' }] } },
      want: [
        'spec.ports[0].name FieldValueRequired',
        'spec.ports[0].port FieldValueInvalid',
        'spec.ports[0].targetPort FieldValueInvalid',
        'spec.ports[1].name FieldValueRequired',
        'spec.ports[1].targetPort FieldValueInvalid',
      ],
    },
    {
      name: 'service with an uppercase name (DNS-1035)',
      obj: { apiVersion: 'v1', kind: 'Service', metadata: meta('1web'), spec: { ports: [{ port: 80 }] } },
      want: ['metadata.name FieldValueInvalid'],
    },
    {
      name: 'configmap key syntax',
      obj: { apiVersion: 'v1', kind: 'ConfigMap', metadata: meta('c'), data: { 'bad key': 'v', '..x': 'y' } },
      want: ['data[bad key] FieldValueInvalid', 'data[..x] FieldValueInvalid'],
    },
    {
      name: 'tls secret without its keys',
      obj: { apiVersion: 'v1', kind: 'Secret', metadata: meta('s'), type: 'kubernetes.io/tls', data: {} },
      want: ['data[tls.crt] FieldValueRequired', 'data[tls.key] FieldValueRequired'],
    },
    {
      name: 'job with restartPolicy Always (the default)',
      obj: { apiVersion: 'batch/v1', kind: 'Job', metadata: meta('j'), spec: { template: { spec: { containers: [{ name: 'a', image: 'x' }] } } } },
      want: ['spec.template.spec.restartPolicy FieldValueNotSupported'],
      message: [0, 'Unsupported value: "Always": supported values: "OnFailure", "Never"'],
    },
    {
      name: 'job with a hand-written selector',
      obj: {
        apiVersion: 'batch/v1',
        kind: 'Job',
        metadata: meta('j'),
        spec: { selector: { matchLabels: { app: 'x' } }, template: { metadata: { labels: { app: 'x' } }, spec: { restartPolicy: 'Never', containers: [{ name: 'a', image: 'x' }] } } },
      },
      want: ['spec.selector FieldValueInvalid'],
    },
    {
      name: 'cronjob with a bad schedule and a long name',
      obj: {
        apiVersion: 'batch/v1',
        kind: 'CronJob',
        metadata: meta('x'.repeat(53)),
        spec: { schedule: '61 * * * *', jobTemplate: { spec: { template: { spec: { restartPolicy: 'Never', containers: [{ name: 'a', image: 'x' }] } } } } },
      },
      want: ['spec.schedule FieldValueInvalid', 'metadata.name FieldValueInvalid'],
      message: [0, 'Invalid value: "61 * * * *": end of range (61) above maximum (59): 61'],
    },
    {
      name: 'pvc without access modes and size',
      obj: { apiVersion: 'v1', kind: 'PersistentVolumeClaim', metadata: meta('c'), spec: {} },
      want: ['spec.accessModes FieldValueRequired', 'spec.resources[storage] FieldValueRequired'],
    },
    {
      name: 'namespace with a dotted name',
      obj: { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'a.b' } },
      want: ['metadata.name FieldValueInvalid'],
      message: [0, 'Invalid value: "a.b": must not contain dots'],
    },
    {
      name: 'statefulset with a bad pod management policy',
      obj: {
        apiVersion: 'apps/v1',
        kind: 'StatefulSet',
        metadata: meta('s'),
        spec: { podManagementPolicy: 'Random', selector: { matchLabels: { a: 'b' } }, template: { metadata: { labels: { a: 'b' } }, spec: { containers: [{ name: 'a', image: 'x' }] } } },
      },
      want: ['spec.podManagementPolicy FieldValueInvalid'],
    },
    {
      name: 'role binding to an unknown kind',
      obj: { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'RoleBinding', metadata: meta('rb'), roleRef: { kind: 'Thing', name: 'x' }, subjects: [{ kind: 'User', name: 'alice' }] },
      want: ['roleRef.kind FieldValueNotSupported'],
    },
  ];

  for (const c of cases) {
    test(c.name, () => {
      const { errs } = create(c.obj);
      assert.deepEqual(fields(errs), c.want);
      if (c.message) assert.equal(errs[c.message[0]].message, c.message[1]);
    });
  }
});

describe('updates', () => {
  test('a Deployment selector is immutable', () => {
    const old = created(minimalDeployment());
    const { errs } = update(old, (o) => {
      o.spec.selector.matchLabels = { app: 'web2' };
      o.spec.template.metadata.labels = { app: 'web2' };
    });
    assert.deepEqual(errs, [
      {
        reason: 'FieldValueInvalid',
        message: 'Invalid value: v1.LabelSelector{MatchLabels:map[string]string{"app":"web2"}, MatchExpressions:[]v1.LabelSelectorRequirement(nil)}: field is immutable',
        field: 'spec.selector',
      },
    ]);
    assert.deepEqual(update(old, (o) => (o.spec.replicas = 5)).errs, []);
  });

  test('a Pod may change images and shorten its deadline, nothing else', () => {
    const old = created(minimalPod());
    assert.deepEqual(update(old, (o) => (o.spec.containers[0].image = 'nginx:1.26')).errs, []);
    const ports = update(old, (o) => (o.spec.containers[0].ports = [{ containerPort: 80 }]));
    assert.deepEqual(fields(ports.errs), ['spec FieldValueForbidden']);
    assert.match(
      ports.errs[0].message!,
      /^Forbidden: pod updates may not change fields other than `spec.containers\[\*\].image`,`spec.initContainers\[\*\].image`,`spec.activeDeadlineSeconds`,`spec.tolerations` \(only additions to existing tolerations\),`spec.terminationGracePeriodSeconds` \(allow it to be set to 1 if it was previously negative\)\n/,
    );
    assert.deepEqual(fields(update(old, (o) => o.spec.containers.push({ name: 'b', image: 'b' })).errs), ['spec.containers FieldValueForbidden']);
    const withDeadline = update(old, (o) => (o.spec.activeDeadlineSeconds = 100)).obj;
    assert.deepEqual(update(withDeadline, (o) => (o.spec.activeDeadlineSeconds = 50)).errs, []);
    assert.deepEqual(fields(update(withDeadline, (o) => (o.spec.activeDeadlineSeconds = 200)).errs), ['spec.activeDeadlineSeconds FieldValueInvalid']);
    assert.deepEqual(update(old, (o) => (o.spec.tolerations = [{ key: 'k', operator: 'Exists' }])).errs, []);
  });

  test('a Job template is immutable; its selector too', () => {
    const old = created({
      apiVersion: 'batch/v1',
      kind: 'Job',
      metadata: meta('pi'),
      spec: { template: { spec: { containers: [{ name: 'pi', image: 'perl' }], restartPolicy: 'Never' } } },
    });
    const { errs } = update(old, (o) => (o.spec.template.spec.containers[0].image = 'perl:2'));
    assert.deepEqual(fields(errs), ['spec.template FieldValueInvalid']);
    assert.match(errs[0].message!, /: field is immutable$/);
    assert.deepEqual(update(old, (o) => (o.spec.parallelism = 3)).errs, []);
    assert.deepEqual(fields(update(old, (o) => (o.spec.completions = 3)).errs), ['spec.completions FieldValueInvalid']);
  });

  test('a PVC spec is immutable except a bound claim growing', () => {
    const old = created({
      apiVersion: 'v1',
      kind: 'PersistentVolumeClaim',
      metadata: meta('data'),
      spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } },
    });
    assert.deepEqual(fields(update(old, (o) => (o.spec.accessModes = ['ReadWriteMany'])).errs), ['spec FieldValueForbidden']);
    assert.deepEqual(fields(update(old, (o) => (o.spec.resources.requests.storage = '2Gi')).errs), ['spec FieldValueForbidden']);
    const bound = structuredClone(old);
    bound.status.phase = 'Bound';
    assert.deepEqual(update(bound, (o) => (o.spec.resources.requests.storage = '2Gi')).errs, []);
    assert.deepEqual(fields(update(bound, (o) => (o.spec.resources.requests.storage = '500Mi')).errs), ['spec.resources.requests.storage FieldValueForbidden']);
    // The binder may fill in volumeName once.
    assert.deepEqual(update(old, (o) => (o.spec.volumeName = 'pv-1')).errs, []);
  });

  test('a Service keeps its allocated cluster IP when the client omits it, and may not change it', () => {
    const old = created({ apiVersion: 'v1', kind: 'Service', metadata: meta('web'), spec: { clusterIP: '10.96.0.10', ports: [{ port: 80 }] } });
    assert.deepEqual(old.spec.clusterIPs, ['10.96.0.10']);
    const replaced = update(old, (o) => {
      delete o.spec.clusterIP;
      delete o.spec.clusterIPs;
      o.spec.ports = [{ port: 8080 }];
    });
    assert.deepEqual(replaced.errs, []);
    assert.equal(replaced.obj.spec.clusterIP, '10.96.0.10');
    const changed = update(old, (o) => {
      o.spec.clusterIP = '10.96.0.11';
      o.spec.clusterIPs = ['10.96.0.11'];
    });
    assert.deepEqual(changed.errs, [
      { reason: 'FieldValueInvalid', message: 'Invalid value: []string{"10.96.0.11"}: may not change once set', field: 'spec.clusterIPs[0]' },
    ]);
  });

  test('an immutable ConfigMap keeps its data', () => {
    const old = created({ apiVersion: 'v1', kind: 'ConfigMap', metadata: meta('c'), data: { a: '1' }, immutable: true });
    assert.deepEqual(update(old, (o) => (o.metadata!.labels = { x: 'y' })).errs, []);
    assert.deepEqual(fields(update(old, (o) => (o.data.a = '2')).errs), ['data FieldValueForbidden']);
    assert.deepEqual(fields(update(old, (o) => (o.immutable = false)).errs), ['immutable FieldValueForbidden']);
  });

  test('a Secret type is immutable', () => {
    const old = created({ apiVersion: 'v1', kind: 'Secret', metadata: meta('s'), data: { username: 'Yg==' } });
    assert.deepEqual(fields(update(old, (o) => (o.type = 'kubernetes.io/basic-auth')).errs), ['type FieldValueInvalid']);
  });

  test('StatefulSet fields other than the listed ones are forbidden to change', () => {
    const old = created({
      apiVersion: 'apps/v1',
      kind: 'StatefulSet',
      metadata: meta('db'),
      spec: { serviceName: 'db', selector: { matchLabels: { a: 'b' } }, template: { metadata: { labels: { a: 'b' } }, spec: { containers: [{ name: 'c', image: 'i:1' }] } } },
    });
    assert.deepEqual(update(old, (o) => (o.spec.replicas = 3)).errs, []);
    assert.deepEqual(fields(update(old, (o) => (o.spec.serviceName = 'other')).errs), ['spec FieldValueForbidden']);
  });

  test('a RoleBinding roleRef cannot change', () => {
    const old = created({
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'RoleBinding',
      metadata: meta('rb'),
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'a' },
      subjects: [{ kind: 'ServiceAccount', name: 'default', namespace: 'default' }],
    });
    assert.equal(old.subjects[0].apiGroup, '');
    assert.deepEqual(fields(update(old, (o) => (o.roleRef.name = 'b')).errs), ['roleRef FieldValueInvalid']);
  });
});

describe('robustness', () => {
  test('no strategy throws on malformed objects (they answer with causes instead)', () => {
    const weird: unknown[] = [null, 1, 'x', [], {}, [null], [1], [{}], { a: null }, true];
    const top = ['spec', 'status', 'data', 'template', 'subsets', 'rules', 'roleRef', 'subjects', 'endpoints', 'ports', 'stringData', 'metadata'];
    const inSpec = ['containers', 'initContainers', 'volumes', 'selector', 'template', 'ports', 'strategy', 'updateStrategy', 'jobTemplate', 'clusterIPs', 'limits', 'hard', 'finalizers', 'resources', 'taints', 'tolerations', 'affinity', 'behavior', 'versions'];
    const shapes: Record<string, unknown>[] = [];
    for (const w of weird) {
      for (const k of top) shapes.push({ [k]: w });
      for (const k of inSpec) shapes.push({ spec: { [k]: w } });
      shapes.push({ spec: { containers: [{ name: 'a', image: 'b', ports: w, env: w, resources: w, livenessProbe: w, volumeMounts: w }] } });
      shapes.push({ spec: { template: { metadata: w, spec: w } } });
    }
    for (const gk of kindsWithStrategies()) {
      const s = strategyFor(gk);
      for (const shape of shapes) {
        const base = () => ({ apiVersion: 'v1', kind: 'X', metadata: { name: 'a', namespace: 'default', uid: UID }, ...structuredClone(shape) }) as KubeObject;
        const obj = base();
        const old = base();
        assert.doesNotThrow(() => {
          s.prepareForCreate?.(obj);
          s.default?.(obj);
          s.validate?.(obj);
          const next = base();
          s.default?.(next);
          s.prepareForUpdate?.(next, old);
          s.validate?.(next, old);
          s.prepareForDelete?.(next);
        }, `${gk} with ${JSON.stringify(shape)}`);
      }
    }
  });
});
