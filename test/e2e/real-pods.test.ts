/**
 * Real pods, end to end: one `skiff up` (sqlite) with its in-process node agent running containers
 * with crun under conmon, CNI networking and images from a local registry, driven by the real
 * kubectl. What a user of a one-machine cluster does: run a pod and read its logs, a shell through
 * `exec -it`, a Deployment serving HTTP to another pod, crash loops, probes, OOM kills, a Job,
 * ConfigMap volumes and env, `kubectl cp`, graceful deletion with preStop, private images, and a
 * restart of skiff that leaves running pods alone.
 *
 * Needs root, crun, conmon, the CNI plugins, docker-registry, skopeo and umoci (see `skiff doctor`).
 * Everything it makes on the host carries this run's names (bridge, cgroup root, run dir, cluster
 * CIDR) and is removed afterwards, even when a test fails.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes, randomInt } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, rmdirSync, statSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import pty from 'node-pty';
import { findKubectl, kubectl, kubectlOk, startSkiff, type SkiffProcess } from '../harness/skiff.js';
import { buildBusyboxImage, startRegistry, type TestRegistry } from '../harness/registry.js';
import { poll } from './kubectl-helpers.js';

const execFileAsync = promisify(execFile);

const NS = 'real';
const RUN = randomBytes(2).toString('hex');
const OCTET = randomInt(150, 200);
const CLUSTER_CIDR = `10.${OCTET}.0.0/16`;
const BRIDGE = `skt-e2e${RUN}`;
const CGROUP_ROOT = `skiff-e2e-${RUN}`;
const RUN_DIR = `/run/skiff-e2e-${RUN}`;
const NODE = `skt-e2e-${RUN}`;
/** Pods wait on image pulls, sandboxes and back-offs on a busy two-core machine. */
const POD_WAIT_MS = 90_000;

const json = (o: unknown) => JSON.stringify(o);

function requireHost(): void {
  if (process.getuid?.() !== 0) throw new Error('real-pods e2e needs root (crun, CNI, cgroups): run it as root');
  const missing = ['/usr/bin/crun', '/usr/bin/conmon', '/usr/lib/cni/bridge', '/usr/sbin/iptables'].filter((p) => !existsSync(p));
  if (missing.length) throw new Error(`missing ${missing.join(', ')}: apt-get install crun conmon containernetworking-plugins iptables`);
}

