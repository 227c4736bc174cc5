/**
 * The few host mounts volumes need: tmpfs for memory-backed emptyDirs, secrets, downwardAPI and
 * projected volumes (so that their contents never touch the disk), found again through
 * /proc/self/mountinfo after an agent restart.
 */
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** mountinfo escapes space, tab, newline and backslash as octal. */
function unescapeMountPath(s: string): string {
  return s.replace(/\\([0-7]{3})/g, (_m, o: string) => String.fromCharCode(parseInt(o, 8)));
}

/** Mount points of this mount namespace, with their filesystem type. */
export async function listMounts(): Promise<{ mountPoint: string; fsType: string }[]> {
  const text = await readFile('/proc/self/mountinfo', 'utf8');
  const out: { mountPoint: string; fsType: string }[] = [];
  for (const line of text.split('\n')) {
    if (!line) continue;
    const f = line.split(' ');
    const sep = f.indexOf('-');
    if (f.length < 5 || sep < 0) continue;
    out.push({ mountPoint: unescapeMountPath(f[4]), fsType: f[sep + 1] ?? '' });
  }
  return out;
}

export async function isMountPoint(path: string): Promise<boolean> {
  return (await listMounts()).some((m) => m.mountPoint === path);
}

/** Mounts a tmpfs at `dir` (which must exist) unless one is there already. */
export async function mountTmpfs(dir: string, sizeBytes?: number): Promise<void> {
  if (await isMountPoint(dir)) return;
  const args = ['-t', 'tmpfs'];
  if (sizeBytes !== undefined && sizeBytes > 0) args.push('-o', `size=${sizeBytes}`);
  args.push('tmpfs', dir);
  try {
    await run('mount', args);
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    throw new Error(`mount -t tmpfs at ${dir} failed: ${(e.stderr || e.message).trim()}`);
  }
}

export async function unmount(dir: string): Promise<void> {
  try {
    await run('umount', [dir]);
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    throw new Error(`umount ${dir} failed: ${(e.stderr || e.message).trim()}`);
  }
}

/** Unmounts everything at or below `dir`, deepest first. */
export async function unmountUnder(dir: string): Promise<void> {
  const prefix = dir.endsWith('/') ? dir : dir + '/';
  const points = (await listMounts())
    .map((m) => m.mountPoint)
    .filter((p) => p === dir || p.startsWith(prefix))
    .sort((a, b) => b.length - a.length);
  // A path mounted twice appears twice; each umount takes one layer off.
  for (const p of points) await unmount(p);
}
