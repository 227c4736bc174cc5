import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { appendFile, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { formatRecord, formatTimestamp, parseRecord, parseTimeNanos, readLog, readLogText, rotate } from './cri-log.js';

const dirs: string[] = [];
async function tmp(): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), 'skt-str-log-'));
  dirs.push(d);
  return d;
}
after(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

const LINES = [
  formatRecord('2024-05-01T10:00:00.1Z', 'stdout', 'one'),
  formatRecord('2024-05-01T10:00:01Z', 'stderr', 'two'),
  formatRecord('2024-05-01T10:00:02Z', 'stdout', 'thr', true),
  formatRecord('2024-05-01T10:00:02.5Z', 'stdout', 'ee'),
  formatRecord('2024-05-01T12:00:03+02:00', 'stdout', 'four'),
];

describe('CRI log files', () => {
  it('parses records and timestamps (offsets, nanoseconds)', () => {
    const r = parseRecord(Buffer.from('2024-05-01T10:00:00.000000001Z stdout P part'))!;
    assert.equal(r.stream, 'stdout');
    assert.equal(r.partial, true);
    assert.equal(r.text.toString(), 'part');
    assert.equal(parseTimeNanos('2024-05-01T12:00:00+02:00'), parseTimeNanos('2024-05-01T10:00:00Z'));
    assert.equal(parseTimeNanos('2024-05-01T10:00:00.000000001Z')! - parseTimeNanos('2024-05-01T10:00:00Z')!, 1n);
    assert.equal(parseRecord(Buffer.from('not a record')), undefined);
    assert.equal(formatTimestamp('2024-05-01T10:00:00.1Z'), '2024-05-01T10:00:00.100000000Z');
    assert.equal(formatTimestamp('2024-05-01T10:00:00+00:00'), '2024-05-01T10:00:00.000000000Z');
  });

  it('joins partial lines, tails, filters by time, prefixes timestamps, limits bytes', async () => {
    const d = await tmp();
    const path = join(d, '0.log');
    await writeFile(path, Buffer.concat(LINES));
    assert.equal(await readLogText(path), 'one\ntwo\nthree\nfour\n');
    assert.equal(await readLogText(path, { tailLines: 2 }), 'three\nfour\n');
    assert.equal(await readLogText(path, { tailLines: 0 }), '');
    assert.equal(await readLogText(path, { tailLines: 100 }), 'one\ntwo\nthree\nfour\n');
    assert.equal(await readLogText(path, { sinceNanos: parseTimeNanos('2024-05-01T10:00:01Z') }), 'two\nthree\nfour\n');
    assert.equal(await readLogText(path, { tailLines: 2, timestamps: true }), '2024-05-01T10:00:02.000000000Z three\n2024-05-01T12:00:03.000000000+02:00 four\n');
    assert.equal(await readLogText(path, { limitBytes: 6 }), 'one\ntw');
  });

  it('rotates by size, keeps maxFiles, and reads across the rotation', async () => {
    const d = await tmp();
    const path = join(d, '0.log');
    await writeFile(path, Buffer.concat(LINES.slice(0, 2)));
    assert.equal(await rotate(path, 1 << 20, 3), false, 'under the size: no rotation');
    const t = new Date('2024-05-01T10:00:00Z');
    assert.equal(await rotate(path, 10, 3, t), true);
    await writeFile(path, Buffer.concat(LINES.slice(2, 4)));
    assert.equal(await rotate(path, 10, 3, t), true, 'a second rotation in the same second gets its own name');
    await writeFile(path, LINES[4]);
    assert.deepEqual((await readdir(d)).sort(), ['0.log', '0.log.20240501-100000', '0.log.20240501-100000.1']);
    assert.equal(await readLogText(path), 'one\ntwo\nthree\nfour\n');
    assert.equal(await readLogText(path, { tailLines: 3 }), 'two\nthree\nfour\n');
    assert.equal(await rotate(path, 10, 2, new Date('2024-05-01T11:00:00Z')), true);
    assert.deepEqual((await readdir(d)).sort(), ['0.log.20240501-110000'], 'at most maxFiles files, the current one counted');
  });

  it('follows a growing file through a rotation and ends when the container exits', async () => {
    const d = await tmp();
    const path = join(d, '0.log');
    await writeFile(path, LINES[0]);
    let exit!: () => void;
    const until = new Promise<void>((r) => (exit = r));
    const out: string[] = [];
    const done = readLog(path, { follow: true, until, pollMs: 10 }, { write: (c) => void out.push(c.toString()) });
    const wait = async (text: string) => {
      for (let i = 0; i < 500 && out.join('') !== text; i++) await new Promise((r) => setTimeout(r, 10));
      assert.equal(out.join(''), text);
    };
    await wait('one\n');
    await appendFile(path, LINES[1]);
    await wait('one\ntwo\n');
    await appendFile(path, LINES[2]);
    assert.equal(await rotate(path, 1, 5), true);
    await writeFile(path, LINES[3]);
    await wait('one\ntwo\nthree\n');
    await appendFile(path, LINES[4]);
    exit();
    await done;
    assert.equal(out.join(''), 'one\ntwo\nthree\nfour\n', 'what was written before the exit is read');
  });

  it('a follow ends when the reader goes away', async () => {
    const d = await tmp();
    const path = join(d, '0.log');
    await writeFile(path, LINES[0]);
    const abort = new AbortController();
    const done = readLog(path, { follow: true, until: new Promise(() => undefined), signal: abort.signal, pollMs: 10 }, { write: () => undefined });
    abort.abort();
    await done;
  });
});
