/**
 * The set-up the kubectl suites share: one `skiff up` per describe block, started before its tests
 * and stopped after them, and kubectl bound to it.
 */
import { after, before } from 'node:test';
import assert from 'node:assert/strict';
import { kubectl, kubectlOk, startSkiff, type Backend, type SkiffProcess } from '../harness/skiff.js';

export interface KubectlSuite {
  /** The running server; only valid inside tests and hooks, once the suite's before hook has run. */
  server(): SkiffProcess;
  /** kubectl that must succeed: its stdout. */
  k(...args: string[]): Promise<string>;
  /** The same with `input` on stdin (for `-f -`). */
  kIn(input: string, ...args: string[]): Promise<string>;
  /** `kubectl get ARGS -o json`, parsed. */
  getJson(...args: string[]): Promise<any>;
  /** Creates a namespace, checking kubectl's answer. */
  newNamespace(name: string): Promise<void>;
}

/**
 * Call inside a describe: registers the hooks that start and stop the server there. Hooks run in
 * the order they are registered, so a suite that must clean up before the server stops (streams
 * still reading from it) registers its own `after` first.
 */
export function kubectlSuite(backend: Backend, extraArgs: string[] = []): KubectlSuite {
  let s: SkiffProcess | undefined;
  before(async () => {
    s = await startSkiff({ backend, extraArgs });
  });
  after(async () => {
    await s?.stop();
  });
  const server = (): SkiffProcess => {
    if (!s) throw new Error('skiff is not running: use the suite from tests and hooks only');
    return s;
  };
  const k = (...args: string[]) => kubectlOk(server(), args);
  const waitForRootCa = async (namespace: string) => {
    for (let attempt = 0; attempt < 200; attempt++) {
      if ((await kubectl(server(), ['get', 'configmap', 'kube-root-ca.crt', '-n', namespace, '-o', 'name'])).code === 0) return;
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(`namespace ${namespace} never got its kube-root-ca.crt ConfigMap`);
  };
  return {
    server,
    k,
    kIn: (input, ...args) => kubectlOk(server(), args, input),
    getJson: async (...args) => JSON.parse(await k('get', ...args, '-o', 'json')),
    // Settled once the controllers have given it its cluster CA ConfigMap, as upstream's e2e
    // framework waits for a new namespace's service account.
    newNamespace: async (name) => {
      assert.equal(await k('create', 'namespace', name), `namespace/${name} created\n`);
      await waitForRootCa(name);
    },
  };
}

/**
 * Polls `probe` until it returns something other than undefined or false; errors it throws count as
 * "not yet" (and the last one is reported). Gives up after `ms`.
 */
export async function poll<T>(what: string, probe: () => Promise<T | undefined | false>, ms = 60_000): Promise<T> {
  const deadline = Date.now() + ms;
  let last: unknown;
  for (;;) {
    try {
      const v = await probe();
      if (v !== undefined && v !== false) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ''}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
