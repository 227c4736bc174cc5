import { test } from 'node:test';
import assert from 'node:assert/strict';
import { defaultTable, formatAge, humanDuration, rowConditions, tableFor, tables } from './tables.js';
import type { KubeObject } from './types.js';
import { POD_COLUMNS } from '../../test/harness/upstream.js';

const NOW = new Date('2024-05-01T12:00:00Z');
/** An RFC 3339 timestamp `ms` before NOW. */
const ago = (ms: number) => new Date(NOW.getTime() - ms).toISOString().replace(/\.000Z$/, 'Z');
const S = 1000;
const M = 60 * S;
const H = 60 * M;
const D = 24 * H;

/** Cells of one object, checked to line up with the kind's columns. */
function row(gk: string, obj: KubeObject): unknown[] {
  const t = tableFor(gk);
  const cells = t.cells(obj, NOW);
  assert.equal(cells.length, t.columns.length, `${gk}: ${cells.length} cells for ${t.columns.length} columns`);
  return cells;
}

/** Only the columns `kubectl get` shows without -o wide. */
function narrow(gk: string, obj: KubeObject): unknown[] {
  const t = tableFor(gk);
  return row(gk, obj).filter((_, i) => t.columns[i].priority === 0);
}

test('humanDuration follows upstream duration.HumanDuration', () => {
  const cases: [number, string][] = [
    [-2 * S, '<invalid>'],
    [-2 * S + 1, '0s'],
    [0, '0s'],
    [S - 1, '0s'],
    [S, '1s'],
    [70 * S, '70s'],
    [2 * M - 1, '119s'],
    [2 * M, '2m'],
    [2 * M + S, '2m1s'],
    [190 * S, '3m10s'],
    [10 * M - 1, '9m59s'],
    [10 * M, '10m'],
    [10 * M + S, '10m'],
    [70 * M, '70m'],
    [3 * H - 1, '179m'],
    [3 * H, '3h'],
    [3 * H + M, '3h1m'],
    [8 * H - 1, '7h59m'],
    [8 * H, '8h'],
    [8 * H + 59 * M, '8h'],
    [47 * H, '47h'],
    [2 * D - 1, '47h'],
    [2 * D, '2d'],
    [49 * H, '2d1h'],
    [8 * D - 1, '7d23h'],
    [8 * D, '8d'],
    [(8 * 24 + 2) * H, '8d'],
    [367 * D, '367d'],
    [2 * 365 * D - 1, '729d'],
    [2 * 365 * D, '2y'],
    [2 * 365 * D + 24 * H - 1, '2y'],
    [2 * 365 * D + 25 * H, '2y1d'],
    [5 * 365 * D, '5y'],
    [8 * 365 * D + 2 * H, '8y'],
    [10 * 365 * D, '10y'],
  ];
  for (const [ms, want] of cases) assert.equal(humanDuration(ms), want, `${ms}ms`);
});

test('formatAge: ages of timestamps, <unknown> for absent or zero ones', () => {
  assert.equal(formatAge(ago(5 * S), NOW), '5s');
  assert.equal(formatAge(ago(2 * D + 3 * H), NOW), '2d3h');
  assert.equal(formatAge('2024-05-01T11:59:59.5Z', NOW), '0s');
  assert.equal(formatAge(undefined, NOW), '<unknown>');
  assert.equal(formatAge('', NOW), '<unknown>');
  assert.equal(formatAge('not a time', NOW), '<unknown>');
  assert.equal(formatAge('0001-01-01T00:00:00Z', NOW), '<unknown>');
});

// ───────────── pods ─────────────

const running = (restartCount = 0, finishedAgo?: number) => ({
  ready: true,
  restartCount,
  state: { running: { startedAt: ago(H) } },
  ...(finishedAgo === undefined ? {} : { lastState: { terminated: { exitCode: 1, reason: 'Error', finishedAt: ago(finishedAgo) } } }),
});

function pod(status: KubeObject['status'], extra: { spec?: object; metadata?: object } = {}): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'p', namespace: 'default', creationTimestamp: ago(5 * H + 10 * M), ...extra.metadata },
    spec: { containers: [{ name: 'app', image: 'nginx' }], nodeName: 'node-1', ...extra.spec },
    status,
  };
}

test('pod columns are upstream’s, wide ones at priority 1', () => {
  const cols = tables.Pod.columns;
  assert.deepEqual(
    cols.map((c) => [c.name, c.type, c.priority]),
    POD_COLUMNS,
  );
  assert.equal(cols[0].format, 'name');
  assert.match(cols[0].description, /^Name must be unique within a namespace/);
  assert.match(cols[4].description, /^CreationTimestamp is a timestamp/);
});

