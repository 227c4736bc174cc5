/**
 * Writes a volume's files so that a running container sees either the old set or the new one, never
 * a mix — upstream's AtomicWriter (pkg/volume/util/atomic_writer.go) and its layout, which tools
 * inside containers rely on:
 *
 *   <dir>/..2024_05_01_10_00_00.1234567/   the payload, one timestamped directory per version
 *   <dir>/..data -> ..2024_05_01_10_00_00.1234567   swapped by rename(2), atomically
 *   <dir>/<key>  -> ..data/<key>            the user-visible names (first path component)
 *
 * A payload equal to what is there (content and mode) writes nothing.
 */
import { randomInt } from 'node:crypto';
import { chmod, chown, lstat, mkdir, readdir, readFile, readlink, rename, rm, stat, symlink, unlink, writeFile } from 'node:fs/promises';
import { dirname, join, posix } from 'node:path';

export interface FileProjection {
  data: Buffer;
  /** Permission bits (defaultMode or the item's mode). */
  mode: number;
}

export type Payload = Map<string, FileProjection>;

const DATA_DIR = '..data';
const DATA_DIR_TMP = '..data_tmp';
const MAX_PATH = 4096;
const MAX_SEGMENT = 255;

/** validatePath: relative, no '..' component, not starting with '..'. */
export function validatePayloadPath(p: string): string | undefined {
  if (p === '') return undefined;
  if (p.length > MAX_PATH) return `invalid path: must be less than or equal to ${MAX_PATH} characters`;
  if (posix.isAbsolute(p)) return `invalid path: must be relative path: ${p}`;
  for (const seg of p.split('/')) {
    if (seg.length > MAX_SEGMENT) return `invalid path: must not contain a segment longer than ${MAX_SEGMENT} characters`;
    if (seg === '..') return `invalid path: must not contain '..': ${p}`;
  }
  if (p.startsWith('..')) return `invalid path: must not start with '..': ${p}`;
  return undefined;
}

function pad(n: number, w = 2): string {
  return String(n).padStart(w, '0');
}

/** Go's time.Now().UTC().Format("..2006_01_02_15_04_05.") plus MkdirTemp's random suffix. */
function versionDirName(now: Date): string {
  const d = now;
  const ts = `..${d.getUTCFullYear()}_${pad(d.getUTCMonth() + 1)}_${pad(d.getUTCDate())}_${pad(d.getUTCHours())}_${pad(d.getUTCMinutes())}_${pad(d.getUTCSeconds())}.`;
  return ts + String(randomInt(1_000_000_000, 4_294_967_295));
}

async function exists(p: string): Promise<boolean> {
  try {
    await lstat(p);
    return true;
  } catch {
    return false;
  }
}

export interface WriteResult {
  /** False when the payload was already there. */
  written: boolean;
}

export class AtomicWriter {
  constructor(
    readonly targetDir: string,
    private readonly now: () => Date = () => new Date(),
  ) {}

