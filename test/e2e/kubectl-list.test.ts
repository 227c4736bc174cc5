/**
 * Listing with kubectl against a real `skiff up`: paging (--chunk-size follows metadata.continue),
 * label selectors (equality and set-based), field selectors, and the server's 400 for a field a
 * kind cannot be selected on.
 */
import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { e2eBackends, kubectl } from '../harness/skiff.js';
import { kubectlSuite } from './kubectl-helpers.js';

const count = (text: string, re: RegExp) => (text.match(re) ?? []).length;

for (const backend of e2eBackends()) {
  describe(`kubectl list and selectors on ${backend}`, () => {
    const { server, k, kIn, newNamespace } = kubectlSuite(backend);
    const names = async (...args: string[]) => (await k('get', ...args, '-o', 'name')).split('\n').filter(Boolean);
    /** Creates ConfigMaps with one `kubectl create` of a stream of JSON documents. */
    const configMaps = (ns: string, specs: { name: string; labels?: Record<string, string> }[]) =>
      kIn(
        specs.map((c) => JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: c.name, namespace: ns, labels: c.labels }, data: { n: c.name } })).join('\n'),
        'create',
        '-f',
        '-',
      );

    describe('--chunk-size', () => {
      const ns = 'l-chunk';
      const all = ['c0', 'c1', 'c2', 'c3', 'c4', 'c5', 'c6'];
      before(async () => {
        await newNamespace(ns);
        await configMaps(
          ns,
          all.map((name) => ({ name, labels: { batch: 'chunk' } })),
        );
        // A namespace whose name extends this one's: its keys sort just before ours ('-' < '/').
        await newNamespace('l-chunk-other');
        await configMaps('l-chunk-other', [{ name: 'x0', labels: { batch: 'chunk' } }]);
      });

      it('pages through every object, one request per page, with one table header', async () => {
        const r = await kubectl(server(), ['get', 'cm', '-n', ns, '-l', 'batch=chunk', '--chunk-size=2', '-v=6']);
        assert.equal(r.code, 0, r.stderr);
        const lines = r.stdout.trimEnd().split('\n');
        assert.match(lines[0], /^NAME\s+DATA\s+AGE$/);
        assert.deepEqual(
          lines.slice(1).map((l) => l.split(/\s+/)[0]),
          all,
        );
        const pages = r.stderr.split('\n').filter((l) => /GET https:\/\/\S+\/api\/v1\/namespaces\/l-chunk\/configmaps\?\S*limit=2\S* 200 OK/.test(l));
        assert.equal(pages.length, 4, `expected 4 pages of at most 2:\n${pages.join('\n')}`);
        assert.doesNotMatch(pages[0], /continue=/);
        for (const p of pages.slice(1)) assert.match(p, /continue=/);
      });

      it('--chunk-size=1 with -o name, -o json and across namespaces', async () => {
        assert.deepEqual(await names('cm', '-n', ns, '-l', 'batch=chunk', '--chunk-size=1'), all.map((n) => `configmap/${n}`));
        const list = JSON.parse(await k('get', 'cm', '-n', ns, '-l', 'batch=chunk', '--chunk-size=1', '-o', 'json'));
        assert.equal(list.kind, 'List');
        assert.deepEqual(
          list.items.map((i: any) => i.data.n),
          all,
        );
        const across = await k('get', 'cm', '-A', '-l', 'batch=chunk', '--chunk-size=1', '--no-headers');
        assert.deepEqual(
          across.trimEnd().split('\n').map((l) => l.split(/\s+/).slice(0, 2).join('/')),
          ['l-chunk-other/x0', ...all.map((n) => `${ns}/${n}`)],
        );
      });

      it('--chunk-size=0 asks for everything at once', async () => {
        const r = await kubectl(server(), ['get', 'cm', '-n', ns, '-l', 'batch=chunk', '--chunk-size=0', '-o', 'name', '-v=6']);
        assert.equal(r.code, 0, r.stderr);
        assert.equal(r.stdout, all.map((n) => `configmap/${n}\n`).join(''));
        assert.equal(count(r.stderr, /\/api\/v1\/namespaces\/l-chunk\/configmaps\S* 200 OK/g), 1);
        assert.doesNotMatch(r.stderr, /limit=/);
      });

      it('delete -l removes every selected object', async () => {
        const out = await k('delete', 'cm', '-n', ns, '-l', 'batch=chunk');
        assert.equal(out, all.map((n) => `configmap "${n}" deleted\n`).join(''));
        const r = await kubectl(server(), ['get', 'cm', '-n', ns, '-l', 'batch=chunk']);
        assert.equal(r.stderr, `No resources found in ${ns} namespace.\n`);
        assert.deepEqual(await names('cm', '-n', 'l-chunk-other', '-l', 'batch=chunk'), ['configmap/x0']);
      });
    });

    describe('label selectors', () => {
      const ns = 'l-labels';
      before(async () => {
        await newNamespace(ns);
        await configMaps(ns, [
          { name: 'a', labels: { set: 'sel', app: 'web', tier: 'fe' } },
          { name: 'b', labels: { set: 'sel', app: 'web', tier: 'be' } },
          { name: 'c', labels: { set: 'sel', app: 'db' } },
          { name: 'd', labels: { set: 'sel' } },
        ]);
      });

      const cases: [string, string[]][] = [
        ['set=sel', ['a', 'b', 'c', 'd']],
        ['set=sel,app=web', ['a', 'b']],
        ['set=sel,app==web', ['a', 'b']],
        ['set=sel,app!=web', ['c', 'd']],
        ['set=sel,app in (web,db)', ['a', 'b', 'c']],
        ['set=sel,app notin (web)', ['c', 'd']],
        ['set=sel,tier', ['a', 'b']],
        ['set=sel,!tier', ['c', 'd']],
        ['app=web,tier=be', ['b']],
        ['app in (web),tier notin (be)', ['a']],
        ['set=nope', []],
      ];
      for (const [selector, want] of cases) {
        it(`-l '${selector}'`, async () => {
          assert.deepEqual(await names('cm', '-n', ns, '-l', selector), want.map((n) => `configmap/${n}`));
        });
      }

      it('a malformed selector is the server\'s 400', async () => {
        const r = await kubectl(server(), ['get', 'cm', '-n', ns, '-l', 'app in web']);
        assert.equal(r.code, 1);
        assert.match(
          r.stderr,
          /^Error from server \(BadRequest\): Unable to find "\/v1, Resource=configmaps" that match label selector "app in web", field selector "": .*found 'web' expected: '\('\n$/,
        );
      });
    });

    describe('field selectors', () => {
      const ns = 'l-fields';
      before(async () => {
        await newNamespace(ns);
        await configMaps(ns, [
          { name: 'a', labels: { set: 'fs' } },
          { name: 'b', labels: { set: 'fs' } },
          { name: 'c', labels: { set: 'fs' } },
        ]);
        await k('create', 'secret', 'generic', 'plain-1', '-n', ns, '--from-literal=k=v');
        await k('create', 'secret', 'generic', 'plain-2', '-n', ns, '--from-literal=k=v');
        await k('create', 'secret', 'docker-registry', 'pull', '-n', ns, '--docker-server=r.example.com', '--docker-username=u', '--docker-password=p');
      });

      it('metadata.name and metadata.namespace', async () => {
        assert.deepEqual(await names('cm', '-n', ns, '--field-selector', 'metadata.name=b'), ['configmap/b']);
        assert.deepEqual(await names('cm', '-n', ns, '--field-selector', 'metadata.name!=b', '-l', 'set=fs'), ['configmap/a', 'configmap/c']);
        assert.deepEqual(await names('cm', '-A', '--field-selector', `metadata.namespace=${ns},metadata.name=c`), ['configmap/c']);
        assert.deepEqual(await names('cm', '-A', '-l', 'set=fs', '--field-selector', `metadata.namespace!=${ns}`), []);
        assert.deepEqual(await names('ns', '--field-selector', `metadata.name=${ns}`), [`namespace/${ns}`]);
      });

      it('type on secrets', async () => {
        assert.deepEqual(await names('secrets', '-n', ns, '--field-selector', 'type=Opaque'), ['secret/plain-1', 'secret/plain-2']);
        assert.deepEqual(await names('secrets', '-n', ns, '--field-selector', 'type=kubernetes.io/dockerconfigjson'), ['secret/pull']);
        assert.deepEqual(await names('secrets', '-n', ns, '--field-selector', 'type!=Opaque'), ['secret/pull']);
        assert.deepEqual(await names('secrets', '-n', ns, '--field-selector', 'type=Opaque,metadata.name=plain-2'), ['secret/plain-2']);
      });

      it('an unsupported field is the server\'s 400, worded per kind', async () => {
        const cm = await kubectl(server(), ['get', 'cm', '-n', ns, '--field-selector', 'data.k=v']);
        assert.equal(cm.code, 1);
        assert.equal(
          cm.stderr,
          'Error from server (BadRequest): Unable to find "/v1, Resource=configmaps" that match label selector "", field selector "data.k=v": "data.k" is not a known field selector: only "metadata.name", "metadata.namespace"\n',
        );
        const secret = await kubectl(server(), ['get', 'secrets', '-n', ns, '-l', 'x=y', '--field-selector', 'immutable=true']);
        assert.equal(secret.code, 1);
        assert.equal(
          secret.stderr,
          'Error from server (BadRequest): Unable to find "/v1, Resource=secrets" that match label selector "x=y", field selector "immutable=true": field label not supported: immutable\n',
        );
        const deploy = await kubectl(server(), ['get', 'deploy', '-n', ns, '--field-selector', 'spec.replicas=1']);
        assert.equal(
          deploy.stderr,
          'Error from server (BadRequest): Unable to find "apps/v1, Resource=deployments" that match label selector "", field selector "spec.replicas=1": "spec.replicas" is not a known field selector: only "metadata.name", "metadata.namespace"\n',
        );
      });

      it('pod fields (spec.restartPolicy)', async () => {
        assert.equal(await k('run', 'once', '-n', ns, '--image=busybox:1.36', '--restart=Never', '--', 'true'), 'pod/once created\n');
        assert.equal(await k('run', 'always', '-n', ns, '--image=busybox:1.36', '--', 'sleep', '3600'), 'pod/always created\n');
        assert.deepEqual(await names('pods', '-n', ns, '--field-selector', 'spec.restartPolicy=Never'), ['pod/once']);
        assert.deepEqual(await names('pods', '-n', ns, '--field-selector', 'spec.restartPolicy=Always'), ['pod/always']);
        const r = await kubectl(server(), ['get', 'pods', '-n', ns, '--field-selector', 'spec.containers=x']);
        assert.equal(
          r.stderr,
          'Error from server (BadRequest): Unable to find "/v1, Resource=pods" that match label selector "", field selector "spec.containers=x": field label not supported: spec.containers\n',
        );
      });
    });
  });
}