test('a running pod with restarts shows when the last restart was', () => {
  const p = pod(
    {
      phase: 'Running',
      podIP: '10.244.1.5',
      podIPs: [{ ip: '10.244.1.5' }],
      conditions: [{ type: 'Ready', status: 'True' }],
      containerStatuses: [
        { name: 'app', ...running(3, 5 * M) },
        { name: 'log', ...running(1, H) },
      ],
    },
    { spec: { containers: [{ name: 'app' }, { name: 'log' }] } },
  );
  assert.deepEqual(row('Pod', p), ['p', '2/2', 'Running', '4 (5m ago)', '5h10m', '10.244.1.5', 'node-1', '<none>', '<none>']);
  assert.equal(rowConditions('Pod', p), undefined);
});

test('a pod being deleted is Terminating, unless its node is lost or it already finished', () => {
  const status = { phase: 'Running', containerStatuses: [{ name: 'app', ...running() }] };
  assert.deepEqual(narrow('Pod', pod(status, { metadata: { deletionTimestamp: ago(10 * S) } })), ['p', '1/1', 'Terminating', '0', '5h10m']);
  assert.equal(row('Pod', pod({ ...status, reason: 'NodeLost' }, { metadata: { deletionTimestamp: ago(S) } }))[2], 'Unknown');
  const done = pod({ phase: 'Succeeded', containerStatuses: [{ name: 'app', state: { terminated: { exitCode: 0, reason: 'Completed' } } }] }, { metadata: { deletionTimestamp: ago(S) } });
  assert.equal(row('Pod', done)[2], 'Completed');
});

test('a crash-looping pod shows the waiting reason and its restarts', () => {
  const p = pod({
    phase: 'Running',
    containerStatuses: [
      {
        name: 'app',
        ready: false,
        restartCount: 5,
        state: { waiting: { reason: 'CrashLoopBackOff', message: 'back-off 2m40s restarting failed container' } },
        lastState: { terminated: { exitCode: 1, reason: 'Error', finishedAt: ago(30 * S) } },
      },
    ],
  });
  assert.deepEqual(narrow('Pod', p), ['p', '0/1', 'CrashLoopBackOff', '5 (30s ago)', '5h10m']);
});

test('a completed job pod is Completed and carries the Completed row condition', () => {
  const p = pod({
    phase: 'Succeeded',
    podIPs: [{ ip: '10.244.2.9' }],
    containerStatuses: [{ name: 'app', ready: false, restartCount: 0, state: { terminated: { exitCode: 0, reason: 'Completed', finishedAt: ago(M) } } }],
  });
  assert.deepEqual(narrow('Pod', p), ['p', '0/1', 'Completed', '0', '5h10m']);
  assert.deepEqual(rowConditions('Pod', p), [{ type: 'Completed', status: 'True', reason: 'Succeeded', message: 'The pod has completed successfully.' }]);
  assert.equal(rowConditions('Pod', pod({ phase: 'Failed' }))?.[0].reason, 'Failed');
  assert.equal(rowConditions('Deployment.apps', p), undefined);
});

test('terminated containers without a reason show their exit code or signal', () => {
  assert.equal(row('Pod', pod({ phase: 'Failed', containerStatuses: [{ name: 'app', state: { terminated: { exitCode: 137 } } }] }))[2], 'ExitCode:137');
  assert.equal(row('Pod', pod({ phase: 'Failed', containerStatuses: [{ name: 'app', state: { terminated: { exitCode: 0, signal: 9 } } }] }))[2], 'Signal:9');
});

test('init containers: progress, waiting reasons and failures', () => {
  const spec = { initContainers: [{ name: 'a' }, { name: 'b' }] };
  const done = { name: 'a', state: { terminated: { exitCode: 0, reason: 'Completed' } } };
  const appWaiting = [{ name: 'app', ready: false, state: { waiting: { reason: 'PodInitializing' } } }];
  const at = (b: object) => row('Pod', pod({ phase: 'Pending', initContainerStatuses: [done, { name: 'b', ...b }], containerStatuses: appWaiting }, { spec }));
  assert.deepEqual(at({ state: { running: {} } }).slice(1, 4), ['0/1', 'Init:1/2', '0']);
  assert.equal(at({ state: { waiting: { reason: 'ImagePullBackOff' } } })[2], 'Init:ImagePullBackOff');
  assert.equal(at({ state: { waiting: { reason: 'PodInitializing' } } })[2], 'Init:1/2');
  assert.equal(at({ state: { terminated: { exitCode: 1 } } })[2], 'Init:ExitCode:1');
  assert.equal(at({ state: { terminated: { exitCode: 2, signal: 15 } } })[2], 'Init:Signal:15');
  assert.equal(at({ restartCount: 4, state: { terminated: { exitCode: 1, reason: 'Error' } }, lastState: { terminated: { finishedAt: ago(20 * S) } } })[3], '4 (20s ago)');
  assert.equal(row('Pod', pod({ phase: 'Pending' }, { spec }))[2], 'Pending');
});

