/**
 * API extensions (issue 5): what a custom resource and server-side apply cost against the plain
 * built-in paths, on one `skiff up` (SQLite, no node agent, workload controllers off so nothing
 * but the benchmark writes):
 *
 * - custom resource create: a CRD with a ~50-field schema (types, formats, enums, patterns,
 *   bounds, defaults) and 3 CEL rules, objects of about 1 KB — against 1 KB ConfigMap creates on
 *   the same server (goal ratio ≥ 0.7);
 * - server-side apply of a Deployment (`application/apply-patch+yaml`, one manager, force) —
 *   against a plain PUT of the same Deployment (goal ratio ≥ 0.5).
 *
 * Each pair runs back to back with the same concurrency, so both sides see the same machine.
 */
import { combineLoads, configMapBody, ensureNamespace, NAMESPACE, objectName, runLoad, type LoadResult, type PhaseContext } from './phases.js';
import { makeClientFactory, Pool } from './http-client.js';
import { ServerUnderTest, sleep } from './server.js';
import { machine, markdownTable, type Machine } from './report.js';

export interface ApiExtensionsConfig {
  objects: number;
  deployments: number;
  writes: number;
  concurrency: number;
}

export const API_EXT_DEFAULT: ApiExtensionsConfig = { objects: 6000, deployments: 200, writes: 4000, concurrency: 32 };
export const API_EXT_QUICK: ApiExtensionsConfig = { objects: 500, deployments: 50, writes: 500, concurrency: 16 };

export interface ApiExtensionsResult {
  machine: Machine;
  quick: boolean;
  config: ApiExtensionsConfig;
  schemaFields: number;
  celRules: number;
  configMapCreate: LoadResult;
  customResourceCreate: LoadResult;
  deploymentUpdate: LoadResult;
  deploymentApply: LoadResult;
  goals: { name: string; goal: string; value: number; met: boolean }[];
  failures: string[];
}

const GROUP = 'bench.skiff.dev';

/** A schema of 50 leaf fields spread over spec, with the validation keywords operators use. */
function widgetSchema(): { schema: object; fields: number } {
  const props: Record<string, object> = {};
  let fields = 0;
  const add = (name: string, s: object) => {
    props[name] = s;
    fields++;
  };
  for (let i = 0; i < 10; i++) add(`name${i}`, { type: 'string', maxLength: 63, pattern: '^[a-z0-9-]+$' });
  for (let i = 0; i < 10; i++) add(`count${i}`, { type: 'integer', minimum: 0, maximum: 1000, default: 1 });
  for (let i = 0; i < 5; i++) add(`mode${i}`, { type: 'string', enum: ['fast', 'safe', 'off'] });
  for (let i = 0; i < 5; i++) add(`flag${i}`, { type: 'boolean' });
  for (let i = 0; i < 5; i++) add(`when${i}`, { type: 'string', format: 'date-time' });
  for (let i = 0; i < 5; i++) add(`ratio${i}`, { type: 'number', minimum: 0, maximum: 1 });
  const limits: Record<string, object> = {};
  for (let i = 0; i < 5; i++) {
    limits[`limit${i}`] = { type: 'integer', minimum: 0 };
    fields++;
  }
  props.limits = { type: 'object', properties: limits };
  props.tags = { type: 'array', maxItems: 16, items: { type: 'string', maxLength: 32 }, 'x-kubernetes-list-type': 'set' };
  props.labels = { type: 'object', maxProperties: 16, additionalProperties: { type: 'string', maxLength: 63 } };
  props.replicas = { type: 'integer', minimum: 0, maximum: 100 };
  props.maxReplicas = { type: 'integer', minimum: 0, maximum: 100 };
  fields += 4;
  const spec = {
    type: 'object',
    properties: props,
    'x-kubernetes-validations': [
      { rule: 'self.replicas <= self.maxReplicas', message: 'replicas may not exceed maxReplicas' },
      { rule: "self.mode0 != 'off' || self.count0 == 0", message: 'a switched-off widget counts nothing' },
      { rule: 'self.tags.all(t, t.size() > 0)', message: 'tags may not be empty' },
    ],
  };
  return { schema: { type: 'object', properties: { spec, status: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true } } }, fields };
}