describe('real pods through skiff up and kubectl', () => {
  let s: SkiffProcess;
  let registry: TestRegistry;
  let privateRegistry: TestRegistry;
  let tmp: string;
  let image: string;
  let privateImage: string;

  const k = (...args: string[]) => kubectlOk(s, args);
  const kIn = (input: string, ...args: string[]) => kubectlOk(s, args, input);
  const getJson = async (...args: string[]) => JSON.parse(await k('get', ...args, '-o', 'json'));
  const pod = (name: string) => getJson('pod', name, '-n', NS);
  const apply = (o: unknown) => kIn(json(o), 'apply', '-f', '-');
  const podManifest = (name: string, spec: Record<string, unknown>) => ({ apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace: NS }, spec });
  const waitPod = <T>(name: string, what: string, probe: (p: any) => T | undefined | false, ms = POD_WAIT_MS) =>
    poll(`pod ${name}: ${what}`, async () => probe(await pod(name)), ms).catch(async (err) => {
      throw new Error(`${(err as Error).message}\n${await describePod(name)}`);
    });
  const describePod = async (name: string) => (await kubectl(s, ['describe', 'pod', name, '-n', NS])).stdout + (await kubectl(s, ['get', 'pod', name, '-n', NS, '-o', 'yaml'])).stdout;
  const running = (name: string) => waitPod(name, 'Running', (p) => p.status?.phase === 'Running' && p.status.containerStatuses?.every((c: any) => c.state?.running) && p);
  const finished = (name: string, phase: 'Succeeded' | 'Failed' = 'Succeeded') => waitPod(name, phase, (p) => p.status?.phase === phase && p);
  const sleeper = (name: string, extra: Record<string, unknown> = {}) => apply(podManifest(name, { containers: [{ name: 'c', image, command: ['sleep', '3600'] }], terminationGracePeriodSeconds: 1, ...extra }));
  const events = async (name: string) => (await getJson('events', '-n', NS, '--field-selector', `involvedObject.name=${name}`)).items as any[];

  before(async () => {
    requireHost();
    tmp = await mkdtemp(join(tmpdir(), `skt-e2e-${RUN}-`));
    [registry, privateRegistry] = await Promise.all([startRegistry(), startRegistry({ auth: 'token' })]);
    const [pub, priv] = await Promise.all([
      buildBusyboxImage(registry.host, 'e2e/busybox', '1'),
      buildBusyboxImage(privateRegistry.host, 'private/busybox', '1', { creds: `${privateRegistry.tokenUser}:${privateRegistry.tokenPassword}` }),
    ]);
    image = pub.reference;
    privateImage = priv.reference;
    s = await startSkiff({
      backend: 'sqlite',
      realAgent: true,
      extraArgs: [
        '--node-name', NODE,
        '--root-dir', join(tmp, 'agent'),
        '--run-dir', RUN_DIR,
        '--cni-bridge', BRIDGE,
        '--cgroup-root', CGROUP_ROOT,
        '--kubelet-port', '0',
        '--cluster-cidr', CLUSTER_CIDR,
      ],
    });
    await poll('the node to be Ready', async () => {
      const n = await getJson('node', NODE);
      return n.status?.conditions?.some((c: any) => c.type === 'Ready' && c.status === 'True');
    });
    await k('create', 'namespace', NS);
    await poll('the default service account', async () => (await kubectl(s, ['get', 'serviceaccount', 'default', '-n', NS])).code === 0);
  });

  after(async () => {
    try {
      if (s) {
        // Pods deleted while the agent runs are torn down properly (CNI DEL, cgroups, mounts).
        await kubectl(s, ['delete', 'namespace', NS, '--wait=false']);
        await poll('the test pods to go', async () => (await getJson('pods', '-A')).items.length === 0, 60_000).catch((err) => console.error(String(err)));
        await s.stop();
      }
    } finally {
      await Promise.all([registry?.stop(), privateRegistry?.stop()]);
      await cleanUpHost(tmp);
    }
  });

  describe('independent workloads', { concurrency: true }, () => {
    it('kubectl run starts a pod whose logs kubectl reads', async () => {
      await k('run', 'hello', '-n', NS, `--image=${image}`, '--restart=Never', '--', 'sh', '-c', 'echo hello; echo from $(hostname)');
      const p = await finished('hello');
      assert.equal(p.status.containerStatuses[0].state.terminated.reason, 'Completed');
      assert.equal(p.status.containerStatuses[0].state.terminated.exitCode, 0);
      assert.match(p.status.containerStatuses[0].containerID, /^crun:\/\/[0-9a-f]+/);
      assert.equal(await k('logs', 'hello', '-n', NS), 'hello\nfrom hello\n');
    });

    it('kubectl exec -it runs an interactive shell in a terminal', async () => {
      await sleeper('shell');
      await running('shell');
      const term = pty.spawn(findKubectl(), ['--kubeconfig', s.kubeconfig, 'exec', '-it', '-n', NS, 'shell', '--', 'sh'], {
        cols: 100,
        rows: 30,
        env: { ...(process.env as Record<string, string>), HOME: s.dataDir },
      });
      let out = '';
      term.onData((d) => (out += d));
      const exited = new Promise<number>((resolve) => term.onExit(({ exitCode }) => resolve(exitCode)));
      const waitOut = (re: RegExp, what: string) => poll(`${what} in the terminal`, async () => re.test(out), 30_000).catch((err) => {
        throw new Error(`${(err as Error).message}:\n${out}`);
      });
      // (busybox's line editor asks the terminal where its cursor is right after the prompt)
      await waitOut(/\/ # /, 'the shell prompt');
      term.write('cd /tmp && echo made > f && cat f && echo sum=$((6*7))\r');
      await waitOut(/sum=42/, 'the command output');
      term.write('tty; stty size\r');
      await waitOut(/\/dev\/pts\/\d+\s+30 100/, 'the terminal and its size');
      term.write('exit 3\r');
      assert.equal(await exited, 3, out);
      assert.match(out, /\r\nmade\r\n/);
      // The shell leads a session on a terminal of the container's own: it has job control.
      assert.doesNotMatch(out, /can't access tty/);
      assert.equal(await k('exec', 'shell', '-n', NS, '--', 'cat', '/tmp/f'), 'made\n');
    });

    it('a Deployment serves HTTP on its pods’ IPs, reached from another pod', async () => {
      await apply({
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        metadata: { name: 'web', namespace: NS },
        spec: {
          replicas: 2,
          selector: { matchLabels: { app: 'web' } },
          template: {
            metadata: { labels: { app: 'web' } },
            spec: {
              terminationGracePeriodSeconds: 1,
              containers: [
                {
                  name: 'httpd',
                  image,
                  command: ['httpd', '-f', '-p', '8080', '-h', '/var/www'],
                  ports: [{ containerPort: 8080 }],
                  readinessProbe: { httpGet: { path: '/index.html', port: 8080 }, periodSeconds: 1 },
                },
              ],
            },
          },
        },
      });
      await sleeper('client');
      assert.match(await k('rollout', 'status', 'deployment/web', '-n', NS, '--timeout=90s'), /successfully rolled out/);
      await running('client');
      const pods = (await getJson('pods', '-n', NS, '-l', 'app=web')).items as any[];
      assert.equal(pods.length, 2);
      const ips = pods.map((p) => p.status.podIP as string);
      assert.equal(new Set(ips).size, 2, `distinct pod IPs: ${ips}`);
      for (const ip of ips) {
        assert.ok(ip.startsWith(`10.${OCTET}.`), `${ip} is in the cluster CIDR ${CLUSTER_CIDR}`);
        assert.equal(await k('exec', 'client', '-n', NS, '--', 'wget', '-qO-', `http://${ip}:8080/`), 'hello from skiff\n');
      }
    });

    it('a crashing container goes to CrashLoopBackOff with growing back-off', async () => {
      await apply(podManifest('crash', { containers: [{ name: 'crash', image, command: ['sh', '-c', 'echo crashing; exit 3'] }] }));
      const messages: string[] = [];
      const p = await waitPod('crash', 'two restarts and a 20s back-off', (p) => {
        const c = p.status?.containerStatuses?.[0];
        const m = c?.state?.waiting?.reason === 'CrashLoopBackOff' ? String(c.state.waiting.message) : undefined;
        if (m && messages[messages.length - 1] !== m) messages.push(m);
        return c?.restartCount >= 2 && /^back-off 20s /.test(m ?? '') && p;
      });
      const c = p.status.containerStatuses[0];
      const uid = p.metadata.uid;
      assert.deepEqual(
        messages.map((m) => m.replace(/^back-off (\d+s) .*/, '$1')),
        ['10s', '20s'],
        `the back-off doubles: ${messages.join(' | ')}`,
      );
      assert.equal(messages[1], `back-off 20s restarting failed container=crash pod=crash_${NS}(${uid})`);
      assert.equal(c.restartCount, 2);
      assert.equal(c.ready, false);
      assert.equal(c.lastState.terminated.exitCode, 3);
      assert.equal(c.lastState.terminated.reason, 'Error');
      assert.equal(p.status.phase, 'Running');
      assert.equal(await k('logs', 'crash', '-n', NS, '--previous'), 'crashing\n');
      const backOff = (await events('crash')).filter((e) => e.reason === 'BackOff');
      assert.ok(backOff.length >= 1, 'a BackOff event');
      assert.equal(backOff[0].message, `Back-off restarting failed container crash in pod crash_${NS}(${uid})`);
      assert.equal(backOff[0].type, 'Warning');
    });

    it('a failing liveness probe restarts the container', async () => {
      await apply(
        podManifest('live', {
          terminationGracePeriodSeconds: 1,
          containers: [
            {
              name: 'c',
              image,
              command: ['sh', '-c', 'touch /tmp/healthy; sleep 3; rm /tmp/healthy; sleep 3600'],
              livenessProbe: { exec: { command: ['cat', '/tmp/healthy'] }, periodSeconds: 1, failureThreshold: 1 },
            },
          ],
        }),
      );
      const p = await waitPod('live', 'restarted and running again', (p) => {
        const c = p.status?.containerStatuses?.[0];
        return c?.restartCount >= 1 && c.state?.running && p;
      });
      const c = p.status.containerStatuses[0];
      // sh as PID 1 ignores SIGTERM: the kill comes after the grace period.
      assert.equal(c.lastState.terminated.exitCode, 137);
      assert.equal(c.lastState.terminated.reason, 'Error');
      const evs = await events('live');
      assert.ok(evs.some((e) => e.reason === 'Unhealthy' && /^Liveness probe failed: /.test(e.message)), json(evs.map((e) => [e.reason, e.message])));
      assert.ok(evs.some((e) => e.reason === 'Killing' && e.message === 'Container c failed liveness probe, will be restarted'), json(evs.map((e) => [e.reason, e.message])));
    });

    it('a container over its memory limit is OOMKilled', async () => {
      await apply(
        podManifest('hog', {
          restartPolicy: 'Never',
          containers: [
            {
              name: 'hog',
              image,
              // The string doubles until the shell cannot hold it within 32Mi.
              command: ['sh', '-c', 'x=a; while true; do x=$x$x; done'],
              resources: { limits: { memory: '32Mi' } },
            },
          ],
        }),
      );
      const p = await finished('hog', 'Failed');
      const t = p.status.containerStatuses[0].state.terminated;
      assert.equal(t.reason, 'OOMKilled');
      assert.equal(t.exitCode, 137);
    });

    it('a Job of 20 pods, 10 at a time, completes', async () => {
      await apply({
        apiVersion: 'batch/v1',
        kind: 'Job',
        metadata: { name: 'many', namespace: NS },
        spec: {
          completions: 20,
          parallelism: 10,
          backoffLimit: 0,
          template: { spec: { restartPolicy: 'Never', terminationGracePeriodSeconds: 1, containers: [{ name: 'c', image, command: ['echo', 'ok'] }] } },
        },
      });
      const job = await poll(
        'job many to complete',
        async () => {
          const j = await getJson('job', 'many', '-n', NS);
          return j.status?.conditions?.some((c: any) => c.type === 'Complete' && c.status === 'True') && j;
        },
        150_000,
      );
      assert.equal(job.status.succeeded, 20);
      assert.equal(job.status.failed ?? 0, 0);
      const pods = (await getJson('pods', '-n', NS, '-l', 'job-name=many')).items as any[];
      assert.equal(pods.filter((p) => p.status.phase === 'Succeeded').length, 20);
      assert.equal(await k('logs', pods[0].metadata.name, '-n', NS), 'ok\n');
    });

    it('a configMap volume follows changes to its ConfigMap', async () => {
      const cm = (greeting: string) => ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'live-config', namespace: NS }, data: { greeting } });
      await apply(cm('hello'));
      await sleeper('cm-reader', {
        containers: [{ name: 'c', image, command: ['sleep', '3600'], volumeMounts: [{ name: 'cfg', mountPath: '/etc/cfg' }] }],
        volumes: [{ name: 'cfg', configMap: { name: 'live-config' } }],
      });
      await running('cm-reader');
      assert.equal(await k('exec', 'cm-reader', '-n', NS, '--', 'cat', '/etc/cfg/greeting'), 'hello');
      await apply(cm('bonjour'));
      await poll('the new greeting in the container', async () => (await k('exec', 'cm-reader', '-n', NS, '--', 'cat', '/etc/cfg/greeting')) === 'bonjour', 30_000);
    });

    it("a pod's projected token authenticates as its ServiceAccount, and not once the ServiceAccount is gone", async () => {
      await k('create', 'serviceaccount', 'reader', '-n', NS);
      await sleeper('token-reader', { serviceAccountName: 'reader' });
      await running('token-reader');
      const dir = '/var/run/secrets/kubernetes.io/serviceaccount';
      const token = await k('exec', 'token-reader', '-n', NS, '--', 'cat', `${dir}/token`);
      assert.equal(await k('exec', 'token-reader', '-n', NS, '--', 'cat', `${dir}/namespace`), NS);
      assert.match(await k('exec', 'token-reader', '-n', NS, '--', 'cat', `${dir}/ca.crt`), /BEGIN CERTIFICATE/);
      // kubectl with nothing but the server, the CA and the pod's token, as a client in the pod would be.
      const asPod = (...args: string[]) =>
        kubectl(s, ['--kubeconfig', '/dev/null', '--server', s.url, '--certificate-authority', join(s.dataDir, 'pki', 'ca.crt'), '--token', token, ...args]);
      const who = await asPod('auth', 'whoami', '-o', 'jsonpath={.status.userInfo.username}');
      assert.equal(who.code, 0, who.stderr);
      assert.equal(who.stdout, `system:serviceaccount:${NS}:reader`);
      await k('delete', 'serviceaccount', 'reader', '-n', NS);
      const refused = await asPod('auth', 'whoami');
      assert.notEqual(refused.code, 0);
      assert.match(refused.stderr, /Unauthorized/);
    });

    it('kubectl cp copies into and out of a container', async () => {
      // kubectl cp runs tar in the container; the test image has busybox's tar applet only as a link made here.
      await apply(podManifest('cpbox', { terminationGracePeriodSeconds: 1, containers: [{ name: 'c', image, command: ['sh', '-c', 'ln -s busybox /bin/tar && sleep 3600'] }] }));
      await running('cpbox');
      await poll('tar in the container', async () => (await kubectl(s, ['exec', 'cpbox', '-n', NS, '--', 'test', '-e', '/bin/tar'])).code === 0, 10_000);
      const local = join(tmp, 'cp');
      await mkdir(join(local, 'dir', 'sub'), { recursive: true });
      await writeFile(join(local, 'dir', 'a.txt'), 'file a\n');
      await writeFile(join(local, 'dir', 'sub', 'b.txt'), 'file b\n');
      await k('cp', join(local, 'dir', 'a.txt'), `${NS}/cpbox:/tmp/a.txt`);
      assert.equal(await k('exec', 'cpbox', '-n', NS, '--', 'cat', '/tmp/a.txt'), 'file a\n');
      await k('cp', join(local, 'dir'), `${NS}/cpbox:/tmp/dir`);
      assert.equal(await k('exec', 'cpbox', '-n', NS, '--', 'cat', '/tmp/dir/sub/b.txt'), 'file b\n');
      await k('cp', `${NS}/cpbox:/etc/owned`, join(local, 'owned'));
      assert.equal(await readFile(join(local, 'owned'), 'utf8'), 'owned by 1234:5678\n');
      await k('cp', `${NS}/cpbox:/tmp/dir`, join(local, 'back'));
      assert.equal(await readFile(join(local, 'back', 'sub', 'b.txt'), 'utf8'), 'file b\n');
    });

    it('deleting a pod runs preStop, then SIGTERM, and SIGKILL only once the grace period is over', async () => {
      const hooks = join(tmp, 'hooks');
      await mkdir(hooks, { recursive: true });
      const hookPod = (name: string, grace: number, onTerm: string) =>
        podManifest(name, {
          terminationGracePeriodSeconds: grace,
          volumes: [{ name: 'hook', hostPath: { path: hooks, type: 'Directory' } }],
          containers: [
            {
              name: 'c',
              image,
              command: ['sh', '-c', `trap '${onTerm}' TERM; echo started >> /hook/${name}; while true; do sleep 1; done`],
              volumeMounts: [{ name: 'hook', mountPath: '/hook' }],
              lifecycle: { preStop: { exec: { command: ['sh', '-c', `echo prestop >> /hook/${name}`] } } },
            },
          ],
        });
      // One finishes its TERM handler within the grace period, the other would outlive it.
      await apply(hookPod('graceful', 20, 'echo term >> /hook/graceful; sleep 2; echo bye >> /hook/graceful; exit 0'));
      await apply(hookPod('stubborn', 2, 'echo term >> /hook/stubborn; sleep 60; echo late >> /hook/stubborn; exit 0'));
      for (const name of ['graceful', 'stubborn']) {
        await running(name);
        await poll(`${name} to start`, async () => (await readFile(join(hooks, name), 'utf8').catch(() => '')) === 'started\n', 30_000);
      }
      await Promise.all(['graceful', 'stubborn'].map((name) => k('delete', 'pod', name, '-n', NS, '--timeout=60s')));
      assert.equal(await readFile(join(hooks, 'graceful'), 'utf8'), 'started\nprestop\nterm\nbye\n');
      assert.equal(await readFile(join(hooks, 'stubborn'), 'utf8'), 'started\nprestop\nterm\n');
      const killing = (await events('graceful')).filter((e) => e.reason === 'Killing');
      assert.deepEqual(killing.map((e) => e.message), ['Stopping container c']);
    });

    it('a private image pulls with imagePullSecrets, and without them the pod backs off', async () => {
      const [host] = privateImage.split('/');
      await k(
        'create', 'secret', 'docker-registry', 'regcred', '-n', NS,
        `--docker-server=${host}`, `--docker-username=${privateRegistry.tokenUser}`, `--docker-password=${privateRegistry.tokenPassword}`,
      );
      // Always: with IfNotPresent a pod may use an image another pod's secret brought to the node, upstream too.
      const spec = (secrets: boolean) => ({
        restartPolicy: 'Never',
        ...(secrets ? { imagePullSecrets: [{ name: 'regcred' }] } : {}),
        containers: [{ name: 'c', image: privateImage, imagePullPolicy: 'Always', command: ['echo', 'private'] }],
      });
      await apply(podManifest('private', spec(true)));
      await apply(podManifest('private-nosecret', spec(false)));
      await finished('private');
      assert.equal(await k('logs', 'private', '-n', NS), 'private\n');
      assert.ok(privateRegistry.tokenRequests!.some((r) => r.user === privateRegistry.tokenUser), 'pulled with the secret’s account');
      const reasons = new Set<string>();
      const p = await waitPod('private-nosecret', 'ImagePullBackOff', (p) => {
        const w = p.status?.containerStatuses?.[0]?.state?.waiting;
        if (w?.reason) reasons.add(w.reason);
        return w?.reason === 'ImagePullBackOff' && p;
      });
      assert.equal(p.status.phase, 'Pending');
      assert.equal(p.status.containerStatuses[0].image, privateImage);
      const evs = await events('private-nosecret');
      assert.ok(evs.some((e) => e.reason === 'Failed' && e.message === 'Error: ErrImagePull'), json(evs.map((e) => [e.reason, e.message])));
      assert.ok(evs.some((e) => e.reason === 'Failed' && e.message.startsWith(`Failed to pull image "${privateImage}": `)), json(evs.map((e) => [e.reason, e.message])));
    });

    it('init containers run in order before the containers', async () => {
      const step = (name: string) => ({ name, image, command: ['sh', '-c', `echo ${name} >> /work/order`], volumeMounts: [{ name: 'work', mountPath: '/work' }] });
      await apply(
        podManifest('inits', {
          restartPolicy: 'Never',
          volumes: [{ name: 'work', emptyDir: {} }],
          initContainers: [step('first'), step('second')],
          containers: [{ name: 'main', image, command: ['cat', '/work/order'], volumeMounts: [{ name: 'work', mountPath: '/work' }] }],
        }),
      );
      const p = await finished('inits');
      assert.equal(await k('logs', 'inits', '-n', NS, '-c', 'main'), 'first\nsecond\n');
      assert.equal(p.status.conditions.find((c: any) => c.type === 'Initialized')?.status, 'True');
      assert.deepEqual(
        p.status.initContainerStatuses.map((c: any) => [c.name, c.state.terminated?.reason, c.state.terminated?.exitCode]),
        [['first', 'Completed', 0], ['second', 'Completed', 0]],
      );
      // A container that ends at once still reports when it started (upstream always sets it).
      const [a, b] = p.status.initContainerStatuses.map((c: any) => c.state.terminated);
      assert.ok(Date.parse(b.startedAt) >= Date.parse(a.finishedAt), `second started after first finished: ${json([a, b])}`);
    });

    it('a readiness probe drives the Ready condition both ways', async () => {
      await sleeper('ready', {
        containers: [{ name: 'c', image, command: ['sleep', '3600'], readinessProbe: { exec: { command: ['cat', '/tmp/ready'] }, periodSeconds: 1 } }],
      });
      const readyIs = (want: string) =>
        waitPod('ready', `Ready=${want}`, (p) => p.status?.phase === 'Running' && p.status.conditions?.find((c: any) => c.type === 'Ready')?.status === want && p);
      const p = await readyIs('False');
      assert.equal(p.status.containerStatuses[0].ready, false);
      assert.ok(p.status.containerStatuses[0].state.running);
      await k('exec', 'ready', '-n', NS, '--', 'touch', '/tmp/ready');
      assert.equal((await readyIs('True')).status.containerStatuses[0].ready, true);
      await k('exec', 'ready', '-n', NS, '--', 'rm', '/tmp/ready');
      assert.equal((await readyIs('False')).status.containerStatuses[0].ready, false);
    });

    it('env comes from a ConfigMap key; a missing key is CreateContainerConfigError', async () => {
      await apply({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'settings', namespace: NS }, data: { color: 'blue' } });
      const envPod = (name: string, key: string) =>
        podManifest(name, {
          restartPolicy: 'Never',
          containers: [{ name: 'c', image, command: ['sh', '-c', 'echo color=$COLOR'], env: [{ name: 'COLOR', valueFrom: { configMapKeyRef: { name: 'settings', key } } }] }],
        });
      await apply(envPod('env-ok', 'color'));
      await apply(envPod('env-missing', 'shade'));
      await finished('env-ok');
      assert.equal(await k('logs', 'env-ok', '-n', NS), 'color=blue\n');
      const p = await waitPod('env-missing', 'CreateContainerConfigError', (p) => p.status?.containerStatuses?.[0]?.state?.waiting?.reason === 'CreateContainerConfigError' && p);
      assert.equal(p.status.containerStatuses[0].state.waiting.message, `couldn't find key shade in ConfigMap ${NS}/settings`);
      assert.equal(p.status.phase, 'Pending');
    });
  });

  describe('skiff restarts', () => {
    it('a restarted skiff keeps running pods: same container, restart count, IP, and exec still works', async () => {
      await sleeper('survivor');
      const before = (await running('survivor')).status;
      const c0 = before.containerStatuses[0];
      await s.restart();
      await poll('the node to be Ready again', async () => {
        const n = await getJson('node', NODE);
        return n.status?.conditions?.some((c: any) => c.type === 'Ready' && c.status === 'True');
      });
      const out = await poll('exec in the survivor', async () => {
        const r = await kubectl(s, ['exec', 'survivor', '-n', NS, '--', 'echo', 'still here']);
        return r.code === 0 && r.stdout;
      });
      assert.equal(out, 'still here\n');
      const after = (await pod('survivor')).status;
      const c1 = after.containerStatuses[0];
      assert.equal(c1.containerID, c0.containerID);
      assert.equal(c1.restartCount, 0);
      assert.deepEqual(c1.state, c0.state);
      assert.equal(after.podIP, before.podIP);
      assert.equal(after.phase, 'Running');
    });
  });
});

