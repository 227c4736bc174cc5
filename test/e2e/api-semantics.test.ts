/**
 * The API's semantics over raw HTTPS against a real `skiff up`: discovery (legacy and aggregated),
 * health and version, paginated and versioned lists, watches (ordering, bookmarks and initial
 * events, timeouts, 410 Expired, selector transitions), Table output, dry run, the status and
 * scale subresources, generation, optimistic concurrency, finalizers, delete preconditions and
 * generateName. Each claim names the upstream behaviour it mirrors (kube-apiserver 1.30).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { API_ONLY_ARGS, e2eBackends, startSkiff, type SkiffProcess } from '../harness/skiff.js';
import { POD_COLUMNS } from '../harness/upstream.js';
import { assertStatus, eventually, KubeHttp, type WatchEvent } from './http-client.js';

const AGGREGATED_V2 = 'application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList';
const TABLE_V1 = 'application/json;as=Table;v=v1;g=meta.k8s.io';
const MERGE = 'application/merge-patch+json';

function deployment(name: string, replicas = 1): any {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, labels: { app: name } },
    spec: {
      replicas,
      selector: { matchLabels: { app: name } },
      template: { metadata: { labels: { app: name } }, spec: { containers: [{ name: 'c', image: 'busybox:1' }] } },
    },
  };
}

const rvOf = (o: any): number => Number(o.metadata.resourceVersion);
/** Every namespace also holds the cluster CA ConfigMap (as upstream's root-ca publisher makes it); tests look past it. */
const ROOT_CA = 'kube-root-ca.crt';
const names = (list: any): string[] => list.items.map((i: any) => i.metadata.name).filter((n: string) => n !== ROOT_CA);

