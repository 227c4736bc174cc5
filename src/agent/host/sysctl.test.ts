// Forwarding switches are per network namespace: the test turns them off in a namespace of its own
// and lets enableForwarding turn them on there, leaving the host's alone.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { run, runOk } from './exec.js';

const SYSCTL = fileURLToPath(new URL('./sysctl.js', import.meta.url));

test('enableForwarding turns on what is off, says what it changed, and changes nothing the second time', async () => {
  if (process.getuid?.() !== 0) throw new Error('sysctl.test needs root (it creates a network namespace)');
  const ns = `skt-host-${randomBytes(3).toString('hex')}-s`;
  await runOk('ip', ['netns', 'add', ns]);
  try {
    const inNs = (cmd: string[]) => runOk('ip', ['netns', 'exec', ns, ...cmd]);
    await inNs(['sh', '-c', 'echo 0 > /proc/sys/net/ipv4/ip_forward']);
    const brnf = existsSync('/proc/sys/net/bridge/bridge-nf-call-iptables');
    if (brnf) await inNs(['sh', '-c', 'echo 0 > /proc/sys/net/bridge/bridge-nf-call-iptables']);
    const script = `import(${JSON.stringify(SYSCTL)}).then(async (m) => console.log(JSON.stringify(await m.enableForwarding())))`;
    const first = JSON.parse(await inNs([process.execPath, '-e', script]));
    assert.deepEqual(first, [
      { key: 'net.ipv4.ip_forward', from: '0', to: '1' },
      ...(brnf ? [{ key: 'net.bridge.bridge-nf-call-iptables', from: '0', to: '1' }] : []),
    ]);
    assert.equal((await inNs(['cat', '/proc/sys/net/ipv4/ip_forward'])).trim(), '1');
    assert.deepEqual(JSON.parse(await inNs([process.execPath, '-e', script])), []);
  } finally {
    await run('ip', ['netns', 'del', ns]);
  }
});