test('sidecars count as containers and their restarts are kept', () => {
  const p = pod(
    {
      phase: 'Running',
      conditions: [
        { type: 'Initialized', status: 'True' },
        { type: 'Ready', status: 'True' },
      ],
      initContainerStatuses: [{ name: 'proxy', started: true, ready: true, restartCount: 2, state: { running: {} } }],
      containerStatuses: [{ name: 'app', ...running() }],
    },
    { spec: { initContainers: [{ name: 'proxy', restartPolicy: 'Always' }] } },
  );
  assert.deepEqual(narrow('Pod', p), ['p', '2/2', 'Running', '2', '5h10m']);
});

test('pending, gated, half-completed pods and readiness gates', () => {
  assert.deepEqual(row('Pod', pod({}, { spec: { nodeName: undefined } })), ['p', '0/1', '', '0', '5h10m', '<none>', '<none>', '<none>', '<none>']);
  assert.equal(row('Pod', pod({ phase: 'Pending', conditions: [{ type: 'PodScheduled', status: 'False', reason: 'SchedulingGated' }] }))[2], 'SchedulingGated');
  assert.equal(row('Pod', pod({ phase: 'Pending', reason: 'Evicted' }))[2], 'Evicted');
  const half = {
    phase: 'Running',
    containerStatuses: [
      { name: 'job', ready: false, state: { terminated: { exitCode: 0, reason: 'Completed' } } },
      { name: 'app', ...running() },
    ],
  };
  assert.equal(row('Pod', pod(half))[2], 'NotReady');
  assert.equal(row('Pod', pod({ ...half, conditions: [{ type: 'Ready', status: 'True' }] }))[2], 'Running');
  const gated = pod(
    { phase: 'Running', nominatedNodeName: 'node-9', conditions: [{ type: 'x', status: 'True' }, { type: 'y', status: 'False' }] },
    { spec: { readinessGates: [{ conditionType: 'x' }, { conditionType: 'y' }, { conditionType: 'z' }] } },
  );
  assert.deepEqual(row('Pod', gated).slice(7), ['node-9', '1/3']);
});

// ───────────── workloads ─────────────

const template = { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'nginx', image: 'nginx:1.25' }, { name: 'sidecar', image: 'busybox' }] } };

test('deployments, replica sets, stateful sets and daemon sets', () => {
  const meta = { name: 'web', namespace: 'default', creationTimestamp: ago(3 * D) };
  const selector = { matchLabels: { app: 'web' } };
  assert.deepEqual(
    row('Deployment.apps', { metadata: meta, spec: { replicas: 3, selector, template }, status: { replicas: 3, readyReplicas: 2, updatedReplicas: 3, availableReplicas: 2 } }),
    ['web', '2/3', 3, 2, '3d', 'nginx,sidecar', 'nginx:1.25,busybox', 'app=web'],
  );
  assert.deepEqual(narrow('Deployment.apps', { metadata: meta, spec: { replicas: 0, selector, template } }), ['web', '0/0', 0, 0, '3d']);
  assert.deepEqual(row('ReplicaSet.apps', { metadata: meta, spec: { replicas: 2, selector, template }, status: { replicas: 2, readyReplicas: 1 } }), [
    'web',
    2,
    2,
    1,
    '3d',
    'nginx,sidecar',
    'nginx:1.25,busybox',
    'app=web',
  ]);
  assert.deepEqual(row('ReplicationController', { metadata: meta, spec: { replicas: 1, selector: { app: 'web' }, template } }).slice(0, 4), ['web', 1, 0, 0]);
  assert.deepEqual(row('StatefulSet.apps', { metadata: meta, spec: { replicas: 3, template }, status: { readyReplicas: 3 } }), ['web', '3/3', '3d', 'nginx,sidecar', 'nginx:1.25,busybox']);
  assert.deepEqual(
    row('DaemonSet.apps', {
      metadata: meta,
      spec: { selector, template: { spec: { nodeSelector: { 'kubernetes.io/os': 'linux' }, containers: [{ name: 'agent', image: 'agent:1' }] } } },
      status: { desiredNumberScheduled: 3, currentNumberScheduled: 3, numberReady: 2, updatedNumberScheduled: 3, numberAvailable: 2 },
    }),
    ['web', 3, 3, 2, 3, 2, 'kubernetes.io/os=linux', '3d', 'agent', 'agent:1', 'app=web'],
  );
});