  /**
   * Makes the directory hold exactly `payload`. With `fsGroup`, files and directories belong to that
   * group and are group-readable (directories also setgid), as SetVolumeOwnership does for the
   * read-only volume types.
   */
  async write(payload: Payload, opts: { fsGroup?: number } = {}): Promise<WriteResult> {
    const fsGroup = opts.fsGroup;
    const fileMode = (m: number) => (m & 0o7777) | (fsGroup !== undefined ? 0o440 : 0);
    const dirMode = fsGroup !== undefined ? 0o2755 : 0o755;
    const clean: Payload = new Map();
    for (const [p, f] of payload) {
      const bad = validatePayloadPath(p);
      if (bad) throw new Error(bad);
      const c = posix.normalize(p).replace(/\/+$/, '');
      if (c === '' || c === '.') continue;
      clean.set(c, f);
    }

    const dataLink = join(this.targetDir, DATA_DIR);
    let oldVersion: string | undefined;
    try {
      oldVersion = await readlink(dataLink);
    } catch {
      oldVersion = undefined;
    }
    const oldVersionPath = oldVersion ? join(this.targetDir, oldVersion) : undefined;
    const oldPaths = oldVersionPath ? await listFiles(oldVersionPath) : new Set<string>();

    if (oldVersionPath && (await this.samePayload(oldVersionPath, oldPaths, clean, fileMode, fsGroup))) {
      await this.createUserVisible(clean);
      return { written: false };
    }

    const versionName = versionDirName(this.now());
    const versionPath = join(this.targetDir, versionName);
    const dirs = new Set<string>([versionPath]);
    try {
      await mkdir(versionPath, { mode: 0o755 });
      for (const [p, f] of clean) {
        const full = join(versionPath, p);
        for (let d = dirname(full); d !== versionPath && !dirs.has(d); d = dirname(d)) dirs.add(d);
        await mkdir(dirname(full), { recursive: true, mode: 0o755 });
        await writeFile(full, f.data, { mode: fileMode(f.mode) });
        if (fsGroup !== undefined) await chown(full, (await stat(full)).uid, fsGroup);
        await chmod(full, fileMode(f.mode));
      }
      for (const d of dirs) {
        if (fsGroup !== undefined) await chown(d, (await stat(d)).uid, fsGroup);
        await chmod(d, dirMode);
      }
      const tmpLink = join(this.targetDir, DATA_DIR_TMP);
      await rm(tmpLink, { force: true });
      await symlink(versionName, tmpLink);
      await rename(tmpLink, dataLink);
    } catch (err) {
      await rm(versionPath, { recursive: true, force: true });
      throw err;
    }

    await this.createUserVisible(clean);
    await this.removeUserVisible(oldPaths, clean);
    if (oldVersionPath) await rm(oldVersionPath, { recursive: true, force: true });
    return { written: true };
  }

  private async samePayload(
    versionPath: string,
    oldPaths: Set<string>,
    payload: Payload,
    fileMode: (m: number) => number,
    fsGroup: number | undefined,
  ): Promise<boolean> {
    if (oldPaths.size !== payload.size) return false;
    for (const [p, f] of payload) {
      if (!oldPaths.has(p)) return false;
      const full = join(versionPath, p);
      const st = await stat(full);
      if ((st.mode & 0o7777) !== fileMode(f.mode)) return false;
      if (fsGroup !== undefined && st.gid !== fsGroup) return false;
      if (!(await readFile(full)).equals(f.data)) return false;
    }
    return true;
  }

  /** `<first component>` → `..data/<first component>` for each path not already visible. */
  private async createUserVisible(payload: Payload): Promise<void> {
    const tops = new Set([...payload.keys()].map((p) => p.split('/')[0]));
    for (const top of tops) {
      const link = join(this.targetDir, top);
      if (await exists(link)) continue;
      await symlink(posix.join(DATA_DIR, top), link);
    }
  }

  private async removeUserVisible(oldPaths: Set<string>, payload: Payload): Promise<void> {
    const keep = new Set([...payload.keys()].map((p) => p.split('/')[0]));
    const gone = new Set([...oldPaths].map((p) => p.split('/')[0]).filter((t) => !keep.has(t)));
    for (const top of gone) {
      const link = join(this.targetDir, top);
      try {
        if ((await lstat(link)).isSymbolicLink()) await unlink(link);
      } catch {
        // already gone
      }
    }
  }
}

/** Every file under `dir`, as relative paths. */
async function listFiles(dir: string, prefix = ''): Promise<Set<string>> {
  const out = new Set<string>();
  let entries;
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch {
    return out;
  }
  for (const e of entries) {
    const rel = prefix ? `${prefix}/${e.name}` : e.name;
    if (e.isDirectory()) for (const f of await listFiles(join(dir, e.name), rel)) out.add(f);
    else out.add(rel);
  }
  return out;
}
