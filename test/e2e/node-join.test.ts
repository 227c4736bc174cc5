/**
 * Joining a node with a bootstrap token, end to end: `skiff token create` on the control plane, a
 * second `skiff agent --token` process (simulated node, its own root dir) discovers the cluster
 * through the signed cluster-info, gets a node client certificate through a CSR that the
 * controllers approve and sign, and runs its node with it; `kubectl get csr` and
 * `kubectl certificate approve|deny` work on CSRs; wrong and expired tokens are refused clearly.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { kubectl, kubectlOk, startSkiff, type SkiffProcess } from '../harness/skiff.js';
import { createCertificateRequest } from '../../src/pki/issue.js';
import { caCertHash } from '../../src/agent/certificate/bootstrap.js';
import { readFile } from 'node:fs/promises';

const SKIFF_BIN = join(resolve(dirname(fileURLToPath(import.meta.url)), '../../..'), 'bin', 'skiff.js');
const TOKEN_RE = /^[a-z0-9]{6}\.[a-z0-9]{16}$/;

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function skiff(args: string[], timeoutMs = 30_000): Promise<Run> {
  return new Promise((res) => {
    const p = spawn(process.execPath, [SKIFF_BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
    p.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
    const t = setTimeout(() => p.kill('SIGKILL'), timeoutMs);
    p.once('exit', (code) => {
      clearTimeout(t);
      res({ code, stdout, stderr });
    });
  });
}

/** A long-running `skiff agent`; resolves once it prints that its node runs. */
async function startAgent(args: string[]): Promise<{ output(): string; stop(): Promise<void> }> {
  const p = spawn(process.execPath, [SKIFF_BIN, 'agent', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  p.stdout.on('data', (b: Buffer) => (out += b.toString()));
  p.stderr.on('data', (b: Buffer) => (out += b.toString()));
  const exited = new Promise<void>((r) => p.once('exit', () => r()));
  await new Promise<void>((res, rej) => {
    const t = setTimeout(() => rej(new Error(`skiff agent did not start:\n${out}`)), 30_000);
    p.stdout.on('data', () => {
      if (/simulated node \S+ (joined|running)/.test(out)) {
        clearTimeout(t);
        res();
      }
    });
    void exited.then(() => {
      clearTimeout(t);
      rej(new Error(`skiff agent exited:\n${out}`));
    });
  });
  return {
    output: () => out,
    async stop() {
      if (p.exitCode !== null || p.signalCode !== null) return;
      p.kill('SIGTERM');
      await exited;
    },
  };
}

async function eventually<T>(what: string, f: () => Promise<T | undefined | false>, ms = 20_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await f();
    if (v) return v;
    if (Date.now() > end) assert.fail(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

describe('node join with a bootstrap token', () => {
  let s: SkiffProcess;
  let root: string;
  let token: string;
  before(async () => {
    s = await startSkiff();
    root = await mkdtemp(join(tmpdir(), 'skiff-join-'));
  });
  after(async () => {
    await s?.stop();
    if (root) await rm(root, { recursive: true, force: true });
  });

  it('skiff token create prints a token that skiff token list shows', async () => {
    const r = await skiff(['token', 'create', '--data-dir', s.dataDir, '--description', 'e2e join']);
    assert.equal(r.code, 0, r.stderr);
    token = r.stdout.trim();
    assert.match(token, TOKEN_RE);
    const list = await skiff(['token', 'list', '--data-dir', s.dataDir]);
    assert.equal(list.code, 0, list.stderr);
    const row = list.stdout.split('\n').find((l) => l.startsWith(token));
    assert.ok(row, list.stdout);
    assert.match(row, /authentication,signing\s+e2e join\s+system:bootstrappers:kubeadm:default-node-token/);
    const printed = await skiff(['token', 'create', '--data-dir', s.dataDir, '--print-join-command']);
    assert.equal(printed.code, 0, printed.stderr);
    const ca = await readFile(join(s.dataDir, 'pki', 'ca.crt'), 'utf8');
    assert.match(printed.stdout.trim(), new RegExp(`^skiff agent --server https://127\\.0\\.0\\.1:${s.port} --token [a-z0-9]{6}\\.[a-z0-9]{16} --discovery-token-ca-cert-hash ${caCertHash(ca)}$`));
    assert.match(list.stdout, /^TOKEN\s+TTL\s+EXPIRES\s+USAGES\s+DESCRIPTION\s+EXTRA GROUPS/);
  });

  it('a simulated agent joins with the token, its Node becomes Ready, and its approved CSR shows in kubectl get csr', async () => {
    const ca = await readFile(join(s.dataDir, 'pki', 'ca.crt'), 'utf8');
    const args = ['--simulated', '--server', s.url, '--token', token, '--discovery-token-ca-cert-hash', caCertHash(ca), '--root-dir', root, '--sim-name-prefix', 'joined-'];
    const agent = await startAgent(args);
    try {
      assert.match(agent.output(), /simulated node joined-0 joined as system:node:joined-0/);
      await eventually('joined-0 to be Ready', async () => {
        const r = await kubectl(s, ['get', 'node', 'joined-0', '-o', 'jsonpath={.status.conditions[?(@.type=="Ready")].status}']);
        return r.stdout === 'True';
      });
      const csrs = await kubectlOk(s, ['get', 'csr']);
      assert.match(csrs.split('\n')[0], /^NAME\s+AGE\s+SIGNERNAME\s+REQUESTOR\s+REQUESTEDDURATION\s+CONDITION$/);
      const id = token.slice(0, 6);
      assert.match(csrs, new RegExp(`node-csr-\\S+\\s+\\S+\\s+kubernetes.io/kube-apiserver-client-kubelet\\s+system:bootstrap:${id}\\s+<none>\\s+Approved,Issued`));
      for (const f of ['kubeconfig', 'pki/kubelet-client-current.pem']) {
        assert.equal((await stat(join(root, f))).mode & 0o777, 0o600, f);
      }
    } finally {
      await agent.stop();
    }
    // A restart reuses the saved credentials: no second join, no second CSR.
    const again = await startAgent(args);
    try {
      assert.match(again.output(), /simulated node joined-0 running/);
      const names = (await kubectlOk(s, ['get', 'csr', '-o', 'name'])).trim().split('\n');
      assert.equal(names.filter((n) => n.includes('node-csr-')).length, 1, names.join('\n'));
    } finally {
      await again.stop();
    }
  });

  it('kubectl certificate approve and deny work on CSRs made by hand', async () => {
    const yaml = async (name: string) => {
      const { csr } = await createCertificateRequest({ commonName: name, organizations: ['e2e'] });
      return JSON.stringify({
        apiVersion: 'certificates.k8s.io/v1',
        kind: 'CertificateSigningRequest',
        metadata: { name },
        spec: { request: Buffer.from(csr).toString('base64'), signerName: 'kubernetes.io/kube-apiserver-client', usages: ['client auth'], expirationSeconds: 3600 },
      });
    };
    await kubectlOk(s, ['create', '-f', '-'], await yaml('manual'));
    await kubectlOk(s, ['create', '-f', '-'], await yaml('refused'));
    const pending = await kubectlOk(s, ['get', 'csr', 'manual']);
    assert.match(pending, /manual\s+\S+\s+kubernetes.io\/kube-apiserver-client\s+kubernetes-admin\s+60m\s+Pending/);
    assert.equal((await kubectlOk(s, ['certificate', 'approve', 'manual'])).trim(), 'certificatesigningrequest.certificates.k8s.io/manual approved');
    assert.equal((await kubectlOk(s, ['certificate', 'deny', 'refused'])).trim(), 'certificatesigningrequest.certificates.k8s.io/refused denied');
    await eventually('manual to be issued', async () => /Approved,Issued/.test(await kubectlOk(s, ['get', 'csr', 'manual'])));
    assert.match(await kubectlOk(s, ['get', 'csr', 'refused']), /refused\s+.*\s+Denied$/m);
    const cond = JSON.parse(await kubectlOk(s, ['get', 'csr', 'manual', '-o', 'json'])).status.conditions[0];
    assert.equal(cond.reason, 'KubectlApprove');
    const described = await kubectlOk(s, ['describe', 'csr', 'manual']);
    assert.match(described, /Requesting User:\s+kubernetes-admin/);
    assert.match(described, /Signer:\s+kubernetes.io\/kube-apiserver-client/);
    assert.match(described, /Status:\s+Approved,Issued/);
    assert.match(described, /Common Name:\s+manual/);
  });

  it('a wrong token fails with a clear error', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'skiff-join-bad-'));
    try {
      const wrongSecret = `${token.slice(0, 7)}${'0'.repeat(16)}`;
      const r = await skiff(['agent', '--simulated', '--server', s.url, '--token', wrongSecret, '--root-dir', dir]);
      assert.equal(r.code, 1, r.stdout + r.stderr);
      assert.match(r.stderr, /joining the cluster failed: failed to verify JWS signature of received cluster info object, can't trust this API Server/);
      const unknown = await skiff(['agent', '--simulated', '--server', s.url, '--token', 'zzzzzz.0123456789abcdef', '--root-dir', dir]);
      assert.equal(unknown.code, 1);
      assert.match(unknown.stderr, /This token id "zzzzzz" is invalid for this cluster, or it has expired/);
      const malformed = await skiff(['agent', '--simulated', '--server', s.url, '--token', 'nope', '--root-dir', dir]);
      assert.equal(malformed.code, 1);
      assert.match(malformed.stderr, /was not of the form/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('an expired token is refused', async () => {
    const made = await skiff(['token', 'create', '--data-dir', s.dataDir, '--ttl', '1s']);
    assert.equal(made.code, 0, made.stderr);
    const expired = made.stdout.trim();
    await new Promise((r) => setTimeout(r, 1500));
    // The API server refuses it as a credential straight away…
    const who = await fetchWithToken(s.url, expired);
    assert.equal(who, 401);
    // …and a join with it fails (its signature is gone from cluster-info once the token cleaner deletes it).
    const dir = await mkdtemp(join(tmpdir(), 'skiff-join-exp-'));
    try {
      const r = await skiff(['agent', '--simulated', '--server', s.url, '--token', expired, '--root-dir', dir]);
      assert.equal(r.code, 1);
      assert.match(r.stderr, /joining the cluster failed: (.*invalid for this cluster, or it has expired|.*401 Unauthorized)/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

async function fetchWithToken(url: string, token: string): Promise<number> {
  const { request } = await import('node:https');
  return new Promise((res, rej) => {
    const req = request(`${url}/api/v1/namespaces/default/pods`, { headers: { Authorization: `Bearer ${token}` }, rejectUnauthorized: false }, (r) => {
      r.resume();
      res(r.statusCode ?? 0);
    });
    req.on('error', rej);
    req.end();
  });
}