test('jobs and cron jobs', () => {
  const job = (status: object, spec: object = {}, meta: object = {}) =>
    row('Job.batch', { metadata: { name: 'pi', creationTimestamp: ago(10 * M), ...meta }, spec: { completions: 1, parallelism: 1, template, ...spec }, status });
  assert.deepEqual(
    job({ succeeded: 1, startTime: ago(10 * M), completionTime: ago(10 * M - 45 * S), conditions: [{ type: 'Complete', status: 'True' }] }).slice(0, 5),
    ['pi', 'Complete', '1/1', '45s', '10m'],
  );
  assert.deepEqual(job({ active: 1, startTime: ago(3 * M) }).slice(1, 4), ['Running', '0/1', '3m']);
  assert.deepEqual(job({}, { completions: undefined, parallelism: 4 }).slice(1, 4), ['Running', '0/1 of 4', '']);
  assert.equal(job({ conditions: [{ type: 'Failed', status: 'True' }] })[1], 'Failed');
  assert.equal(job({ conditions: [{ type: 'Suspended', status: 'True' }] })[1], 'Suspended');
  assert.equal(job({}, {}, { deletionTimestamp: ago(S) })[1], 'Terminating');

  assert.deepEqual(
    row('CronJob.batch', {
      metadata: { name: 'hourly', creationTimestamp: ago(D) },
      spec: { schedule: '0 * * * *', suspend: false, jobTemplate: { spec: { template } } },
      status: { active: [{ name: 'hourly-1' }], lastScheduleTime: ago(5 * M) },
    }),
    ['hourly', '0 * * * *', '<none>', 'False', 1, '5m', '24h', 'nginx,sidecar', 'nginx:1.25,busybox', '<none>'],
  );
  assert.deepEqual(row('CronJob.batch', { metadata: { name: 'c' }, spec: { timeZone: 'Etc/UTC' } }).slice(2, 6), ['Etc/UTC', '<unset>', 0, '<none>']);
});

// ───────────── services and networking ─────────────

test('services: cluster IPs, external IPs and ports', () => {
  const svc = (spec: object, status: object = {}) => row('Service', { metadata: { name: 's', creationTimestamp: ago(D) }, spec, status });
  assert.deepEqual(svc({ type: 'ClusterIP', clusterIP: '10.96.0.10', clusterIPs: ['10.96.0.10'], ports: [{ port: 80, protocol: 'TCP' }], selector: { app: 'web' } }), [
    's',
    'ClusterIP',
    '10.96.0.10',
    '<none>',
    '80/TCP',
    '24h',
    'app=web',
  ]);
  assert.deepEqual(
    svc({ type: 'NodePort', clusterIPs: ['10.96.0.11'], ports: [{ port: 80, nodePort: 30080, protocol: 'TCP' }, { port: 53, protocol: 'UDP' }] }).slice(1, 5),
    ['NodePort', '10.96.0.11', '<none>', '80:30080/TCP,53/UDP'],
  );
  assert.deepEqual(svc({ type: 'LoadBalancer', clusterIPs: ['10.96.0.12'], ports: [{ port: 443, nodePort: 31443 }] }).slice(3, 5), ['<pending>', '443:31443/TCP']);
  assert.equal(
    svc({ type: 'LoadBalancer', externalIPs: ['5.6.7.8'] }, { loadBalancer: { ingress: [{ hostname: 'lb.example.com' }, { ip: '1.2.3.4' }, { ip: '1.2.3.4' }] } })[3],
    '1.2.3.4,lb.example.com,5.6.7.8',
  );
  assert.deepEqual(svc({ type: 'ClusterIP', clusterIP: 'None', clusterIPs: ['None'], externalIPs: ['9.9.9.9'] }).slice(2, 5), ['None', '9.9.9.9', '<none>']);
  assert.deepEqual(svc({ type: 'ExternalName', externalName: 'db.example.com' }), ['s', 'ExternalName', '<none>', 'db.example.com', '<none>', '24h', '<none>']);
  // A v1 object carrying only the singular clusterIP converts to clusterIPs upstream.
  assert.equal(svc({ type: 'ClusterIP', clusterIP: '10.96.0.13' })[2], '10.96.0.13');
});

