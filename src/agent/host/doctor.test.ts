// The doctor on this host (which must be ready: the session moved hugetlb off the unified hierarchy),
// and its output and exit codes on hosts made up by the test.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runHostChecks, type HostCheck } from './checks.js';
import { doctorCommand, formatCheck } from './doctor.js';
import { HostNotReadyError, prepareHost } from './prepare.js';

const ID_PREFIX = `skt-host-${randomBytes(3).toString('hex')}`;
const MAIN = fileURLToPath(new URL('../../cli/main.js', import.meta.url));

const ok = (id: string, required = true): HostCheck => ({ id, name: id, ok: true, required, detail: `${id} fine` });

test('every check passes on this host, the real crun container included', async () => {
  if (process.getuid?.() !== 0) throw new Error('doctor.test needs root (the checks mount overlayfs and run crun)');
  const checks = await runHostChecks({ containerIdPrefix: ID_PREFIX });
  const failed = checks.filter((c) => !c.ok).map(formatCheck);
  assert.deepEqual(failed, [], 'run scripts/install-deps.sh, then skiff doctor --fix');
  assert.deepEqual(
    checks.map((c) => c.id),
    ['root', 'crun', 'conmon', 'cni-plugins', 'iptables', 'ip', 'nsenter', 'unshare', 'namespaces', 'overlayfs', 'cgroups', 'cgroup-controllers', 'ip-forward', 'bridge-nf-call-iptables', 'crun-run'],
  );
  assert.match(checks.find((c) => c.id === 'crun')!.detail, /^crun version \d+\.\d+/);
});

test('prepareHost on this ready host only creates the missing directories, and the second time nothing', async () => {
  const dir = await mkdtemp(join(tmpdir(), `${ID_PREFIX}-`));
  try {
    const directories = [join(dir, 'run', 'skiff'), join(dir, 'lib', 'skiff')];
    const logged: string[] = [];
    const first = await prepareHost({ directories, containerIdPrefix: ID_PREFIX, log: (m) => logged.push(m) });
    assert.deepEqual(first.actions, directories.map((d) => `created ${d}`));
    assert.deepEqual(logged, first.actions);
    assert.ok(first.checks.every((c) => c.ok));
    const second = await prepareHost({ directories, runContainer: false });
    assert.deepEqual(second.actions, []);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('prepareHost refuses, changing nothing, when a fix needs a human', async () => {
  const dir = await mkdtemp(join(tmpdir(), `${ID_PREFIX}-`));
  try {
    const runChecks = async () => [
      ok('root'),
      { id: 'conmon', name: 'conmon', ok: false, required: true, detail: 'conmon not found in PATH', fix: 'apt-get install conmon' },
      { id: 'cgroups', name: 'cgroups', ok: false, required: true, autoFix: true, detail: 'hugetlb still on the unified hierarchy' },
    ];
    const err = await prepareHost({ directories: [join(dir, 'x')], runChecks }).then(
      () => assert.fail('prepareHost went ahead without conmon'),
      (e: unknown) => e,
    );
    assert.ok(err instanceof HostNotReadyError);
    assert.deepEqual(err.failed.map((c) => c.id), ['conmon'], 'the auto-fixable cgroup problem is not the reason');
    assert.equal(err.message, 'this host cannot run pods until these are fixed:\n  ✗ conmon: conmon not found in PATH\n      fix: apt-get install conmon');
    assert.equal(existsSync(join(dir, 'x')), false);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('skiff doctor prints ✓ per check and exits 0 on this host', () => {
  const r = spawnSync(process.execPath, [MAIN, 'doctor'], { encoding: 'utf8', timeout: 60_000 });
  assert.equal(r.status, 0, r.stdout + r.stderr);
  const lines = r.stdout.trimEnd().split('\n');
  for (const name of ['privileges', 'crun', 'conmon', 'CNI plugins', 'iptables', 'namespaces', 'overlayfs', 'cgroups', 'cgroup controllers', 'ip forwarding', 'crun runs a container']) {
    assert.ok(lines.some((l) => l.startsWith(`✓ ${name}: `)), `a ✓ line for ${name} in:\n${r.stdout}`);
  }
  assert.ok(lines.some((l) => l.startsWith('✓ cgroups: hybrid (v1 controllers, cgroup2 at /sys/fs/cgroup/unified); no controller left')));
  assert.equal(lines.at(-1), 'this host can run pods');
  const bad = spawnSync(process.execPath, [MAIN, 'doctor', '--frobnicate'], { encoding: 'utf8' });
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /--frobnicate/);
});

test('a failing host: ✗ with the fix for required checks, ! for the others, exit code 1', async () => {
  let out = '';
  const runChecks = async () => [
    ok('root'),
    { id: 'crun', name: 'crun', ok: false, required: true, detail: 'crun not found in PATH', fix: 'apt-get install crun' },
    { id: 'ip-forward', name: 'ip forwarding', ok: false, required: false, autoFix: true, detail: 'net.ipv4.ip_forward = 0', fix: 'sysctl -w net.ipv4.ip_forward=1' },
  ];
  const code = await doctorCommand(['--no-container'], { write: (s) => (out += s), runChecks });
  assert.equal(code, 1);
  assert.equal(
    out,
    '✓ root: root fine\n✗ crun: crun not found in PATH\n    fix: apt-get install crun\n! ip forwarding: net.ipv4.ip_forward = 0\n    fix: sysctl -w net.ipv4.ip_forward=1\n\nthis host cannot run pods: 1 check(s) failed\n',
  );
  // only optional checks failing: still runnable
  out = '';
  assert.equal(await doctorCommand([], { write: (s) => (out += s), runChecks: async () => [ok('root'), { ...ok('overlayfs', false), ok: false }] }), 0);
  assert.match(out, /^! overlayfs/m);
});

test('skiff doctor --fix prints what it changed, or the checks when it cannot fix them', async () => {
  let out = '';
  const prepare: typeof prepareHost = async (opts) => {
    opts?.log?.('moved cgroup controller hugetlb from the unified hierarchy to /sys/fs/cgroup/hugetlb so crun can run containers');
    return { actions: ['moved…'], checks: [ok('cgroups')] };
  };
  assert.equal(await doctorCommand(['--fix'], { write: (s) => (out += s), prepare }), 0);
  assert.equal(out, 'fixed: moved cgroup controller hugetlb from the unified hierarchy to /sys/fs/cgroup/hugetlb so crun can run containers\n✓ cgroups: cgroups fine\n\nthis host can run pods\n');

  out = '';
  const missing: HostCheck = { id: 'conmon', name: 'conmon', ok: false, required: true, detail: 'conmon not found in PATH', fix: 'apt-get install conmon' };
  const refuse: typeof prepareHost = async () => {
    throw new HostNotReadyError([missing]);
  };
  assert.equal(await doctorCommand(['--fix'], { write: (s) => (out += s), prepare: refuse, runChecks: async () => [missing] }), 1);
  assert.match(out, /^✗ conmon: conmon not found in PATH\n {4}fix: apt-get install conmon\n/);
});
