/**
 * kubectl logs, exec, port-forward and cp through a real `skiff up` to a node agent's streaming
 * server. The node is ours: a Node object whose address and kubelet port point at a
 * StreamingServer in this process, backed by host processes (exec runs /bin/sh in a directory that
 * stands in for the container's filesystem; node-pty for -t) and, for port-forward, a TCP echo
 * server on loopback. The API server reaches it with its kubelet client certificate.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { appendFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pty from 'node-pty';
import { API_ONLY_ARGS, findKubectl, startSkiff, type SkiffProcess } from '../harness/skiff.js';
import { KubeHttp, assertStatus, eventually } from './http-client.js';
import { StreamingServer } from '../../src/agent/streaming/server.js';
import { HostProcessBackend, type HostPod } from '../../src/agent/streaming/testing.js';
import { formatRecord } from '../../src/agent/logs/cri-log.js';
import { issueLeaf } from '../../src/pki/issue.js';

const NS = 'str-e2e';
const KUBECTL_132 = '/usr/lib/google-cloud-sdk/bin/kubectl.1.32';
const NODE = `str-node-${process.pid}`;

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** kubectl with extra environment and optional stdin, collecting its output. */
function run(s: SkiffProcess, args: string[], opts: { env?: Record<string, string>; input?: string; timeoutMs?: number; bin?: string } = {}): Promise<Run> {
  return new Promise((resolve) => {
    const p = spawn(opts.bin ?? findKubectl(), ['--kubeconfig', s.kubeconfig, ...args], { env: { ...process.env, HOME: s.dataDir, ...opts.env }, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
    p.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
    const t = setTimeout(() => p.kill('SIGKILL'), opts.timeoutMs ?? 30_000);
    p.once('exit', (code) => {
      clearTimeout(t);
      resolve({ code, stdout, stderr });
    });
    if (opts.input !== undefined) p.stdin.end(opts.input);
    else p.stdin.end();
  });
}

function waitForOutput(get: () => string, re: RegExp, what: string, ms = 15_000): Promise<RegExpExecArray> {
  return eventually(
    what,
    async () => re.exec(get()) ?? undefined,
    Math.ceil(ms / 50),
    50,
  );
}

describe('kubectl logs, exec, port-forward and cp through a node agent', () => {
  let s: SkiffProcess;
  let http: KubeHttp;
  let agent: StreamingServer;
  let backend: HostProcessBackend;
  let root: string;
  let echo: net.Server;
  let echoPort: number;
  let pod: HostPod;

  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'skt-str-'));
    s = await startSkiff({ extraArgs: [...API_ONLY_ARGS.slice(0, 1), `${API_ONLY_ARGS[1]},-node-lifecycle,-podgc`] });
    http = await KubeHttp.fromKubeconfig(s.kubeconfig);
    const ca = { cert: await readFile(join(s.dataDir, 'pki', 'ca.crt'), 'utf8'), key: await readFile(join(s.dataDir, 'pki', 'ca.key'), 'utf8') };
    const serving = await issueLeaf(ca, { commonName: `system:node:${NODE}`, organizations: ['system:nodes'], usage: 'server', ipAddresses: ['127.0.0.1'], validityDays: 1 });
    backend = new HostProcessBackend(join(root, 'pods'));
    agent = new StreamingServer({ backend, cert: serving.cert, key: serving.key, ca: ca.cert, port: 0, host: '127.0.0.1', logPollMs: 50 });
    const agentPort = await agent.listen();

    echo = net.createServer((c) => c.pipe(c));
    await new Promise<void>((r) => echo.listen(0, '127.0.0.1', () => r()));
    echoPort = (echo.address() as net.AddressInfo).port;

    await http.ok('POST', '/api/v1/nodes', { body: { apiVersion: 'v1', kind: 'Node', metadata: { name: NODE } } });
    await http.ok('PATCH', `/api/v1/nodes/${NODE}/status`, {
      body: { status: { addresses: [{ type: 'InternalIP', address: '127.0.0.1' }], daemonEndpoints: { kubeletEndpoint: { Port: agentPort } } } },
      headers: { 'Content-Type': 'application/merge-patch+json' },
    });
    await http.ok('POST', '/api/v1/namespaces', { body: { apiVersion: 'v1', kind: 'Namespace', metadata: { name: NS } } });
    const mkPod = async (name: string, containers: string[], nodeName?: string) => {
      await http.ok('POST', `/api/v1/namespaces/${NS}/pods`, {
        body: { apiVersion: 'v1', kind: 'Pod', metadata: { name }, spec: { nodeName, containers: containers.map((c) => ({ name: c, image: 'busybox' })) } },
      });
      if (nodeName) {
        await http.ok('PATCH', `/api/v1/namespaces/${NS}/pods/${name}/status`, {
          body: { status: { phase: 'Running', podIP: '127.0.0.1', conditions: [{ type: 'Ready', status: 'True' }] } },
          headers: { 'Content-Type': 'application/merge-patch+json' },
        });
      }
    };
    await mkPod('web', ['app'], NODE);
    await mkPod('two', ['a', 'b'], NODE);
    await mkPod('nonode', ['app']);
    pod = await backend.addPod(NS, 'web', ['app']);
    await backend.addPod(NS, 'two', ['a', 'b']);
    const app = pod.containers.get('app')!;
    await writeFile(
      app.logPath,
      Buffer.concat([
        formatRecord('2024-05-01T10:00:00.1Z', 'stdout', 'one'),
        formatRecord('2024-05-01T10:00:01.000000002Z', 'stderr', 'two'),
        formatRecord('2024-05-01T10:00:02Z', 'stdout', 'thr', true),
        formatRecord('2024-05-01T10:00:02.5Z', 'stdout', 'ee'),
      ]),
    );
    app.previousLogPath = join(root, 'previous.log');
    await writeFile(app.previousLogPath, formatRecord('2024-05-01T09:00:00Z', 'stdout', 'from the run before'));
  });

  after(async () => {
    await agent?.close();
    echo?.close();
    http?.close();
    await s?.stop();
    await rm(root, { recursive: true, force: true });
  });

  it('discovery lists the streaming subresources as upstream does', async () => {
    const list = await http.ok('GET', '/api/v1');
    const subs = Object.fromEntries(list.resources.filter((r: any) => /^pods\/(log|exec|attach|portforward)$/.test(r.name)).map((r: any) => [r.name, [r.kind, r.verbs.join(',')]]));
    assert.deepEqual(subs, {
      'pods/attach': ['PodAttachOptions', 'create,get'],
      'pods/exec': ['PodExecOptions', 'create,get'],
      'pods/log': ['Pod', 'get'],
      'pods/portforward': ['PodPortForwardOptions', 'create,get'],
    });
  });

  it('kubectl logs: plain, --tail, --timestamps, --previous', async () => {
    const plain = await run(s, ['logs', '-n', NS, 'web']);
    assert.equal(plain.code, 0, plain.stderr);
    assert.equal(plain.stdout, 'one\ntwo\nthree\n');
    const tail = await run(s, ['logs', '-n', NS, 'web', '--tail=2']);
    assert.equal(tail.stdout, 'two\nthree\n');
    const ts = await run(s, ['logs', '-n', NS, 'web', '--timestamps', '--tail=2']);
    assert.equal(ts.stdout, '2024-05-01T10:00:01.000000002Z two\n2024-05-01T10:00:02.000000000Z three\n');
    const prev = await run(s, ['logs', '-n', NS, 'web', '--previous']);
    assert.equal(prev.stdout, 'from the run before\n');
    const since = await run(s, ['logs', '-n', NS, 'web', '--since-time=2024-05-01T10:00:01Z']);
    assert.equal(since.stdout, 'two\nthree\n');
  });

  it('kubectl logs -f follows the file and ends when the container exits', async () => {
    const out = { text: '' };
    const p = spawn(findKubectl(), ['--kubeconfig', s.kubeconfig, 'logs', '-f', '-n', NS, 'web', '--tail=1'], { env: { ...process.env, HOME: s.dataDir } });
    p.stdout.on('data', (b: Buffer) => (out.text += b.toString()));
    p.stderr.on('data', (b: Buffer) => (out.text += b.toString()));
    const exited = new Promise<number | null>((r) => p.once('exit', (c) => r(c)));
    try {
      await waitForOutput(() => out.text, /three\n/, 'the tail');
      const app = pod.containers.get('app')!;
      await appendFile(app.logPath, formatRecord(new Date(), 'stdout', 'four'));
      await waitForOutput(() => out.text, /three\nfour\n/, 'the appended line');
      await appendFile(app.logPath, formatRecord(new Date(), 'stdout', 'last words'));
      app.exit();
      const code = await Promise.race([exited, new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), 15_000))]);
      assert.equal(code, 0, `kubectl logs -f should end when the container exits:\n${out.text}`);
      assert.equal(out.text, 'three\nfour\nlast words\n');
    } finally {
      p.kill();
    }
  });

  it('kubectl exec: streams and the exit code', async () => {
    const before = agent.stats.remoteCommand['v5.channel.k8s.io'] ?? 0;
    const r = await run(s, ['exec', '-n', NS, 'web', '--', 'sh', '-c', 'echo out; echo err >&2; exit 3']);
    assert.equal(r.code, 3, r.stderr);
    assert.equal(r.stdout, 'out\n');
    assert.match(r.stderr, /^err\n/);
    assert.equal(agent.stats.remoteCommand['v5.channel.k8s.io'], before + 1, 'kubectl spoke v5.channel.k8s.io');
    const ok = await run(s, ['exec', '-n', NS, 'web', '--', 'sh', '-c', 'pwd']);
    assert.equal(ok.code, 0, ok.stderr);
    assert.equal(ok.stdout.trim(), pod.containers.get('app')!.dir);
  });

  it('kubectl exec -i passes stdin through and ends it', async () => {
    const r = await run(s, ['exec', '-i', '-n', NS, 'web', '--', 'sh', '-c', "tr a-z A-Z; echo '[eof]'"], { input: 'hello\nworld\n' });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, 'HELLO\nWORLD\n[eof]\n');
  });

  it('kubectl exec -it runs in a terminal of the client size', async () => {
    const term = pty.spawn(findKubectl(), ['--kubeconfig', s.kubeconfig, 'exec', '-it', '-n', NS, 'web', '--', 'sh', '-c', 'stty size; tty; exit 5'], {
      cols: 91,
      rows: 37,
      env: { ...(process.env as Record<string, string>), HOME: s.dataDir },
    });
    let out = '';
    term.onData((d) => (out += d));
    const code = await new Promise<number>((resolve) => term.onExit(({ exitCode }) => resolve(exitCode)));
    assert.match(out, /37 91/, out);
    assert.match(out, /\/dev\/pts\/\d+/, out);
    assert.equal(code, 5, out);
  });

  for (const websockets of ['true', 'false']) {
    it(`kubectl port-forward to an echo server (KUBECTL_PORT_FORWARD_WEBSOCKETS=${websockets})`, async () => {
      const counter = websockets === 'true' ? 'portForwardSpdyTunnel' : 'portForwardSpdy';
      const before = agent.stats[counter];
      const p = spawn(findKubectl(), ['--kubeconfig', s.kubeconfig, 'port-forward', '-n', NS, 'pod/web', `:${echoPort}`], {
        env: { ...process.env, HOME: s.dataDir, KUBECTL_PORT_FORWARD_WEBSOCKETS: websockets },
      });
      let out = '';
      p.stdout.on('data', (b: Buffer) => (out += b.toString()));
      p.stderr.on('data', (b: Buffer) => (out += b.toString()));
      try {
        const m = await waitForOutput(() => out, /Forwarding from 127\.0\.0\.1:(\d+) ->/, 'the local port');
        const local = Number(m[1]);
        for (const msg of ['ping', 'a second connection']) {
          const reply = await new Promise<string>((resolve, reject) => {
            const c = net.connect(local, '127.0.0.1');
            let got = '';
            c.on('data', (b) => {
              got += b.toString();
              if (got.length >= msg.length) c.end();
            });
            c.on('close', () => resolve(got));
            c.on('error', reject);
            c.write(msg);
          });
          assert.equal(reply, msg, out);
        }
        assert.doesNotMatch(out, /error/i);
        assert.equal(agent.stats[counter], before + 1, `one ${counter} session`);
      } finally {
        p.kill();
      }
    });
  }

  it('kubectl 1.32 (websockets by default): exec -i and port-forward', { skip: !existsSync(KUBECTL_132) && `${KUBECTL_132} is not installed` }, async () => {
    const r = await run(s, ['exec', '-i', '-n', NS, 'web', '--', 'sh', '-c', 'cat; exit 7'], { input: 'via 1.32\n', bin: KUBECTL_132 });
    assert.equal(r.code, 7, r.stderr);
    assert.equal(r.stdout, 'via 1.32\n');
    const before = agent.stats.portForwardSpdyTunnel;
    const p = spawn(KUBECTL_132, ['--kubeconfig', s.kubeconfig, 'port-forward', '-n', NS, 'pod/web', `:${echoPort}`], { env: { ...process.env, HOME: s.dataDir } });
    let out = '';
    p.stdout.on('data', (b: Buffer) => (out += b.toString()));
    p.stderr.on('data', (b: Buffer) => (out += b.toString()));
    try {
      const m = await waitForOutput(() => out, /Forwarding from 127\.0\.0\.1:(\d+) ->/, 'the local port');
      const reply = await new Promise<string>((resolve, reject) => {
        const c = net.connect(Number(m[1]), '127.0.0.1');
        let got = '';
        c.on('data', (b) => {
          got += b.toString();
          if (got.length >= 4) c.end();
        });
        c.on('close', () => resolve(got));
        c.on('error', reject);
        c.write('1.32');
      });
      assert.equal(reply, '1.32');
      assert.equal(agent.stats.portForwardSpdyTunnel, before + 1, `kubectl 1.32 tunnels SPDY in a websocket by default:\n${out}`);
    } finally {
      p.kill();
    }
  });

  it('kubectl cp copies into the container and back out (tar over exec)', async () => {
    const dir = pod.containers.get('app')!.dir;
    await mkdir(join(dir, 'data'), { recursive: true });
    const local = join(root, 'local.txt');
    await writeFile(local, 'copied in\n'.repeat(1000));
    const up = await run(s, ['cp', local, `${NS}/web:data/in.txt`]);
    assert.equal(up.code, 0, up.stderr);
    assert.equal(await readFile(join(dir, 'data', 'in.txt'), 'utf8'), 'copied in\n'.repeat(1000));
    await writeFile(join(dir, 'data', 'out.txt'), 'copied out\n');
    const back = join(root, 'back.txt');
    const down = await run(s, ['cp', `${NS}/web:data/out.txt`, back]);
    assert.equal(down.code, 0, down.stderr);
    assert.equal(await readFile(back, 'utf8'), 'copied out\n');
  });

  it('a pod without a node, a wrong container, a pod with several: upstream messages', async () => {
    const nonode = await run(s, ['exec', '-n', NS, 'nonode', '--', 'true']);
    assert.notEqual(nonode.code, 0);
    assert.match(nonode.stderr, /pod nonode does not have a host assigned/);
    const wrong = await run(s, ['exec', '-n', NS, 'web', '-c', 'nope', '--', 'true']);
    assert.notEqual(wrong.code, 0);
    assert.match(wrong.stderr, /container nope is not valid for pod web/);
    const several = await http.request('GET', `/api/v1/namespaces/${NS}/pods/two/log`);
    assertStatus(several, 400, 'BadRequest');
    assert.equal(several.json.message, 'a container name must be specified for pod two, choose one of: [a b]');
    const missing = await http.request('GET', `/api/v1/namespaces/${NS}/pods/ghost/log`);
    assertStatus(missing, 404, 'NotFound');
    const bad = await http.request('GET', `/api/v1/namespaces/${NS}/pods/web/log?tailLines=-1`);
    assertStatus(bad, 422, 'Invalid');
    const empty = await http.request('GET', `/api/v1/namespaces/${NS}/pods/nonode/log`);
    assert.equal(empty.status, 200);
    assert.equal(empty.text, '');
  });
});
