import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import https from 'node:https';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createCa, issueLeaf, type KeyPair } from '../../pki/issue.js';
import { StreamingServer } from './server.js';
import { HostProcessBackend } from './testing.js';
import { formatRecord } from '../logs/cri-log.js';

function get(port: number, path: string, client?: KeyPair, ca?: string): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const r = https.request({ host: '127.0.0.1', port, path, cert: client?.cert, key: client?.key, ca, checkServerIdentity: () => undefined, agent: false }, (res) => {
      let text = '';
      res.on('data', (b: Buffer) => (text += b.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
    });
    r.on('error', reject);
    r.end();
  });
}

describe('streaming server authentication', () => {
  let root: string;
  let ca: KeyPair;
  let server: StreamingServer;
  let port: number;

  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'skt-str-srv-'));
    ca = await createCa('str-test-ca');
    const serving = await issueLeaf(ca, { commonName: 'system:node:n', usage: 'server', ipAddresses: ['127.0.0.1'], validityDays: 1 });
    const backend = new HostProcessBackend(root);
    const pod = await backend.addPod('ns', 'p', ['c']);
    await writeFile(pod.containers.get('c')!.logPath, formatRecord('2024-05-01T10:00:00Z', 'stdout', 'hello'));
    server = new StreamingServer({ backend, cert: serving.cert, key: serving.key, ca: ca.cert, port: 0, host: '127.0.0.1' });
    port = await server.listen();
  });
  after(async () => {
    await server.close();
    await rm(root, { recursive: true, force: true });
  });

  it('serves the API server identity, 403 for another user, 401 without a CA-signed certificate', async () => {
    const apiserver = await issueLeaf(ca, { commonName: 'kube-apiserver-kubelet-client', organizations: ['system:masters'], usage: 'client', validityDays: 1 });
    const ok = await get(port, '/containerLogs/ns/p/c', apiserver, ca.cert);
    assert.deepEqual(ok, { status: 200, text: 'hello\n' });
    const someone = await issueLeaf(ca, { commonName: 'jane', usage: 'client', validityDays: 1 });
    const forbidden = await get(port, '/containerLogs/ns/p/c', someone, ca.cert);
    assert.equal(forbidden.status, 403);
    assert.match(JSON.parse(forbidden.text).message, /Forbidden \(user=jane, verb=get, resource=nodes, subresource=log\)/);
    const otherCa = await createCa('other');
    const stranger = await issueLeaf(otherCa, { commonName: 'kube-apiserver-kubelet-client', organizations: ['system:masters'], usage: 'client', validityDays: 1 });
    assert.equal((await get(port, '/containerLogs/ns/p/c', stranger, ca.cert)).status, 401);
    assert.equal((await get(port, '/containerLogs/ns/p/c', undefined, ca.cert)).status, 401);
    const missing = await get(port, '/containerLogs/ns/p/nope', apiserver, ca.cert);
    assert.equal(missing.status, 404);
    const previous = await get(port, '/containerLogs/ns/p/c?previous=true', apiserver, ca.cert);
    assert.equal(previous.status, 400);
    assert.equal(JSON.parse(previous.text).message, 'previous terminated container "c" in pod "p" not found');
  });
});