test('endpoints, endpoint slices and ingresses', () => {
  const eps = row('Endpoints', {
    metadata: { name: 'web', creationTimestamp: ago(M) },
    subsets: [
      { addresses: [{ ip: '10.0.0.1' }, { ip: '10.0.0.2' }], ports: [{ port: 8080 }, { port: 9090 }] },
      { addresses: [{ ip: 'fd00::1' }], ports: [{ port: 80 }] },
    ],
  });
  assert.deepEqual(eps, ['web', '10.0.0.1:8080,10.0.0.2:8080,10.0.0.1:9090 + 2 more...', '60s']);
  assert.equal(row('Endpoints', { subsets: [{ addresses: [{ ip: 'fd00::1' }], ports: [{ port: 80 }] }] })[1], '[fd00::1]:80');
  assert.equal(row('Endpoints', { subsets: [{ addresses: [{ ip: '10.0.0.9' }] }] })[1], '10.0.0.9');
  assert.equal(row('Endpoints', { metadata: { name: 'x' } })[1], '<none>');

  assert.deepEqual(
    row('EndpointSlice.discovery.k8s.io', {
      metadata: { name: 'web-abc', creationTimestamp: ago(M) },
      addressType: 'IPv4',
      ports: [{ port: 80 }, { name: 'metrics' }, {}, { port: 9 }],
      endpoints: [{ addresses: ['10.0.0.1'] }, { addresses: ['10.0.0.2'] }],
    }),
    ['web-abc', 'IPv4', '80,metrics,* + 1 more...', '10.0.0.1,10.0.0.2', '60s'],
  );
  assert.deepEqual(row('EndpointSlice.discovery.k8s.io', { addressType: 'IPv6' }).slice(2, 4), ['<unset>', '<unset>']);

  assert.deepEqual(
    row('Ingress.networking.k8s.io', {
      metadata: { name: 'ing', creationTimestamp: ago(H) },
      spec: { ingressClassName: 'nginx', rules: [{ host: 'a.example.com' }, {}, { host: 'b.example.com' }], tls: [{ hosts: ['a.example.com'] }] },
      status: { loadBalancer: { ingress: [{ ip: '192.0.2.1' }] } },
    }),
    ['ing', 'nginx', 'a.example.com,b.example.com', '192.0.2.1', '80, 443', '60m'],
  );
  assert.deepEqual(row('Ingress.networking.k8s.io', { metadata: { name: 'i' }, spec: { rules: [{}] } }).slice(1, 5), ['<none>', '*', '', '80']);
});

// ───────────── nodes, namespaces, config ─────────────

test('nodes: status, roles, version and wide columns', () => {
  const node = (spec: object, status: object, labels: Record<string, string> = {}) => row('Node', { metadata: { name: 'n1', labels, creationTimestamp: ago(20 * D) }, spec, status });
  const info = { kubeletVersion: 'v1.32.0', osImage: 'Ubuntu 24.04 LTS', kernelVersion: '6.8.0-31-generic', containerRuntimeVersion: 'containerd://1.7.12' };
  assert.deepEqual(
    node(
      { unschedulable: true },
      { conditions: [{ type: 'MemoryPressure', status: 'False' }, { type: 'Ready', status: 'True' }], nodeInfo: info, addresses: [{ type: 'Hostname', address: 'n1' }, { type: 'InternalIP', address: '192.168.1.10' }] },
      { 'node-role.kubernetes.io/control-plane': '', 'kubernetes.io/role': 'worker', 'node-role.kubernetes.io/': 'x' },
    ),
    ['n1', 'Ready,SchedulingDisabled', 'control-plane,worker', '20d', 'v1.32.0', '192.168.1.10', '<none>', 'Ubuntu 24.04 LTS', '6.8.0-31-generic', 'containerd://1.7.12'],
  );
  assert.deepEqual(node({}, { conditions: [{ type: 'Ready', status: 'Unknown' }] }).slice(1, 5), ['NotReady', '<none>', '20d', '']);
  assert.deepEqual(node({}, {}).slice(1, 2).concat(node({}, {}).slice(7)), ['Unknown', '<unknown>', '<unknown>', '<unknown>']);
});