function widgetBody(i: number): string {
  const spec: Record<string, unknown> = { replicas: 2, maxReplicas: 5, tags: ['a', 'b', `t${i % 7}`], labels: { team: 'ci', tier: 'bench' }, limits: { limit0: 1, limit1: 2, limit2: 3 } };
  for (let k = 0; k < 10; k++) spec[`name${k}`] = `widget-${k}-${i % 100}`;
  for (let k = 0; k < 10; k++) spec[`count${k}`] = k * 3;
  for (let k = 0; k < 5; k++) spec[`mode${k}`] = ['fast', 'safe'][k % 2];
  for (let k = 0; k < 5; k++) spec[`flag${k}`] = k % 2 === 0;
  for (let k = 0; k < 5; k++) spec[`when${k}`] = '2026-11-23T10:00:00Z';
  for (let k = 0; k < 5; k++) spec[`ratio${k}`] = 0.25 * (k % 4);
  return JSON.stringify({ apiVersion: `${GROUP}/v1`, kind: 'Widget', metadata: { name: `w-${String(i).padStart(5, '0')}`, labels: { app: 'skiff-bench' } }, spec });
}

function deployment(i: number, rev: number): string {
  return JSON.stringify({
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: `dep-${i}`, labels: { app: `dep-${i}`, rev: String(rev) } },
    spec: {
      replicas: 2,
      selector: { matchLabels: { app: `dep-${i}` } },
      template: {
        metadata: { labels: { app: `dep-${i}` } },
        spec: {
          containers: [
            { name: 'web', image: 'nginx:1.25', ports: [{ containerPort: 80, name: 'http' }], env: [{ name: 'MODE', value: 'production' }], resources: { requests: { cpu: '100m', memory: '64Mi' } } },
            { name: 'sidecar', image: 'busybox:1.36', command: ['sleep', 'infinity'] },
          ],
        },
      },
    },
  });
}