for (const backend of e2eBackends()) {
  describe(`API semantics over HTTPS (${backend})`, () => {
    let skiff: SkiffProcess;
    let k: KubeHttp;

    const cmPath = (ns: string, name = '') => `/api/v1/namespaces/${ns}/configmaps${name ? '/' + name : ''}`;
    const deployPath = (ns: string, name = '') => `/apis/apps/v1/namespaces/${ns}/deployments${name ? '/' + name : ''}`;
    // A new namespace is settled once the controllers have given it its cluster CA ConfigMap (as
    // upstream's e2e framework waits for its service account): later watches and lists then see
    // only what the test itself does.
    const newNamespace = async (name: string) => {
      await k.ok('POST', '/api/v1/namespaces', { body: { metadata: { name } } });
      await eventually(`${ROOT_CA} in ${name}`, async () => ((await k.request('GET', cmPath(name, ROOT_CA))).status === 200 ? true : undefined));
      return name;
    };
    const createCm = (ns: string, name: string, data: Record<string, string> = {}, labels?: Record<string, string>) =>
      k.ok('POST', cmPath(ns), { body: { metadata: { name, ...(labels ? { labels } : {}) }, data } });

    before(async () => {
      skiff = await startSkiff({ backend, extraArgs: API_ONLY_ARGS });
      k = await KubeHttp.fromKubeconfig(skiff.kubeconfig);
    });

    after(async () => {
      k?.close();
      await skiff?.stop();
    });

    describe('discovery, version and health', () => {
      it('GET /api lists v1; GET /apis lists groups with preferred versions', async () => {
        const api = await k.ok('GET', '/api');
        assert.equal(api.kind, 'APIVersions');
        assert.deepEqual(api.versions, ['v1']);
        const apis = await k.ok('GET', '/apis');
        assert.equal(apis.kind, 'APIGroupList');
        const apps = apis.groups.find((g: any) => g.name === 'apps');
        assert.deepEqual(apps?.preferredVersion, { groupVersion: 'apps/v1', version: 'v1' });
        assert.ok(!apis.groups.some((g: any) => g.name === ''), 'the core group is not under /apis');
        const appsDoc = await k.ok('GET', '/apis/apps');
        assert.equal(appsDoc.kind, 'APIGroup');
        assert.equal(appsDoc.name, 'apps');
      });

      it('GET /api/v1 and /apis/apps/v1 list resources with verbs, short names and subresources', async () => {
        const core = await k.ok('GET', '/api/v1');
        assert.equal(core.kind, 'APIResourceList');
        assert.equal(core.groupVersion, 'v1');
        const byName = new Map<string, any>(core.resources.map((r: any) => [r.name, r]));
        const cm = byName.get('configmaps');
        assert.equal(cm.kind, 'ConfigMap');
        assert.equal(cm.namespaced, true);
        assert.deepEqual(cm.shortNames, ['cm']);
        assert.deepEqual([...cm.verbs].sort(), ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch']);
        assert.deepEqual([...byName.get('pods/status').verbs].sort(), ['get', 'patch', 'update']);
        const apps = await k.ok('GET', '/apis/apps/v1');
        const scale = apps.resources.find((r: any) => r.name === 'deployments/scale');
        assert.equal(scale.kind, 'Scale');
        assert.equal(scale.group, 'autoscaling');
        assert.equal(scale.version, 'v1');
      });

      it('lists namespaces without deletecollection, as upstream does', async () => {
        // Upstream's namespace REST storage implements no DeleteCollection (pkg/registry/core/namespace/storage),
        // so its discovery verbs are create, delete, get, list, patch, update, watch.
        const core = await k.ok('GET', '/api/v1');
        const ns = core.resources.find((r: any) => r.name === 'namespaces');
        assert.deepEqual([...ns.verbs].sort(), ['create', 'delete', 'get', 'list', 'patch', 'update', 'watch']);
      });

      it('answers aggregated discovery (apidiscovery.k8s.io/v2) with its content type, for /api and /apis', async () => {
        // kubectl's Accept: aggregated v2, then v2beta1, then plain JSON.
        const accept = `${AGGREGATED_V2},application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList,application/json`;
        const apis = await k.get('/apis', { Accept: accept });
        assert.equal(apis.status, 200);
        assert.equal(apis.headers['content-type'], AGGREGATED_V2);
        assert.equal(apis.json.kind, 'APIGroupDiscoveryList');
        assert.equal(apis.json.apiVersion, 'apidiscovery.k8s.io/v2');
        const apps = apis.json.items.find((i: any) => i.metadata.name === 'apps');
        const v1 = apps.versions.find((v: any) => v.version === 'v1');
        assert.equal(v1.freshness, 'Current');
        const dep = v1.resources.find((r: any) => r.resource === 'deployments');
        assert.equal(dep.scope, 'Namespaced');
        assert.deepEqual(dep.responseKind, { group: 'apps', version: 'v1', kind: 'Deployment' });
        assert.deepEqual(dep.shortNames, ['deploy']);
        const depScale = dep.subresources.find((s: any) => s.subresource === 'scale');
        assert.deepEqual(depScale.responseKind, { group: 'autoscaling', version: 'v1', kind: 'Scale' });

        const api = await k.get('/api', { Accept: AGGREGATED_V2 });
        assert.equal(api.headers['content-type'], AGGREGATED_V2);
        assert.equal(api.json.items.length, 1, 'only the core group under /api');
        const coreV1 = api.json.items[0].versions.find((v: any) => v.version === 'v1');
        const ns = coreV1.resources.find((r: any) => r.resource === 'namespaces');
        assert.equal(ns.scope, 'Cluster');

        const plain = await k.get('/apis', { Accept: 'application/json' });
        assert.equal(plain.json.kind, 'APIGroupList', 'without the aggregated Accept, the legacy document');
      });

      it('/version and the health endpoints', async () => {
        const v = await k.ok('GET', '/version');
        assert.match(v.major, /^\d+$/);
        assert.match(v.minor, /^\d+\+?$/);
        assert.match(v.gitVersion, /^v\d+\.\d+\.\d+/);
        assert.equal(typeof v.platform, 'string');
        for (const p of ['/livez', '/readyz', '/healthz']) {
          const r = await k.get(p);
          assert.equal(r.status, 200, p);
          assert.equal(r.text, 'ok', p);
          assert.match(String(r.headers['content-type']), /^text\/plain/, p);
        }
      });
    });

    describe('lists', () => {
      it('pages with limit/continue at one snapshot while writes continue, with remainingItemCount', async () => {
        const ns = await newNamespace('paging');
        const want: string[] = [];
        for (let i = 0; i < 25; i++) {
          const name = `p-${String(i).padStart(2, '0')}`;
          want.push(name);
          await createCm(ns, name, { i: String(i) });
        }
        const full = await k.ok('GET', cmPath(ns));
        const all = names(full);
        for (const n of want) assert.ok(all.includes(n), `${n} listed`);

        const page1 = await k.ok('GET', `${cmPath(ns)}?limit=10`);
        assert.equal(page1.items.length, 10);
        assert.ok(page1.metadata.continue, 'a continue token');
        assert.equal(page1.metadata.remainingItemCount, full.items.length - 10);
        const snapshot = page1.metadata.resourceVersion;

        // Writes after the first page: a delete in page 2, an update in page 3, new names before and after.
        await k.ok('DELETE', cmPath(ns, 'p-12'));
        await k.ok('PATCH', cmPath(ns, 'p-22'), { body: { data: { i: 'changed' } }, headers: { 'Content-Type': MERGE } });
        await createCm(ns, 'p-00a');
        await createCm(ns, 'p-99');

        const page2 = await k.ok('GET', `${cmPath(ns)}?limit=10&continue=${encodeURIComponent(page1.metadata.continue)}`);
        assert.equal(page2.items.length, 10);
        assert.equal(page2.metadata.resourceVersion, snapshot, 'continued pages are served at the first page\'s revision');
        assert.equal(page2.metadata.remainingItemCount, full.items.length - 20);
        const page3 = await k.ok('GET', `${cmPath(ns)}?limit=10&continue=${encodeURIComponent(page2.metadata.continue)}`);
        assert.equal(page3.metadata.resourceVersion, snapshot);
        assert.equal(page3.metadata.continue, undefined, 'the last page has no continue');
        assert.equal(page3.metadata.remainingItemCount, undefined);
        const paged = [...names(page1), ...names(page2), ...names(page3)];
        assert.deepEqual(paged, all, 'the pages together are the list as it was at the snapshot');
        const p22 = page3.items.find((i: any) => i.metadata.name === 'p-22');
        assert.equal(p22.data.i, '22', 'an object updated after the snapshot is listed as it was');

        const now = await k.ok('GET', cmPath(ns));
        assert.ok(!names(now).includes('p-12') && names(now).includes('p-99') && names(now).includes('p-00a'), 'a fresh list sees the writes');
      });

      it('resourceVersion=0 lists from the cache; resourceVersionMatch=Exact lists the past', async () => {
        const ns = await newNamespace('versions');
        const a = await createCm(ns, 'a');
        const b = await createCm(ns, 'b');
        await k.ok('PATCH', cmPath(ns, 'a'), { body: { data: { v: '2' } }, headers: { 'Content-Type': MERGE } });

        const any = await eventually('an rv=0 list shows both objects', async () => {
          const l = await k.ok('GET', `${cmPath(ns)}?resourceVersion=0`);
          return names(l).includes('a') && names(l).includes('b') ? l : undefined;
        });
        assert.match(any.metadata.resourceVersion, /^\d+$/);

        const atA = await k.ok('GET', `${cmPath(ns)}?resourceVersion=${rvOf(a)}&resourceVersionMatch=Exact`);
        assert.equal(atA.metadata.resourceVersion, String(rvOf(a)));
        assert.deepEqual(names(atA), ['a']);
        assert.deepEqual(atA.items[0].data ?? {}, {}, 'the object as it was at that revision');
        const atB = await k.ok('GET', `${cmPath(ns)}?resourceVersion=${rvOf(b)}&resourceVersionMatch=Exact`);
        assert.deepEqual(names(atB), ['a', 'b']);
        const notOlder = await k.ok('GET', `${cmPath(ns)}?resourceVersion=${rvOf(b)}&resourceVersionMatch=NotOlderThan`);
        assert.ok(Number(notOlder.metadata.resourceVersion) >= rvOf(b));
        assert.equal(notOlder.items.find((i: any) => i.metadata.name === 'a').data.v, '2');

      });
    });

    describe('list option validation', () => {
      // handlers/get.go: ValidateListOptions failures are errors.NewInvalid on meta.k8s.io ListOptions (422),
      // not BadRequest (which is for parameters that do not decode at all).
      const cases: [string, string, string][] = [
        ['resourceVersionMatch without resourceVersion', '?resourceVersionMatch=Exact', 'resourceVersionMatch'],
        ['an unknown resourceVersionMatch', '?resourceVersion=1&resourceVersionMatch=Sometimes', 'resourceVersionMatch'],
        ['sendInitialEvents without allowWatchBookmarks', '?watch=true&sendInitialEvents=true&resourceVersionMatch=NotOlderThan', 'allowWatchBookmarks'],
        ['resourceVersionMatch on a watch without sendInitialEvents', '?watch=true&resourceVersionMatch=NotOlderThan&resourceVersion=1', 'resourceVersionMatch'],
      ];
      for (const [what, query, field] of cases) {
        it(`${what} → 422 Invalid on ListOptions`, async () => {
          const s = assertStatus(await k.get(`${cmPath('default')}${query}`), 422, 'Invalid', what);
          assert.equal(s.details?.kind, 'ListOptions');
          assert.equal(s.details?.group, 'meta.k8s.io');
          assert.ok(s.details?.causes?.some((c: any) => c.field === field), `a cause on ${field}: ${JSON.stringify(s.details)}`);
        });
      }
    });

    describe('watches', () => {
      it('delivers ADDED, MODIFIED, DELETED in order with increasing resourceVersions', async () => {
        const ns = await newNamespace('watch-order');
        const list = await k.ok('GET', cmPath(ns));
        const w = await k.watch(`${cmPath(ns)}?watch=true&resourceVersion=${list.metadata.resourceVersion}`);
        try {
          assert.equal(w.status, 200);
          assert.match(String(w.headers['content-type']), /^application\/json/);
          await createCm(ns, 'x', { v: '1' });
          await k.ok('PUT', cmPath(ns, 'x'), { body: { metadata: { name: 'x' }, data: { v: '2' } } });
          await k.ok('DELETE', cmPath(ns, 'x'));
          const events = await w.waitFor((e) => e.length >= 3, 'three events');
          assert.deepEqual(
            events.map((e) => `${e.type}:${e.object.metadata.name}`),
            ['ADDED:x', 'MODIFIED:x', 'DELETED:x'],
          );
          const rvs = events.map((e) => rvOf(e.object));
          assert.ok(rvs[0] < rvs[1] && rvs[1] < rvs[2], `increasing resourceVersions: ${rvs.join(',')}`);
          assert.equal(events[1].object.data.v, '2');
          assert.equal(events[0].object.kind, 'ConfigMap');
          assert.equal(events[0].object.apiVersion, 'v1');
        } finally {
          w.close();
        }
      });

      it('sendInitialEvents: initial ADDED events, then a BOOKMARK marking their end, then live events', async () => {
        const ns = await newNamespace('watch-initial');
        const created = [await createCm(ns, 'i1'), await createCm(ns, 'i2'), await createCm(ns, 'i3')];
        const w = await k.watch(`${cmPath(ns)}?watch=true&sendInitialEvents=true&resourceVersionMatch=NotOlderThan&allowWatchBookmarks=true`);
        try {
          assert.equal(w.status, 200);
          const initial = await w.waitFor((e) => e.some((x) => x.type === 'BOOKMARK'), 'the initial-events-end bookmark');
          const bmIndex = initial.findIndex((x) => x.type === 'BOOKMARK');
          const before = initial.slice(0, bmIndex).filter((e) => e.object?.metadata?.name !== ROOT_CA);
          assert.deepEqual(before.map((e) => e.type), ['ADDED', 'ADDED', 'ADDED']);
          assert.deepEqual(before.map((e) => e.object.metadata.name).sort(), ['i1', 'i2', 'i3']);
          const bm = initial[bmIndex].object;
          assert.equal(bm.kind, 'ConfigMap');
          assert.equal(bm.apiVersion, 'v1');
          assert.deepEqual(bm.metadata.annotations, { 'k8s.io/initial-events-end': 'true' });
          assert.ok(Number(bm.metadata.resourceVersion) >= Math.max(...created.map(rvOf)), 'the bookmark is at or after every initial object');

          await createCm(ns, 'i4');
          const live = await w.waitFor((e) => e.some((x) => x.object?.metadata?.name === 'i4'), 'the live ADDED event');
          const i4 = live.findIndex((x) => x.object?.metadata?.name === 'i4');
          assert.ok(i4 > bmIndex && live[i4].type === 'ADDED');
        } finally {
          w.close();
        }
      });

      it('ends the stream after timeoutSeconds', async () => {
        const w = await k.watch(`${cmPath('default')}?watch=true&timeoutSeconds=1`);
        assert.equal(w.status, 200);
        await Promise.race([
          w.ended,
          new Promise((_, rej) => setTimeout(() => rej(new Error('the watch was still open 20 s after timeoutSeconds=1')), 20_000).unref()),
        ]);
        assert.ok(w.isEnded());
      });

      it('a label-selector watch sees an object leave the selection as DELETED and come back as ADDED', async () => {
        const ns = await newNamespace('watch-selector');
        const w = await k.watch(`${cmPath(ns)}?watch=true&labelSelector=color%3Dblue`);
        try {
          await createCm(ns, 'chameleon', {}, { color: 'blue' });
          await createCm(ns, 'never', {}, { color: 'green' });
          await k.ok('PATCH', cmPath(ns, 'chameleon'), { body: { metadata: { labels: { color: 'red' } } }, headers: { 'Content-Type': MERGE } });
          await k.ok('PATCH', cmPath(ns, 'chameleon'), { body: { metadata: { labels: { color: 'blue' } } }, headers: { 'Content-Type': MERGE } });
          const events = await w.waitFor((e) => e.length >= 3, 'three selector transitions');
          assert.deepEqual(
            events.map((e) => `${e.type}:${e.object.metadata.name}:${e.object.metadata.labels?.color}`),
            ['ADDED:chameleon:blue', 'DELETED:chameleon:red', 'ADDED:chameleon:blue'],
          );
        } finally {
          w.close();
        }
      });

      it('a watch from a resourceVersion older than the watch window gets an ERROR event with a 410 Expired Status', async () => {
        // The watch cache keeps 10,000 events per resource (src/apiserver/watch-cache.ts EVENT_WINDOW); write past it.
        const ns = await newNamespace('watch-expired');
        const WRITERS = 16;
        const WRITES = 10_050;
        const first = await createCm(ns, 'w-0');
        for (let i = 1; i < WRITERS; i++) await createCm(ns, `w-${i}`);
        let n = 0;
        await Promise.all(
          Array.from({ length: WRITERS }, async (_, wi) => {
            while (n < WRITES) {
              n++;
              const r = await k.patch(cmPath(ns, `w-${wi}`), { data: { n: String(n) } }, MERGE);
              if (r.status !== 200) assert.fail(`update ${n} failed: ${r.status} ${r.text}`);
            }
          }),
        );
        const latest = await k.ok('GET', cmPath(ns));

        const w = await k.watch(`${cmPath(ns)}?watch=true&resourceVersion=${rvOf(first)}`);
        try {
          assert.equal(w.status, 200, 'upstream reports an expired resourceVersion inside the watch stream');
          const events = await w.waitFor((e) => e.length >= 1, 'an ERROR event');
          assert.equal(events[0].type, 'ERROR');
          const s = events[0].object;
          assert.equal(s.kind, 'Status');
          assert.equal(s.code, 410);
          assert.equal(s.reason, 'Expired');
          assert.match(s.message, /too old resource version/);
        } finally {
          w.close();
        }

        // A resourceVersion still inside the window resumes normally.
        // Just before the third-newest ConfigMap's last write: the list's own resourceVersion is the
        // store's, which other components' writes (leases, events) also move.
        const newest = (latest.items as { metadata: { resourceVersion: string } }[]).map((i) => Number(i.metadata.resourceVersion)).sort((a, b) => b - a);
        const recent = newest[2] - 1;
        const ok = await k.watch(`${cmPath(ns)}?watch=true&resourceVersion=${recent}`);
        try {
          const events = await ok.waitFor((e) => e.length >= 3, 'the last three updates replayed');
          assert.ok(events.every((e: WatchEvent) => e.type === 'MODIFIED'), JSON.stringify(events.map((e) => e.type)));
        } finally {
          ok.close();
        }
      });
    });

    describe('Table output', () => {
      it('lists configmaps as a meta.k8s.io/v1 Table with upstream\'s columns', async () => {
        const ns = await newNamespace('tables');
        await createCm(ns, 'two-keys', { a: '1', b: '2' });
        const r = await k.get(cmPath(ns), { Accept: TABLE_V1 });
        assert.equal(r.status, 200);
        assert.equal(r.headers['content-type'], TABLE_V1);
        assert.equal(r.json.kind, 'Table');
        assert.equal(r.json.apiVersion, 'meta.k8s.io/v1');
        assert.match(r.json.metadata.resourceVersion, /^\d+$/);
        // pkg/printers/internalversion/printers.go configMapColumnDefinitions
        assert.deepEqual(
          r.json.columnDefinitions.map((c: any) => [c.name, c.type, c.format, c.priority ?? 0]),
          [
            ['Name', 'string', 'name', 0],
            ['Data', 'string', '', 0],
            ['Age', 'string', '', 0],
          ],
        );
        const row = r.json.rows.find((x: any) => x.cells[0] === 'two-keys');
        assert.equal(row.cells[1], 2, 'Data is the number of keys');
        assert.equal(typeof row.cells[2], 'string');
        assert.equal(row.object.kind, 'PartialObjectMetadata', 'rows carry object metadata by default');
        assert.equal(row.object.metadata.name, 'two-keys');

        const none = await k.ok('GET', `${cmPath(ns)}?includeObject=None`, { headers: { Accept: TABLE_V1 } });
        assert.equal(none.rows[0].object, undefined);
        const whole = await k.ok('GET', `${cmPath(ns, 'two-keys')}?includeObject=Object`, { headers: { Accept: TABLE_V1 } });
        assert.equal(whole.kind, 'Table');
        assert.equal(whole.rows.length, 1);
        assert.deepEqual(whole.rows[0].object.data, { a: '1', b: '2' });
      });

      it('lists pods as a Table with upstream\'s columns (wide ones at priority 1)', async () => {
        const ns = await newNamespace('pod-tables');
        await k.ok('POST', `/api/v1/namespaces/${ns}/pods`, {
          body: { metadata: { name: 'p' }, spec: { containers: [{ name: 'c', image: 'busybox' }] } },
        });
        const t = await k.ok('GET', `/api/v1/namespaces/${ns}/pods`, { headers: { Accept: `${TABLE_V1},application/json` } });
        // pkg/printers/internalversion/printers.go podColumnDefinitions (1.30)
        assert.deepEqual(
          t.columnDefinitions.map((c: any) => [c.name, c.type, c.priority ?? 0]),
          POD_COLUMNS,
        );
        const cells = t.rows[0].cells;
        assert.equal(cells.length, 9);
        assert.equal(cells[0], 'p');
        assert.match(cells[1], /^\d+\/1$/);
        assert.match(cells[3], /^\d+/);
      });
    });

    describe('writes', () => {
      it('dryRun=All validates and answers, but writes nothing (no object, no watch event)', async () => {
        const ns = await newNamespace('dry-run');
        const real = await createCm(ns, 'real', { v: '1' });
        const w = await k.watch(`${cmPath(ns)}?watch=true&resourceVersion=${rvOf(real)}`);
        try {
          const created = await k.request('POST', `${cmPath(ns)}?dryRun=All`, { body: { metadata: { name: 'ghost' }, data: { v: 'x' } } });
          assert.equal(created.status, 201);
          assert.equal(created.json.metadata.name, 'ghost');
          assertStatus(await k.get(cmPath(ns, 'ghost')), 404, 'NotFound', 'a dry-run create');
          assertStatus(await k.post(`${cmPath(ns)}?dryRun=All`, { metadata: { name: 'Invalid_Name' } }), 422, 'Invalid', 'dry run still validates');

          const updated = await k.ok('PUT', `${cmPath(ns, 'real')}?dryRun=All`, { body: { metadata: { name: 'real' }, data: { v: 'dry' } } });
          assert.equal(updated.data.v, 'dry');
          const patched = await k.ok('PATCH', `${cmPath(ns, 'real')}?dryRun=All`, { body: { data: { v: 'dry2' } }, headers: { 'Content-Type': MERGE } });
          assert.equal(patched.data.v, 'dry2');
          await k.ok('DELETE', `${cmPath(ns, 'real')}?dryRun=All`);
          const still = await k.ok('GET', cmPath(ns, 'real'));
          assert.equal(still.data.v, '1');
          assert.equal(still.metadata.resourceVersion, real.metadata.resourceVersion);

          // A real write afterwards is the first event the watch sees.
          await createCm(ns, 'marker');
          const events = await w.waitFor((e) => e.some((x) => x.object?.metadata?.name === 'marker'), 'the marker event');
          assert.deepEqual(
            events.map((e) => `${e.type}:${e.object.metadata.name}`),
            ['ADDED:marker'],
          );
        } finally {
          w.close();
        }
      });

      it('status subresource: PUT /status changes only status; PUT on the object ignores status', async () => {
        const ns = await newNamespace('status');
        const d = await k.ok('POST', deployPath(ns), { body: deployment('d', 1) });
        assert.equal(d.metadata.generation, 1);

        const viaStatus = structuredClone(d);
        viaStatus.status = { replicas: 5, observedGeneration: 1 };
        viaStatus.spec.replicas = 7;
        const s1 = await k.ok('PUT', deployPath(ns, 'd') + '/status', { body: viaStatus });
        assert.equal(s1.status.replicas, 5, 'status written');
        assert.equal(s1.spec.replicas, 1, 'spec ignored by a status write');
        assert.equal(s1.metadata.generation, 1, 'a status write does not bump generation');

        const viaMain = structuredClone(s1);
        viaMain.status = { replicas: 99 };
        viaMain.spec.replicas = 2;
        const m1 = await k.ok('PUT', deployPath(ns, 'd'), { body: viaMain });
        assert.equal(m1.spec.replicas, 2, 'spec written');
        assert.equal(m1.status.replicas, 5, 'status ignored by a main-resource write');
        assert.equal(m1.metadata.generation, 2);

        const p = await k.ok('PATCH', deployPath(ns, 'd') + '/status', { body: { status: { readyReplicas: 3 }, spec: { replicas: 9 } }, headers: { 'Content-Type': MERGE } });
        assert.equal(p.status.readyReplicas, 3);
        assert.equal(p.spec.replicas, 2);
        const got = await k.ok('GET', deployPath(ns, 'd') + '/status');
        assert.equal(got.kind, 'Deployment');
        assert.equal(got.status.readyReplicas, 3);
      });

      it('scale subresource: GET, PUT and PATCH an autoscaling/v1 Scale', async () => {
        const ns = await newNamespace('scale');
        await k.ok('POST', deployPath(ns), { body: deployment('web', 2) });
        const scale = await k.ok('GET', deployPath(ns, 'web') + '/scale');
        assert.equal(scale.kind, 'Scale');
        assert.equal(scale.apiVersion, 'autoscaling/v1');
        assert.equal(scale.metadata.name, 'web');
        assert.equal(scale.spec.replicas, 2);
        assert.equal(scale.status.selector, 'app=web');

        const put = await k.ok('PUT', deployPath(ns, 'web') + '/scale', { body: { ...scale, spec: { replicas: 3 } } });
        assert.equal(put.spec.replicas, 3);
        assert.equal((await k.ok('GET', deployPath(ns, 'web'))).spec.replicas, 3);

        const patched = await k.ok('PATCH', deployPath(ns, 'web') + '/scale', { body: { spec: { replicas: 5 } }, headers: { 'Content-Type': MERGE } });
        assert.equal(patched.spec.replicas, 5);
        const dep = await k.ok('GET', deployPath(ns, 'web'));
        assert.equal(dep.spec.replicas, 5);
        assert.equal(dep.metadata.generation, 3, 'each replica change is a spec change');

        assertStatus(await k.put(deployPath(ns, 'web') + '/scale', { ...scale, spec: { replicas: 1 } }), 409, 'Conflict', 'a Scale with a stale resourceVersion');
      });

      it('generation moves on spec changes only', async () => {
        const ns = await newNamespace('generation');
        const d = await k.ok('POST', deployPath(ns), { body: deployment('g') });
        assert.equal(d.metadata.generation, 1);
        const labelled = await k.ok('PATCH', deployPath(ns, 'g'), { body: { metadata: { labels: { extra: 'x' } } }, headers: { 'Content-Type': MERGE } });
        assert.equal(labelled.metadata.generation, 1, 'a metadata change');
        const statused = await k.ok('PATCH', deployPath(ns, 'g') + '/status', { body: { status: { replicas: 1 } }, headers: { 'Content-Type': MERGE } });
        assert.equal(statused.metadata.generation, 1, 'a status change');
        const specced = await k.ok('PATCH', deployPath(ns, 'g'), { body: { spec: { replicas: 4 } }, headers: { 'Content-Type': MERGE } });
        assert.equal(specced.metadata.generation, 2, 'a spec change');
        const same = await k.ok('PATCH', deployPath(ns, 'g'), { body: { spec: { replicas: 4 } }, headers: { 'Content-Type': MERGE } });
        assert.equal(same.metadata.generation, 2, 'a no-op patch');
        assert.equal(same.metadata.resourceVersion, specced.metadata.resourceVersion, 'a no-op write stores nothing');
      });

      it('optimistic concurrency: a stale resourceVersion is a 409 Conflict; none means last write wins', async () => {
        const ns = await newNamespace('concurrency');
        const c = await createCm(ns, 'c', { v: '0' });
        const u1 = await k.ok('PUT', cmPath(ns, 'c'), { body: { ...c, data: { v: '1' } } });
        assert.ok(rvOf(u1) > rvOf(c));
        const stale = assertStatus(await k.put(cmPath(ns, 'c'), { ...c, data: { v: 'stale' } }), 409, 'Conflict');
        assert.equal(stale.message, 'Operation cannot be fulfilled on configmaps "c": the object has been modified; please apply your changes to the latest version and try again');
        assertStatus(
          await k.patch(cmPath(ns, 'c'), { metadata: { resourceVersion: c.metadata.resourceVersion }, data: { v: 'stale' } }, MERGE),
          409,
          'Conflict',
          'a patch carrying a stale resourceVersion',
        );
        const { resourceVersion: _drop, ...meta } = u1.metadata;
        const unconditional = await k.ok('PUT', cmPath(ns, 'c'), { body: { ...u1, metadata: meta, data: { v: '2' } } });
        assert.equal(unconditional.data.v, '2');
      });

      it('finalizers keep a deleted object, with a deletionTimestamp, until they are removed', async () => {
        const ns = await newNamespace('finalizers');
        await k.ok('POST', cmPath(ns), { body: { metadata: { name: 'held', finalizers: ['example.com/hold'] }, data: { v: '1' } } });
        const w = await k.watch(`${cmPath(ns)}?watch=true&fieldSelector=metadata.name%3Dheld`);
        try {
          const del = await k.request('DELETE', cmPath(ns, 'held'));
          assert.equal(del.status, 200);
          assert.equal(del.json.kind, 'ConfigMap', 'a delete that waits on finalizers answers with the object');
          assert.ok(del.json.metadata.deletionTimestamp, 'deletionTimestamp set');
          const held = await k.ok('GET', cmPath(ns, 'held'));
          assert.ok(held.metadata.deletionTimestamp);
          assert.deepEqual(held.metadata.finalizers, ['example.com/hold']);
          assert.equal(held.metadata.deletionGracePeriodSeconds, 0);

          const more = await k.patch(cmPath(ns, 'held'), { metadata: { finalizers: ['example.com/hold', 'example.com/more'] } }, MERGE);
          const s = assertStatus(more, 422, 'Invalid', 'no new finalizers once deletion started');
          assert.ok(s.details.causes.some((c: any) => c.field === 'metadata.finalizers' && c.reason === 'FieldValueForbidden'), JSON.stringify(s.details.causes));

          await k.ok('PATCH', cmPath(ns, 'held'), { body: { metadata: { finalizers: null } }, headers: { 'Content-Type': MERGE } });
          assertStatus(await k.get(cmPath(ns, 'held')), 404, 'NotFound', 'gone once the last finalizer is removed');
          const events = await w.waitFor((e) => e.some((x) => x.type === 'DELETED'), 'the DELETED event');
          assert.deepEqual(
            events.map((e) => e.type),
            ['ADDED', 'MODIFIED', 'DELETED'],
          );
        } finally {
          w.close();
        }
      });

      it('DeleteOptions preconditions on uid and resourceVersion', async () => {
        const ns = await newNamespace('preconditions');
        const c = await createCm(ns, 'pre');
        const badUid = assertStatus(await k.delete(cmPath(ns, 'pre'), { kind: 'DeleteOptions', apiVersion: 'v1', preconditions: { uid: 'not-the-uid' } }), 409, 'Conflict');
        assert.equal(
          badUid.message,
          `Operation cannot be fulfilled on configmaps "pre": Precondition failed: UID in precondition: not-the-uid, UID in object meta: ${c.metadata.uid}`,
        );
        const u = await k.ok('PATCH', cmPath(ns, 'pre'), { body: { data: { v: '2' } }, headers: { 'Content-Type': MERGE } });
        assertStatus(
          await k.delete(cmPath(ns, 'pre'), { kind: 'DeleteOptions', apiVersion: 'v1', preconditions: { resourceVersion: c.metadata.resourceVersion } }),
          409,
          'Conflict',
          'a stale resourceVersion precondition',
        );
        await k.ok('GET', cmPath(ns, 'pre'));
        const ok = await k.ok('DELETE', cmPath(ns, 'pre'), {
          body: { kind: 'DeleteOptions', apiVersion: 'v1', preconditions: { uid: c.metadata.uid, resourceVersion: u.metadata.resourceVersion } },
        });
        assert.equal(ok.status, 'Success');
        assert.equal(ok.details.uid, c.metadata.uid);
        assertStatus(await k.get(cmPath(ns, 'pre')), 404, 'NotFound');
      });

      it('generateName gives each create a fresh name', async () => {
        const ns = await newNamespace('generate');
        const a = await k.ok('POST', cmPath(ns), { body: { metadata: { generateName: 'gen-' } } });
        const b = await k.ok('POST', cmPath(ns), { body: { metadata: { generateName: 'gen-' } } });
        // Upstream: the prefix plus 5 characters from utilrand's alphabet.
        assert.match(a.metadata.name, /^gen-[bcdfghjklmnpqrstvwxz2456789]{5}$/);
        assert.match(b.metadata.name, /^gen-[bcdfghjklmnpqrstvwxz2456789]{5}$/);
        assert.notEqual(a.metadata.name, b.metadata.name);
        assert.equal(a.metadata.generateName, 'gen-');
        await k.ok('GET', cmPath(ns, a.metadata.name));
      });
    });
  });
}