test('namespaces, config maps, secrets, service accounts', () => {
  assert.deepEqual(row('Namespace', { metadata: { name: 'default', creationTimestamp: ago(400 * D) }, status: { phase: 'Active' } }), ['default', 'Active', '400d']);
  assert.deepEqual(row('ConfigMap', { metadata: { name: 'c', creationTimestamp: ago(S) }, data: { a: '1', b: '2' }, binaryData: { c: 'AA==' } }), ['c', 3, '1s']);
  assert.deepEqual(row('Secret', { metadata: { name: 's' }, type: 'Opaque', data: { k: 'dg==' } }), ['s', 'Opaque', 1, '<unknown>']);
  assert.deepEqual(row('ServiceAccount', { metadata: { name: 'default', creationTimestamp: ago(D) } }), ['default', 0, '24h']);
});

// ───────────── events ─────────────

test('core events: last seen, object, source and count', () => {
  const ev = {
    metadata: { name: 'web-1.17a', namespace: 'default' },
    involvedObject: { kind: 'Pod', name: 'web-1', namespace: 'default', fieldPath: 'spec.containers{app}' },
    reason: 'BackOff',
    message: 'Back-off restarting failed container\n',
    source: { component: 'kubelet', host: 'node-1' },
    firstTimestamp: ago(10 * M),
    lastTimestamp: ago(2 * M),
    count: 7,
    type: 'Warning',
  };
  assert.deepEqual(row('Event', ev), ['2m', 'Warning', 'BackOff', 'pod/web-1', 'spec.containers{app}', 'kubelet, node-1', 'Back-off restarting failed container', '10m', 7, 'web-1.17a']);
  assert.deepEqual(narrow('Event', ev), ['2m', 'Warning', 'BackOff', 'pod/web-1', 'Back-off restarting failed container']);

  // An event written through the new API: eventTime, series and reporting fields instead.
  const newer = {
    metadata: { name: 'e2' },
    involvedObject: { kind: 'Node' },
    eventTime: '2024-05-01T11:00:00.000000Z',
    series: { count: 3, lastObservedTime: '2024-05-01T11:59:00.000000Z' },
    reportingComponent: 'default-scheduler',
    reportingInstance: 'sched-1',
    reason: 'Scheduled',
    type: 'Normal',
  };
  assert.deepEqual(row('Event', newer), ['60s', 'Normal', 'Scheduled', 'node', '', 'default-scheduler, sched-1', '', '60m', 3, 'e2']);
  assert.deepEqual(row('Event', { ...newer, series: undefined, reportingInstance: '' }).slice(0, 9), ['60m', 'Normal', 'Scheduled', 'node', '', 'default-scheduler', '', '60m', 1]);

  assert.deepEqual(
    row('Event.events.k8s.io', {
      metadata: { name: 'e3' },
      regarding: { kind: 'Deployment', name: 'web' },
      note: 'Scaled up replica set web-1 to 3',
      reason: 'ScalingReplicaSet',
      type: 'Normal',
      reportingController: 'deployment-controller',
      deprecatedFirstTimestamp: ago(30 * S),
      deprecatedLastTimestamp: ago(30 * S),
      deprecatedCount: 1,
    }),
    ['30s', 'Normal', 'ScalingReplicaSet', 'deployment/web', '', 'deployment-controller', 'Scaled up replica set web-1 to 3', '30s', 1, 'e3'],
  );
});

// ───────────── storage, rbac, policy and the rest ─────────────

test('persistent volumes and claims', () => {
  assert.deepEqual(
    row('PersistentVolume', {
      metadata: { name: 'pv1', creationTimestamp: ago(D) },
      spec: { capacity: { storage: '10Gi' }, accessModes: ['ReadWriteMany', 'ReadWriteOnce', 'ReadWriteOnce'], persistentVolumeReclaimPolicy: 'Retain', claimRef: { namespace: 'db', name: 'data' }, storageClassName: 'fast', volumeMode: 'Filesystem' },
      status: { phase: 'Bound' },
    }),
    ['pv1', '10Gi', 'RWO,RWX', 'Retain', 'Bound', 'db/data', 'fast', '<unset>', '', '24h', 'Filesystem'],
  );
  const claim = (spec: object, status: object, annotations: Record<string, string> = {}) => row('PersistentVolumeClaim', { metadata: { name: 'data', annotations, creationTimestamp: ago(H) }, spec, status });
  assert.deepEqual(claim({ storageClassName: 'fast', resources: { requests: { storage: '1Gi' } } }, { phase: 'Pending' }), ['data', 'Pending', '', '', '', 'fast', '<unset>', '60m', '<unset>']);
  assert.deepEqual(
    claim({ volumeName: 'pv1', storageClassName: 'fast' }, { phase: 'Bound', capacity: { storage: '10Gi' }, accessModes: ['ReadWriteOnce'] }, { 'volume.beta.kubernetes.io/storage-class': 'legacy' }).slice(1, 6),
    ['Bound', 'pv1', '10Gi', 'RWO', 'legacy'],
  );
});

