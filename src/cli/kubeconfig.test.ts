import assert from 'node:assert/strict';
import { execFile, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { KubeConfig, VersionApi } from '@kubernetes/client-node';
import { parse } from 'yaml';
import { ensurePki, type Pki } from '../pki/certs.js';
import { startIdentityServer, VERSION_INFO, type IdentityServer } from '../pki/testing.js';
import { kubeconfigFor, writeAdminKubeconfig } from './kubeconfig.js';

const execFileAsync = promisify(execFile);
const KUBECTL = '/usr/bin/kubectl';
const hasKubectl = spawnSync(KUBECTL, ['version', '--client'], { timeout: 20_000 }).status === 0;

describe('admin kubeconfig', () => {
  let dir: string;
  let pki: Pki;
  let server: IdentityServer;
  let path: string;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'skiff-kubeconfig-'));
    pki = await ensurePki(dir, {});
    server = await startIdentityServer(pki);
    path = join(dir, 'kube', 'config');
    await writeAdminKubeconfig(path, { server: server.url, pki });
  });
  after(async () => {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('is a v1 Config with embedded credentials and a current context', () => {
    const config = parse(readFileSync(path, 'utf8')) as ReturnType<typeof kubeconfigFor>;
    assert.deepEqual(config, kubeconfigFor({ server: server.url, pki }));
    assert.equal(config.apiVersion, 'v1');
    assert.equal(config.kind, 'Config');
    assert.equal(config['current-context'], 'skiff');
    assert.deepEqual(config.contexts, [{ name: 'skiff', context: { cluster: 'skiff', user: 'skiff' } }]);
    const [cluster] = config.clusters;
    assert.equal(cluster.name, 'skiff');
    assert.equal(cluster.cluster.server, server.url);
    assert.equal(Buffer.from(cluster.cluster['certificate-authority-data'], 'base64').toString(), pki.caCert);
    const [user] = config.users;
    assert.equal(user.name, 'skiff');
    assert.equal(Buffer.from(user.user['client-certificate-data'], 'base64').toString(), pki.adminCert);
    assert.equal(Buffer.from(user.user['client-key-data'], 'base64').toString(), pki.adminKey);
  });

  test('is readable by its owner only, also when it replaces a looser file', async () => {
    assert.equal(statSync(path).mode & 0o777, 0o600);
    const loose = join(dir, 'loose.conf');
    writeFileSync(loose, 'old', { mode: 0o644 });
    await writeAdminKubeconfig(loose, { server: server.url, pki });
    assert.equal(statSync(loose).mode & 0o777, 0o600);
  });

  test('names can be chosen', () => {
    const config = kubeconfigFor({ server: 'https://10.0.0.1:6443', pki, clusterName: 'c', userName: 'u', contextName: 'x' });
    assert.deepEqual(config.contexts, [{ name: 'x', context: { cluster: 'c', user: 'u' } }]);
    assert.equal(config['current-context'], 'x');
    assert.equal(config.clusters[0].name, 'c');
    assert.equal(config.users[0].name, 'u');
  });

  test('can carry another client\'s credentials', () => {
    const client = { cert: 'NODE CERT', key: 'NODE KEY' };
    const config = kubeconfigFor({ server: server.url, pki, client });
    assert.equal(Buffer.from(config.users[0].user['client-certificate-data'], 'base64').toString(), client.cert);
    assert.equal(Buffer.from(config.users[0].user['client-key-data'], 'base64').toString(), client.key);
  });

  test('the real kubectl reaches the server with it, as kubernetes-admin', { skip: !hasKubectl && 'kubectl not installed' }, async () => {
    const before = server.seen.length;
    // Asynchronously: the server answering kubectl runs in this process. HOME keeps kubectl's
    // cache out of the real home directory.
    const { stdout } = await execFileAsync(KUBECTL, ['--kubeconfig', path, 'get', '--raw', '/version'], {
      timeout: 60_000,
      env: { ...process.env, HOME: dir, KUBECONFIG: '' },
    });
    assert.deepEqual(JSON.parse(stdout), VERSION_INFO);
    const requests = server.seen.slice(before);
    assert.ok(requests.some((r) => r.url === '/version'), JSON.stringify(requests));
    for (const r of requests) {
      assert.equal(r.authorized, true, JSON.stringify(r));
      assert.deepEqual(r.user, { name: 'kubernetes-admin', groups: ['system:masters'] });
    }
  });

  test('@kubernetes/client-node reaches the server with it', async () => {
    const kc = new KubeConfig();
    kc.loadFromFile(path);
    const before = server.seen.length;
    const version = await kc.makeApiClient(VersionApi).getCode();
    assert.equal(version.gitVersion, 'v1.30.0');
    const [seen] = server.seen.slice(before);
    assert.equal(seen.authorized, true);
    assert.deepEqual(seen.user, { name: 'kubernetes-admin', groups: ['system:masters'] });
  });
});
