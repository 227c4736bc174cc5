/**
 * 200 concurrent keep-alive HTTPS clients (20 ordinary users by client certificate) against a real
 * `skiff up` on loopback: a bounded mix of gets, lists, ConfigMap creates, patches and deletes,
 * client mistakes (malformed JSON, invalid objects, unknown resources, oversized bodies) and
 * watches (some never read). Afterwards the server is alive, no client mistake got a 5xx (429s
 * are allowed and counted), every acknowledged create is there and nothing else is, and the
 * server's memory comes back near where it started. The generator is bench/load.ts (also
 * `bench/run.ts --suite load`). SKIFF_LOAD_SEED replays a run's request mix.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { API_ONLY_ARGS, startSkiff, type SkiffProcess } from '../harness/skiff.js';
import { KubeHttp } from './http-client.js';
import { prepareLoad, readTarget, rssMiB, runLoad, type LoadTarget } from '../../bench/load.js';
import { skiffPid } from './proc.js';

const SEED = Number(process.env.SKIFF_LOAD_SEED ?? Math.floor(Math.random() * 2 ** 31));
const NAMESPACES = 10;
/** RSS after the load and a settle may exceed the start by at most this (a generous bound, not a timing). */
const RSS_SLACK_MIB = 150;

describe('load: 200 clients', () => {
  let s: SkiffProcess;
  let k: KubeHttp;
  let target: LoadTarget;
  let pid: number;

  before(async () => {
    s = await startSkiff({ extraArgs: API_ONLY_ARGS });
    k = await KubeHttp.fromKubeconfig(s.kubeconfig);
    pid = await skiffPid(s.dataDir);
    target = await readTarget(s.dataDir, s.port);
    await prepareLoad(target, { namespaces: NAMESPACES });
  });
  after(async () => {
    k?.close();
    await s?.stop();
  });

  it('serves a bounded mixed load without 5xx, losing no acknowledged write, and gives its memory back', async () => {
    console.log(`load seed ${SEED} (SKIFF_LOAD_SEED=${SEED} replays the mix)`);
    const startRss = await rssMiB(pid);
    const r = await runLoad(target, {
      clients: 200,
      users: 20,
      totalRequests: 20_000,
      timeCapMs: 60_000,
      namespaces: NAMESPACES,
      readingWatchers: 20,
      stuckWatchers: 10,
      maxOversized: 40,
      seed: SEED,
      pid,
    });
    const summary = Object.entries(r.byClass)
      .map(([c, x]) => `${c} ${x.count} (p50 ${x.latencyMs.p50?.toFixed(1)} ms, p99 ${x.latencyMs.p99?.toFixed(1)} ms) ${JSON.stringify(x.statuses)}`)
      .join('\n  ');
    console.log(`seed ${SEED}: ${r.requests} requests in ${r.seconds} s (${r.throughput}/s), 429: ${r.tooManyRequests}, peak RSS ${r.peakRssMiB} MiB (start ${startRss})\n  ${summary}`);

    assert.equal(r.serverErrors, 0, `seed ${SEED}: 5xx answers: ${r.unexpectedSamples.join('\n')}`);
    assert.equal(r.unexpected, 0, `seed ${SEED}: unexpected answers: ${r.unexpectedSamples.join('\n')}`);
    assert.equal(r.networkErrors, 0, `seed ${SEED}: network errors: ${r.networkErrorSamples.join('\n')}`);
    assert.ok(r.requests >= 1000, `seed ${SEED}: only ${r.requests} requests were answered`);
    assert.ok(r.watchEventsRead > 0, 'the reading watchers saw events');

    // Alive, and every acknowledged create is there (and nothing that was not acknowledged).
    assert.equal((await k.get('/livez')).status, 200);
    for (const [ns, names] of r.acknowledged) {
      const list = await k.ok('GET', `/api/v1/namespaces/${ns}/configmaps`);
      const present = new Set<string>(list.items.map((o: any) => o.metadata.name));
      for (const n of names) assert.ok(present.has(n), `seed ${SEED}: acknowledged ${ns}/${n} is missing`);
      for (const n of present) {
        if (n.startsWith('seed-') || n === 'kube-root-ca.crt' || names.has(n) || r.uncertain.has(`${ns}/${n}`)) continue;
        assert.fail(`seed ${SEED}: ${ns}/${n} exists but its create was never acknowledged, or its delete was`);
      }
    }

    // Memory comes back: a bounded poll for the settle, not a timing.
    let rss = await rssMiB(pid);
    for (let i = 0; i < 60 && rss > startRss + RSS_SLACK_MIB; i++) {
      await new Promise((res) => setTimeout(res, 500));
      rss = await rssMiB(pid);
    }
    assert.ok(rss <= startRss + RSS_SLACK_MIB, `seed ${SEED}: RSS ${rss} MiB after the load, ${startRss} MiB before`);
  });
});