test('rbac bindings, pdbs, quotas, hpas and cluster-level kinds', () => {
  assert.deepEqual(
    row('RoleBinding.rbac.authorization.k8s.io', {
      metadata: { name: 'rb', creationTimestamp: ago(H) },
      roleRef: { kind: 'ClusterRole', name: 'view' },
      subjects: [{ kind: 'User', name: 'jane' }, { kind: 'ServiceAccount', name: 'bot', namespace: 'ci' }, { kind: 'Group', name: 'devs' }, { kind: 'User', name: 'joe' }],
    }),
    ['rb', 'ClusterRole/view', '60m', 'jane, joe', 'devs', 'ci/bot'],
  );
  assert.deepEqual(row('PodDisruptionBudget.policy', { metadata: { name: 'pdb' }, spec: { minAvailable: '50%' }, status: { disruptionsAllowed: 1 } }), ['pdb', '50%', 'N/A', 1, '<unknown>']);
  assert.deepEqual(row('PodDisruptionBudget.policy', { metadata: { name: 'pdb' }, spec: { maxUnavailable: 1 } }).slice(1, 4), ['N/A', '1', 0]);
  assert.deepEqual(
    row('ResourceQuota', {
      metadata: { name: 'q' },
      status: { hard: { 'limits.memory': '2Gi', pods: '10', 'requests.cpu': '1', 'limits.cpu': '2' }, used: { pods: '3', 'requests.cpu': '500m' } },
    }),
    ['q', 'pods: 3/10, requests.cpu: 500m/1', 'limits.cpu: 0/2, limits.memory: 0/2Gi', '<unknown>'],
  );
  assert.deepEqual(
    row('HorizontalPodAutoscaler.autoscaling', {
      metadata: { name: 'web' },
      spec: {
        scaleTargetRef: { kind: 'Deployment', name: 'web' },
        minReplicas: 2,
        maxReplicas: 10,
        metrics: [
          { type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 80 } } },
          { type: 'Resource', resource: { name: 'memory', target: { type: 'AverageValue', averageValue: '500Mi' } } },
          { type: 'Pods', pods: { metric: { name: 'qps' }, target: { type: 'AverageValue', averageValue: '10' } } },
        ],
      },
      status: { currentReplicas: 3, currentMetrics: [{ type: 'Resource', resource: { name: 'cpu', current: { averageUtilization: 45 } } }] },
    }).slice(1, 6),
    ['Deployment/web', 'cpu: 45%/80%, memory: <unknown>/500Mi + 1 more...', '2', 10, 3],
  );
  assert.equal(
    row('HorizontalPodAutoscaler.autoscaling', { spec: { scaleTargetRef: { kind: 'Deployment', name: 'w' }, targetCPUUtilizationPercentage: 50 } })[2],
    'cpu: <unknown>/50%',
  );
  assert.equal(row('HorizontalPodAutoscaler.autoscaling', { spec: {} })[3], '<unset>');
  assert.deepEqual(
    row('StorageClass.storage.k8s.io', {
      metadata: { name: 'standard', annotations: { 'storageclass.kubernetes.io/is-default-class': 'true' } },
      provisioner: 'rancher.io/local-path',
      volumeBindingMode: 'WaitForFirstConsumer',
    }).slice(0, 5),
    ['standard (default)', 'rancher.io/local-path', 'Delete', 'WaitForFirstConsumer', false],
  );
  assert.deepEqual(row('PriorityClass.scheduling.k8s.io', { metadata: { name: 'system-node-critical' }, value: 2000001000, preemptionPolicy: 'PreemptLowerPriority' }), [
    'system-node-critical',
    2000001000,
    false,
    '<unknown>',
    'PreemptLowerPriority',
  ]);
  assert.deepEqual(row('Lease.coordination.k8s.io', { metadata: { name: 'n1' }, spec: { holderIdentity: 'n1' } }), ['n1', 'n1', '<unknown>']);
  assert.deepEqual(
    row('ControllerRevision.apps', { metadata: { name: 'ds-1', ownerReferences: [{ apiVersion: 'apps/v1', kind: 'DaemonSet', name: 'ds', uid: 'u1', controller: true }] }, revision: 4 }),
    ['ds-1', 'daemonset.apps/ds', 4, '<unknown>'],
  );
  assert.equal(row('ControllerRevision.apps', { metadata: { name: 'x' } })[1], '<none>');
  assert.deepEqual(row('NetworkPolicy.networking.k8s.io', { metadata: { name: 'deny' }, spec: {} }), ['deny', '<none>', '<unknown>']);
  assert.equal(row('NetworkPolicy.networking.k8s.io', { spec: { podSelector: { matchExpressions: [{ key: 'tier', operator: 'In', values: ['web'] }] } } })[1], 'tier in (web)');
  assert.deepEqual(row('PodTemplate', { metadata: { name: 'pt' }, template }), ['pt', 'nginx,sidecar', 'nginx:1.25,busybox', 'app=web']);
  assert.deepEqual(
    row('CertificateSigningRequest.certificates.k8s.io', {
      metadata: { name: 'csr-1', creationTimestamp: ago(M) },
      spec: { signerName: 'kubernetes.io/kube-apiserver-client-kubelet', username: 'system:node:n1', expirationSeconds: 86400 },
      status: { conditions: [{ type: 'Approved', status: 'True' }], certificate: 'LS0t' },
    }),
    ['csr-1', '60s', 'kubernetes.io/kube-apiserver-client-kubelet', 'system:node:n1', '24h', 'Approved,Issued'],
  );
});