/** Removes what this run's agent left on the host: containers, mounts, masquerade rules, the bridge, cgroups, directories. */
async function cleanUpHost(tmp: string | undefined): Promise<void> {
  const run = (cmd: string, args: string[]) => execFileAsync(cmd, args).then((r) => r.stdout, () => '');
  const crunRoot = join(RUN_DIR, 'crun');
  if (existsSync(crunRoot)) {
    for (const line of (await run('crun', [`--root=${crunRoot}`, 'list', '-q'])).split('\n').filter(Boolean)) {
      await run('crun', [`--root=${crunRoot}`, 'kill', '-a', line, 'KILL']);
      await run('crun', [`--root=${crunRoot}`, 'delete', '-f', line]);
    }
  }
  // conmon outlives skiff by design; ours name our run dir on their command line.
  for (const pid of readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    let cmdline = '';
    try {
      cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    } catch {
      continue;
    }
    if (cmdline.startsWith('/usr/bin/conmon') && cmdline.includes(RUN_DIR)) {
      try {
        process.kill(Number(pid), 'SIGKILL');
      } catch {
        /* gone already */
      }
    }
  }
  const roots = [RUN_DIR, ...(tmp ? [tmp] : [])];
  const mounts = readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .map((l) => l.split(' ')[4]?.replace(/\\040/g, ' '))
    .filter((m): m is string => !!m && roots.some((r) => m === r || m.startsWith(`${r}/`)))
    .reverse();
  for (const m of mounts) await run('umount', ['-l', m]);
  const nat = await run('iptables', ['-w', '-t', 'nat', '-S', 'POSTROUTING']);
  for (const line of nat.split('\n')) {
    if (!line.startsWith('-A POSTROUTING ') || !line.includes(` 10.${OCTET}.`)) continue;
    const words = line.match(/"[^"]*"|\S+/g)!.map((w) => w.replace(/^"|"$/g, ''));
    await run('iptables', ['-w', '-t', 'nat', '-D', ...words.slice(1)]);
    const target = words[words.indexOf('-j') + 1];
    if (target?.startsWith('CNI-')) {
      await run('iptables', ['-w', '-t', 'nat', '-F', target]);
      await run('iptables', ['-w', '-t', 'nat', '-X', target]);
    }
  }
  await run('ip', ['link', 'del', BRIDGE]);
  for (const h of readdirSync('/sys/fs/cgroup')) removeCgroupTree(join('/sys/fs/cgroup', h, CGROUP_ROOT));
  await rm(RUN_DIR, { recursive: true, force: true }).catch(() => undefined);
  if (tmp) await rm(tmp, { recursive: true, force: true }).catch(() => undefined);
}

function removeCgroupTree(dir: string): void {
  try {
    if (!statSync(dir).isDirectory()) return;
  } catch {
    return;
  }
  for (const e of readdirSync(dir, { withFileTypes: true })) if (e.isDirectory()) removeCgroupTree(join(dir, e.name));
  try {
    rmdirSync(dir);
  } catch {
    /* still has a process: nothing more to do from here */
  }
}
