/**
 * `kubectl get -w` and `kubectl wait` against a real `skiff up`: the list, then one row (or JSON
 * object, or watch event) per change, selectors applied to the stream, and waits that end on a
 * condition or on deletion. No timing is asserted: every wait is a bounded poll on the output.
 */
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { e2eBackends, kubectl, kubectlStream } from '../harness/skiff.js';
import { kubectlSuite } from './kubectl-helpers.js';

type Stream = ReturnType<typeof kubectlStream>;

/** The complete top-level JSON values in a stream of pretty-printed objects (an incomplete tail is left out). */
function jsonStream(text: string): any[] {
  const out: any[] = [];
  let depth = 0;
  let start = -1;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (inString) {
      if (c === '\\') i++;
      else if (c === '"') inString = false;
      continue;
    }
    if (c === '"') inString = true;
    else if (c === '{') {
      if (depth === 0) start = i;
      depth++;
    } else if (c === '}') {
      depth--;
      if (depth === 0) out.push(JSON.parse(text.slice(start, i + 1)));
    }
  }
  return out;
}

async function waitUntil(what: string, cond: () => boolean, output: () => string, ms = 15_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; output so far:\n${output()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const count = (text: string, re: RegExp) => (text.match(re) ?? []).length;

for (const backend of e2eBackends()) {
  describe(`kubectl get -w on ${backend}`, () => {
    const streams: Stream[] = [];
    // Registered before the suite's hooks, so the watches end before the server stops.
    after(async () => {
      for (const w of streams) await w.stop();
    });
    const { server, k, kIn, newNamespace } = kubectlSuite(backend);
    const watch = (...args: string[]) => {
      const w = kubectlStream(server(), args);
      streams.push(w);
      return w;
    };

    it('get -w prints the list, then a row for every add, change and delete', async () => {
      const ns = 'w-rows';
      await newNamespace(ns);
      await k('create', 'cm', 'one', '-n', ns, '--from-literal=a=1');
      const w = watch('get', 'cm', '-n', ns, '-w');
      await w.waitFor(/^one\s+1\s+\S+\s*$/m);
      await k('create', 'cm', 'two', '-n', ns, '--from-literal=a=1');
      await w.waitFor(/^two\s+1\s+\S+\s*$/m);
      await k('patch', 'cm', 'two', '-n', ns, '-p', '{"data":{"b":"2"}}');
      await w.waitFor(/^two\s+2\s+\S+\s*$/m);
      await k('delete', 'cm', 'two', '-n', ns);
      await waitUntil('the row of the deletion', () => count(w.output(), /^two\s/gm) === 3, w.output);
      await w.stop();
      const out = w.output();
      assert.match(out, /^NAME\s+DATA\s+AGE\n/);
      assert.equal(count(out, /^NAME\s/gm), 1, 'one header');
      assert.equal(count(out, /^one\s/gm), 1, 'an untouched object prints once');
    });

    it('get -w --output-watch-events prints the event type; many quick creates all arrive in order', async () => {
      const ns = 'w-events';
      await newNamespace(ns);
      await k('create', 'cm', 'before', '-n', ns);
      const w = watch('get', 'configmaps', '-n', ns, '-w', '--output-watch-events');
      await w.waitFor(/^ADDED\s+before\s+0\s+\S+\s*$/m);
      await k('create', 'cm', 'ev', '-n', ns, '--from-literal=a=1');
      await w.waitFor(/^ADDED\s+ev\s+1\s/m);
      await k('label', 'cm', 'ev', '-n', ns, 'x=y');
      await w.waitFor(/^MODIFIED\s+ev\s+1\s/m);
      await k('delete', 'cm', 'ev', '-n', ns);
      await w.waitFor(/^DELETED\s+ev\s+1\s/m);

      const items = Array.from({ length: 10 }, (_, i) => ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: `burst-${i}`, namespace: ns } }));
      await kIn(items.map((i) => JSON.stringify(i)).join('\n'), 'create', '-f', '-');
      await w.waitFor(/^ADDED\s+burst-9\s/m);
      await w.stop();
      const out = w.output();
      assert.match(out, /^EVENT\s+NAME\s+DATA\s+AGE\n/);
      // Only our objects: controllers may add their own to a namespace (upstream's kube-root-ca.crt).
      const names = [...out.matchAll(/^(\w+)\s+(\S+)\s+\d+\s+\S+\s*$/gm)].filter((m) => /^(before|ev|burst-\d)$/.test(m[2])).map((m) => `${m[1]} ${m[2]}`);
      assert.deepEqual(names, ['ADDED before', 'ADDED ev', 'MODIFIED ev', 'DELETED ev', ...items.map((i) => `ADDED ${i.metadata.name}`)]);
    });

    it('get -w -o json prints each object; with --output-watch-events each event', async () => {
      const ns = 'w-json';
      await newNamespace(ns);
      await k('create', 'cm', 'first', '-n', ns, '--from-literal=a=1');
      const plain = watch('get', 'cm', '-n', ns, '-w', '-o', 'json');
      const events = watch('get', 'cm', '-n', ns, '-w', '-o', 'json', '--output-watch-events');
      // Only our objects: controllers may add their own to a namespace (upstream's kube-root-ca.crt).
      const ours = (name: string) => name === 'first' || name === 'second';
      const objects = () => jsonStream(plain.output()).filter((o) => ours(o.metadata.name));
      const evs = () => jsonStream(events.output()).filter((e) => ours(e.object.metadata.name));
      await waitUntil('the listed object', () => objects().length === 1 && evs().length === 1, () => plain.output() + events.output());
      await k('create', 'cm', 'second', '-n', ns, '--from-literal=a=1');
      await k('patch', 'cm', 'second', '-n', ns, '--type=merge', '-p', '{"data":{"a":"2"}}');
      await k('delete', 'cm', 'second', '-n', ns);
      await waitUntil('four objects', () => objects().length === 4 && evs().length === 4, () => plain.output() + events.output());

      const objs = objects();
      assert.deepEqual(
        objs.map((o) => [o.kind, o.apiVersion, o.metadata.name, o.data.a]),
        [
          ['ConfigMap', 'v1', 'first', '1'],
          ['ConfigMap', 'v1', 'second', '1'],
          ['ConfigMap', 'v1', 'second', '2'],
          ['ConfigMap', 'v1', 'second', '2'],
        ],
      );
      const rvs = objs.slice(1).map((o) => Number(o.metadata.resourceVersion));
      assert.ok(rvs[0] < rvs[1] && rvs[1] < rvs[2], `resourceVersions grow: ${rvs}`);
      assert.equal(objs[1].metadata.uid, objs[3].metadata.uid);

      assert.deepEqual(
        evs().map((e) => [e.type, e.object.kind, e.object.metadata.name, e.object.data.a]),
        [
          ['ADDED', 'ConfigMap', 'first', '1'],
          ['ADDED', 'ConfigMap', 'second', '1'],
          ['MODIFIED', 'ConfigMap', 'second', '2'],
          ['DELETED', 'ConfigMap', 'second', '2'],
        ],
      );
    });

    it('get -w --watch-only prints only what happens after the watch started', async () => {
      const ns = 'w-only';
      await newNamespace(ns);
      await k('create', 'cm', 'old', '-n', ns);
      // -v=6 logs each request once its answer arrives: the watch line says the stream is open.
      const w = watch('get', 'cm', '-n', ns, '-w', '--watch-only', '-v=6');
      await w.waitFor(/GET https:\/\/\S+\/configmaps\?\S*watch=true\S* 200 OK/);
      await k('create', 'cm', 'new', '-n', ns);
      await w.waitFor(/^new\s+0\s+\S+\s*$/m);
      await w.stop();
      assert.doesNotMatch(w.output(), /^old\s/m);
    });

    it('get NAME -w follows one object only', async () => {
      const ns = 'w-name';
      await newNamespace(ns);
      await k('create', 'cm', 'target', '-n', ns);
      const w = watch('get', 'cm', 'target', '-n', ns, '-w', '--output-watch-events');
      await w.waitFor(/^ADDED\s+target\s/m);
      await k('create', 'cm', 'bystander', '-n', ns);
      await k('label', 'cm', 'bystander', '-n', ns, 'x=1');
      await k('label', 'cm', 'target', '-n', ns, 'x=1');
      await w.waitFor(/^MODIFIED\s+target\s/m);
      await w.stop();
      assert.doesNotMatch(w.output(), /bystander/);
    });

    it('get -l SELECTOR -w: objects leaving the selector are DELETED, objects entering it ADDED', async () => {
      const ns = 'w-sel';
      await newNamespace(ns);
      await k('create', 'cm', 'in', '-n', ns);
      await k('label', 'cm', 'in', '-n', ns, 'app=web');
      const w = watch('get', 'cm', '-n', ns, '-l', 'app=web', '-w', '--output-watch-events');
      await w.waitFor(/^ADDED\s+in\s/m);
      await k('create', 'cm', 'out', '-n', ns);
      await k('label', 'cm', 'out', '-n', ns, 'app=db');
      await k('create', 'cm', 'later', '-n', ns);
      await k('label', 'cm', 'later', '-n', ns, 'app=web');
      await w.waitFor(/^ADDED\s+later\s/m);
      await k('label', 'cm', 'in', '-n', ns, 'app=db', '--overwrite');
      await w.waitFor(/^DELETED\s+in\s/m);
      await k('label', 'cm', 'out', '-n', ns, 'app=web', '--overwrite');
      await w.waitFor(/^ADDED\s+out\s/m);
      await k('annotate', 'cm', 'out', '-n', ns, 'still=matching');
      await w.waitFor(/^MODIFIED\s+out\s/m);
      await w.stop();
      const events = [...w.output().matchAll(/^(ADDED|MODIFIED|DELETED)\s+(\S+)\s/gm)].map((m) => `${m[1]} ${m[2]}`);
      assert.deepEqual(events, ['ADDED in', 'ADDED later', 'DELETED in', 'ADDED out', 'MODIFIED out']);
    });

    it('get -A -w watches every namespace; get deploy -w prints deployment rows', async () => {
      const a = 'w-all-a';
      const b = 'w-all-b';
      await newNamespace(a);
      await newNamespace(b);
      const w = watch('get', 'cm', '-A', '-l', 'watch=all', '-w');
      const d = watch('get', 'deploy', '-n', a, '-w', '--output-watch-events');
      for (const ns of [a, b]) {
        await kIn(JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'shared', namespace: ns, labels: { watch: 'all' } } }), 'create', '-f', '-');
      }
      await w.waitFor(new RegExp(`^${b}\\s+shared\\s`, 'm'));
      assert.match(w.output(), new RegExp(`^NAMESPACE\\s+NAME\\s+DATA\\s+AGE\\n${a}\\s+shared\\s+0\\s+\\S+\\n${b}\\s+shared\\s+0\\s+\\S+\\n`, 'm'));

      await k('create', 'deployment', 'web', '-n', a, '--image=nginx:1.25');
      await d.waitFor(/^ADDED\s+web\s+\d+\/1\s+\d+\s+\d+\s/m);
      await k('patch', 'deploy', 'web', '-n', a, '-p', '{"spec":{"replicas":3}}');
      await d.waitFor(/^MODIFIED\s+web\s+\d+\/3\s+\d+\s+\d+\s/m);
      assert.match(d.output(), /^EVENT\s+NAME\s+READY\s+UP-TO-DATE\s+AVAILABLE\s+AGE\n/);
    });

    it('kubectl wait for a jsonpath condition and for deletion', async () => {
      const ns = 'w-wait';
      await newNamespace(ns);
      await k('create', 'cm', 'gate', '-n', ns, '--from-literal=ready=no');
      const condition = kubectl(server(), ['wait', '--for=jsonpath={.data.ready}=yes', 'cm/gate', '-n', ns, '--timeout=30s']);
      await k('patch', 'cm', 'gate', '-n', ns, '-p', '{"data":{"ready":"yes"}}');
      const met = await condition;
      assert.equal(met.code, 0, met.stderr);
      assert.equal(met.stdout, 'configmap/gate condition met\n');

      // A finalizer holds the object until we let it go once the wait watches (-v=6 logs the watch's answer).
      await k('patch', 'cm', 'gate', '-n', ns, '--type=merge', '-p', '{"metadata":{"finalizers":["example.com/hold"]}}');
      assert.equal(await k('delete', 'cm', 'gate', '-n', ns, '--wait=false'), 'configmap "gate" deleted\n');
      const deleted = watch('wait', '--for=delete', 'cm/gate', '-n', ns, '--timeout=30s', '-v=6');
      await deleted.waitFor(/GET https:\/\/\S+\/configmaps\?\S*watch=true\S* 200 OK/);
      await k('patch', 'cm', 'gate', '-n', ns, '--type=merge', '-p', '{"metadata":{"finalizers":null}}');
      assert.equal(await deleted.exited(), 0, deleted.output());
      assert.match(deleted.output(), /^configmap\/gate condition met$/m);
    });
  });
}