test('kinds without a printer get Name and Created At (a date)', () => {
  for (const gk of ['Role.rbac.authorization.k8s.io', 'ClusterRole.rbac.authorization.k8s.io', 'LimitRange', 'CustomResourceDefinition.apiextensions.k8s.io', 'Widget.example.com']) {
    assert.equal(tableFor(gk), defaultTable, gk);
  }
  assert.deepEqual(
    defaultTable.columns.map((c) => [c.name, c.type, c.format, c.priority]),
    [
      ['Name', 'string', 'name', 0],
      ['Created At', 'date', '', 0],
    ],
  );
  assert.deepEqual(defaultTable.cells({ metadata: { name: 'admin', creationTimestamp: '2024-04-30T12:00:00.250Z' } }, NOW), ['admin', '2024-04-30T12:00:00Z']);
  assert.deepEqual(defaultTable.cells({}, NOW), ['', '0001-01-01T00:00:00Z']);
  assert.equal(tableFor('toString'), defaultTable);
});

test('every table survives odd objects and keeps cells aligned with columns', () => {
  // Deliberately ill-typed: what a client could store if validation let it through.
  const odd: any[] = [
    {},
    { metadata: null, spec: null, status: null },
    { metadata: 'x', spec: 'x', status: 5, subsets: 'x', data: 7, webhooks: {}, conditions: 'x' },
    {
      metadata: { name: 7, labels: 'x', annotations: [], ownerReferences: [null, 1], deletionTimestamp: 'garbage', creationTimestamp: 12 },
      spec: { containers: 'x', initContainers: [null, 1], template: [], ports: {}, selector: 7, rules: [null], tls: 'x', replicas: 'three', claimRef: 1, capacity: [], metrics: [null, { type: 'Pods' }, { type: 'External' }, { type: 'Object' }, { type: 'ContainerResource' }], podSelector: 'x', jobTemplate: 5, readinessGates: [null] },
      status: { conditions: [null, 1, 'a'], containerStatuses: [null, { state: null, lastState: 'x' }], initContainerStatuses: [null, { state: { terminated: null } }], podIPs: [null], loadBalancer: { ingress: [null] }, hard: [], addresses: [null], active: 'x', currentMetrics: 'x' },
      involvedObject: null,
      series: 'x',
      subsets: [null, { addresses: [null], ports: [null] }],
      endpoints: [null, { addresses: 'x' }],
      ports: [null],
      subjects: [null, 3],
      roleRef: 'x',
    },
  ];
  for (const [gk, t] of [...Object.entries(tables), ['<default>', defaultTable] as const]) {
    for (const o of odd) {
      const cells = t.cells(o, NOW);
      assert.equal(cells.length, t.columns.length, gk);
      for (const c of cells) assert.ok(['string', 'number', 'boolean'].includes(typeof c), `${gk}: cell ${String(c)}`);
    }
  }
});

test('column definitions are well formed', () => {
  for (const [gk, t] of Object.entries(tables)) {
    for (const c of t.columns) {
      assert.ok(['string', 'integer', 'number', 'boolean', 'date'].includes(c.type), `${gk}.${c.name}`);
      assert.ok(c.priority === 0 || c.priority === 1, `${gk}.${c.name}`);
      assert.equal(typeof c.description, 'string');
    }
    assert.equal(t.columns.filter((c) => c.format === 'name').length >= 1 || gk === 'Scale.autoscaling', true, gk);
  }
});
