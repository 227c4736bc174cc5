/**
 * Encryption at rest in a real `skiff up`: secrets created with kubectl never reach the SQLite file
 * in plaintext, and a key rotation (new key first, `skiff encryption rewrite`, old key removed)
 * keeps every secret readable, as upstream's documented rotation procedure.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { API_ONLY_ARGS, kubectl, kubectlOk, startSkiff, type SkiffProcess } from '../harness/skiff.js';

const SKIFF = resolve(dirname(fileURLToPath(import.meta.url)), '../../../bin/skiff.js');
const MARKER = 'e2e-plaintext-must-not-leak';
const key1 = randomBytes(32).toString('base64');
const key2 = randomBytes(32).toString('base64');

const config = (keys: [string, string][]) => `apiVersion: apiserver.config.k8s.io/v1
kind: EncryptionConfiguration
resources:
  - resources: [secrets]
    providers:
      - aesgcm:
          keys:
${keys.map(([n, k]) => `            - name: ${n}\n              secret: ${k}`).join('\n')}
      - identity: {}
`;

function skiff(args: string[]): Promise<string> {
  return new Promise((res, rej) =>
    execFile(process.execPath, [SKIFF, ...args], { timeout: 60_000 }, (err, stdout, stderr) => (err ? rej(new Error(`${err.message}\n${stderr}`)) : res(stdout))),
  );
}

describe('encryption at rest (skiff up --encryption-provider-config, kubectl)', () => {
  let dir: string;
  let cfg: string;
  let s: SkiffProcess;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'skiff-enc-e2e-'));
    cfg = join(dir, 'encryption.yaml');
    await writeFile(cfg, config([['key1', key1]]));
    s = await startSkiff({ extraArgs: [...API_ONLY_ARGS, '--encryption-provider-config', cfg] });
  });
  after(async () => {
    await s?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  const password = async (name: string) => Buffer.from(await kubectlOk(s, ['get', 'secret', name, '-n', 'default', '-o', 'jsonpath={.data.password}']), 'base64').toString();
  const stateBytes = async () => {
    const files = (await readdir(s.dataDir)).filter((f) => f.startsWith('state.db'));
    return Buffer.concat(await Promise.all(files.map((f) => readFile(join(s.dataDir, f)))));
  };

  it('kubectl create secret: readable through the API, absent from the store file', async () => {
    await kubectlOk(s, ['create', 'secret', 'generic', 's1', '-n', 'default', `--from-literal=password=${MARKER}-1`]);
    assert.equal(await password('s1'), `${MARKER}-1`);
    const bytes = await stateBytes();
    assert.equal(bytes.indexOf(`${MARKER}-1`), -1);
    assert.equal(bytes.indexOf(Buffer.from(`${MARKER}-1`).toString('base64')), -1);
    assert.notEqual(bytes.indexOf('k8s:enc:aesgcm:v1:key1:'), -1);
  });

  it('rotation: [key2, key1], skiff encryption rewrite, then key2 alone reads every secret', async () => {
    await writeFile(cfg, config([['key2', key2], ['key1', key1]]));
    await s.restart();
    assert.equal(await password('s1'), `${MARKER}-1`);
    await kubectlOk(s, ['create', 'secret', 'generic', 's2', '-n', 'default', `--from-literal=password=${MARKER}-2`]);
    const out = await skiff(['encryption', 'rewrite', '--kubeconfig', s.kubeconfig, '--resources', 'secrets']);
    assert.match(out, /secrets: \d+ rewritten/);

    await writeFile(cfg, config([['key2', key2]]));
    await s.restart();
    assert.equal(await password('s1'), `${MARKER}-1`);
    assert.equal(await password('s2'), `${MARKER}-2`);
    const r = await kubectl(s, ['get', 'secrets', '-A', '-o', 'name']);
    assert.equal(r.code, 0, r.stderr);
  });
});