export async function runApiExtensions(opts: { quick: boolean; say: (m: string) => void; live: Set<ServerUnderTest> }): Promise<ApiExtensionsResult> {
  const cfg = opts.quick ? API_EXT_QUICK : API_EXT_DEFAULT;
  const { say } = opts;
  const srv = new ServerUnderTest({ backend: 'sqlite', profile: false, extraArgs: ['--no-agent', '--controllers', '*,-deployment,-replicaset,-garbage-collector'] });
  opts.live.add(srv);
  const failures: string[] = [];
  try {
    await srv.prepare();
    await srv.start();
    const factory = makeClientFactory('https', srv.endpoint, cfg.concurrency);
    const pool = new Pool(factory.newClient, 4);
    const ctx: PhaseContext = { server: srv, newClient: factory.newClient, pool, endpoint: srv.endpoint, concurrency: cfg.concurrency };
    await ensureNamespace(ctx, NAMESPACE);

    const { schema, fields } = widgetSchema();
    const crd = {
      apiVersion: 'apiextensions.k8s.io/v1',
      kind: 'CustomResourceDefinition',
      metadata: { name: `widgets.${GROUP}` },
      spec: { group: GROUP, scope: 'Namespaced', names: { plural: 'widgets', singular: 'widget', kind: 'Widget' }, versions: [{ name: 'v1', served: true, storage: true, schema: { openAPIV3Schema: schema } }] },
    };
    const made = await pool.request('POST', '/apis/apiextensions.k8s.io/v1/customresourcedefinitions', JSON.stringify(crd));
    if (made.status !== 201) throw new Error(`creating the CRD: ${made.status} ${made.body?.toString() ?? ''}`);
    for (let i = 0; ; i++) {
      const r = await pool.request('GET', `/apis/${GROUP}/v1/namespaces/${NAMESPACE}/widgets?limit=1`);
      if (r.status === 200) break;
      if (i > 200) throw new Error('the CRD was never served');
      await sleep(50);
    }
    const probe = await pool.request('POST', `/apis/${GROUP}/v1/namespaces/${NAMESPACE}/widgets?dryRun=All`, widgetBody(0));
    say(`api-extensions: widget body ${widgetBody(0).length} bytes, dry run ${probe.status}`);
    if (probe.status !== 201) throw new Error(`a widget is refused: ${probe.status} ${probe.body?.toString() ?? ''}`);

    // ABBA order (ConfigMaps, custom resources, custom resources, ConfigMaps): both kinds meet the
    // store and the watch cache at the same sizes on average.
    say(`api-extensions: create ${cfg.objects} ConfigMaps and ${cfg.objects} custom resources, in halves ABBA`);
    const half = Math.floor(cfg.objects / 2);
    const crPath = `/apis/${GROUP}/v1/namespaces/${NAMESPACE}/widgets`;
    const cmPath = `/api/v1/namespaces/${NAMESPACE}/configmaps`;
    const cms = (from: number) =>
      runLoad(ctx, { name: 'configmap-create', count: half, deadlineMs: 180_000, expect: 201, op: (i) => ({ method: 'POST', path: cmPath, body: configMapBody(objectName(from + i)) }) });
    const crs = (from: number) =>
      runLoad(ctx, { name: 'cr-create', count: half, deadlineMs: 180_000, expect: 201, op: (i) => ({ method: 'POST', path: crPath, body: widgetBody(from + i) }) });
    const cm1 = await cms(0);
    const cr1 = await crs(0);
    const cr2 = await crs(half);
    const cm2 = await cms(half);
    const configMapCreate = combineLoads(cm1, cm2);
    const customResourceCreate = combineLoads(cr1, cr2);
    say(`api-extensions: ConfigMap ${configMapCreate.opsPerSec}/s, custom resource ${customResourceCreate.opsPerSec}/s`);

    const depPath = `/apis/apps/v1/namespaces/${NAMESPACE}/deployments`;
    for (let i = 0; i < cfg.deployments; i++) {
      const r = await pool.request('POST', depPath, deployment(i, 0));
      if (r.status !== 201) throw new Error(`creating deployment ${i}: ${r.status} ${r.body?.toString() ?? ''}`);
    }
    // Both phases change one label per write, spread over the Deployments (i·7919 mod N).
    const target = (i: number) => (i * 7919) % cfg.deployments;
    say(`api-extensions: ${cfg.writes} Deployment updates (PUT), then ${cfg.writes} server-side applies`);
    const deploymentUpdate = await runLoad(ctx, {
      name: 'deployment-update',
      count: cfg.writes,
      deadlineMs: 180_000,
      expect: 200,
      op: (i) => ({ method: 'PUT', path: `${depPath}/dep-${target(i)}`, body: deployment(target(i), i + 1) }),
    });
    const deploymentApply = await runLoad(ctx, {
      name: 'deployment-apply',
      count: cfg.writes,
      deadlineMs: 180_000,
      expect: 200,
      op: (i) => ({
        method: 'PATCH',
        path: `${depPath}/dep-${target(i)}?fieldManager=bench&force=true`,
        body: deployment(target(i), cfg.writes + i + 1),
        contentType: 'application/apply-patch+yaml',
      }),
    });
    say(`api-extensions: update ${deploymentUpdate.opsPerSec}/s, apply ${deploymentApply.opsPerSec}/s`);
    for (const p of [configMapCreate, customResourceCreate, deploymentUpdate, deploymentApply]) {
      if (p.errors > 0) failures.push(`${p.name}: ${p.errors} errors, e.g. ${p.errorSamples[0]}`);
    }
    pool.close();
    factory.close();
    const crRatio = customResourceCreate.opsPerSec / configMapCreate.opsPerSec;
    const applyRatio = deploymentApply.opsPerSec / deploymentUpdate.opsPerSec;
    return {
      machine: machine(),
      quick: opts.quick,
      config: cfg,
      schemaFields: fields,
      celRules: 3,
      configMapCreate,
      customResourceCreate,
      deploymentUpdate,
      deploymentApply,
      goals: [
        { name: 'custom resource create ÷ ConfigMap create', goal: '≥ 0.7', value: round2(crRatio), met: crRatio >= 0.7 },
        { name: 'server-side apply ÷ update (Deployment)', goal: '≥ 0.5', value: round2(applyRatio), met: applyRatio >= 0.5 },
      ],
      failures,
    };
  } finally {
    await srv.stop();
    opts.live.delete(srv);
  }
}


function round2(n: number): number {
  return Math.round(n * 100) / 100;
}

export function apiExtensionsMarkdown(r: ApiExtensionsResult): string {
  const row = (p: LoadResult) => [p.name, String(p.ops), String(p.opsPerSec), p.latencyMs.p50.toFixed(1), p.latencyMs.p99.toFixed(1), String(Math.round(p.cpu.server)), String(p.errors)];
  return [
    `### API extensions (${r.quick ? 'quick' : 'full'} run, ${r.machine.cpus} cores, ${r.machine.date.slice(0, 10)})`,
    '',
    `Custom resources: ${r.schemaFields}-field schema, ${r.celRules} CEL rules; concurrency ${r.config.concurrency}; SQLite.`,
    '',
    ...markdownTable(
      ['goal', 'target', 'measured', 'verdict'],
      r.goals.map((g) => [g.name, g.goal, String(g.value), g.met ? 'met' : 'SHORT']),
    ),
    '',
    ...markdownTable(['phase', 'ops', 'ops/s', 'p50 ms', 'p99 ms', 'server CPU %', 'errors'], [r.configMapCreate, r.customResourceCreate, r.deploymentUpdate, r.deploymentApply].map(row)),
  ].join('\n');
}
