/**
 * Layers to directories and directories to root filesystems.
 *
 * A layer is extracted once, whiteout files and all, by GNU tar (which already refuses ".." members,
 * strips leading "/", and defers symlinks that point outside the tree until the end, so a layer cannot
 * write through its own symlinks). An image's root filesystem is then its layers applied in order:
 * ".wh.<name>" removes <name> from below, ".wh..wh..opq" hides everything below in its directory, and
 * every other non-directory is hard-linked from the layer directory, so N images that share a layer
 * share its inodes and a flattened rootfs costs directories only. Containers never write into it: it
 * is an overlay's lower layer, or copied.
 */
import { spawn, execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream, promises as fsp } from 'node:fs';
import { join } from 'node:path';
import { Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import { promisify } from 'node:util';

const execFileAsync = promisify(execFile);

export const WHITEOUT_PREFIX = '.wh.';
export const OPAQUE_MARKER = '.wh..wh..opq';

export class UnpackError extends Error {}

/**
 * Extracts the layer blob at `blobPath` into the (new, empty) directory `dest`. Returns the layer's
 * diff ID (the digest of the uncompressed tar) and the directories the archive names itself (as
 * opposed to parents tar had to invent), which are the only ones whose metadata a layer may change.
 */
export async function extractLayer(blobPath: string, dest: string): Promise<{ diffId: string; explicitDirs: string[] }> {
  const input = await decompressed(blobPath);
  const hash = createHash('sha256');
  const hasher = new Transform({
    transform(chunk, _enc, cb) {
      hash.update(chunk);
      cb(null, chunk);
    },
  });
  const indexFile = `${dest}.index`;
  const tar = spawn(
    'tar',
    [
      '--extract',
      '--file=-',
      `--directory=${dest}`,
      '--preserve-permissions',
      '--same-owner',
      '--numeric-owner',
      '--xattrs',
      '--xattrs-include=security.capability',
      '--warning=no-timestamp',
      '--warning=no-unknown-keyword',
      '--verbose',
      `--index-file=${indexFile}`,
      '--quoting-style=literal',
    ],
    { stdio: ['pipe', 'ignore', 'pipe'] },
  );
  let stderr = '';
  tar.stderr.on('data', (d) => {
    if (stderr.length < 8192) stderr += d;
  });
  const exited = new Promise<number>((resolve, reject) => {
    tar.on('error', reject);
    tar.on('close', (code) => resolve(code ?? 1));
  });
  try {
    await pipeline(input, hasher, tar.stdin).catch((err: NodeJS.ErrnoException) => {
      // tar closing its input early is reported by its exit status below.
      if (err.code !== 'EPIPE' && err.code !== 'ERR_STREAM_PREMATURE_CLOSE') throw err;
    });
    const code = await exited;
    if (code !== 0) throw new UnpackError(`tar exited with status ${code}: ${stderr.trim().split('\n').slice(-3).join('; ')}`);
    const listed = await fsp.readFile(indexFile, 'utf8').catch(() => '');
    const explicitDirs: string[] = [];
    for (const line of listed.split('\n')) {
      if (!line.endsWith('/')) continue;
      explicitDirs.push(cleanMemberName(line));
    }
    return { diffId: `sha256:${hash.digest('hex')}`, explicitDirs };
  } catch (err) {
    tar.kill('SIGKILL');
    if (err instanceof UnpackError) throw err;
    throw new UnpackError((err as Error).message);
  } finally {
    await fsp.rm(indexFile, { force: true });
  }
}

function cleanMemberName(name: string): string {
  let n = name;
  while (n.startsWith('./')) n = n.slice(2);
  while (n.startsWith('/')) n = n.slice(1);
  while (n.endsWith('/')) n = n.slice(0, -1);
  return n === '.' ? '' : n;
}

async function decompressed(path: string): Promise<Readable> {
  const fh = await fsp.open(path, 'r');
  const magic = Buffer.alloc(4);
  try {
    await fh.read(magic, 0, 4, 0);
  } finally {
    await fh.close();
  }
  const raw = createReadStream(path);
  if (magic[0] === 0x1f && magic[1] === 0x8b) return raw.pipe(createGunzip()) as unknown as Readable;
  if (magic.readUInt32LE(0) === 0xfd2fb528) {
    raw.destroy();
    throw new UnpackError('zstd-compressed layers are not supported by this node (Node 20 has no zstd); push the image with gzip layers');
  }
  return raw;
}

/**
 * Applies the extracted layer `layerDir` on top of `rootfs`. `explicitDirs` (relative paths, "" for
 * the root) are the directories whose mode, owner and times the layer sets.
 */
export async function applyLayer(layerDir: string, explicitDirs: ReadonlySet<string>, rootfs: string): Promise<void> {
  await applyDir(layerDir, rootfs, '', explicitDirs);
}

async function applyDir(layerRoot: string, rootfs: string, rel: string, explicit: ReadonlySet<string>): Promise<void> {
  const srcDir = join(layerRoot, rel);
  const dstDir = join(rootfs, rel);
  const entries = await fsp.readdir(srcDir, { withFileTypes: true });
  const dstBefore = await fsp.lstat(dstDir);
  if (entries.some((e) => e.name === OPAQUE_MARKER)) {
    for (const name of await fsp.readdir(dstDir)) await fsp.rm(join(dstDir, name), { recursive: true, force: true });
  }
  for (const e of entries) {
    if (e.name === OPAQUE_MARKER || !e.name.startsWith(WHITEOUT_PREFIX)) continue;
    const hidden = e.name.slice(WHITEOUT_PREFIX.length);
    if (hidden && hidden !== '.' && hidden !== '..' && !hidden.includes('/')) {
      await fsp.rm(join(dstDir, hidden), { recursive: true, force: true });
    }
  }
  for (const e of entries) {
    if (e.name.startsWith(WHITEOUT_PREFIX)) continue;
    const childRel = rel ? `${rel}/${e.name}` : e.name;
    const src = join(srcDir, e.name);
    const dst = join(dstDir, e.name);
    const existing = await fsp.lstat(dst).catch(() => undefined);
    if (e.isDirectory()) {
      let created = false;
      if (existing && !existing.isDirectory()) await fsp.rm(dst, { force: true });
      if (!existing || !existing.isDirectory()) {
        await fsp.mkdir(dst);
        created = true;
      }
      const st = await fsp.lstat(src);
      if (created || explicit.has(childRel)) {
        await fsp.chown(dst, st.uid, st.gid);
        await fsp.chmod(dst, st.mode & 0o7777);
      }
      await applyDir(layerRoot, rootfs, childRel, explicit);
      if (created || explicit.has(childRel)) await fsp.utimes(dst, st.atime, st.mtime);
      else if (existing) await fsp.utimes(dst, existing.atime, existing.mtime);
    } else {
      if (existing) await fsp.rm(dst, { recursive: true, force: true });
      // link(2) does not follow a symlink, so symlinks, fifos and device nodes are shared as they are.
      await fsp.link(src, dst);
    }
  }
  if (rel === '' && explicit.has('')) {
    const st = await fsp.lstat(srcDir);
    await fsp.chown(dstDir, st.uid, st.gid);
    await fsp.chmod(dstDir, st.mode & 0o7777);
    await fsp.utimes(dstDir, st.atime, st.mtime);
  } else {
    await fsp.utimes(dstDir, dstBefore.atime, dstBefore.mtime);
  }
}

// ---------------------------------------------------------------------------------------------
// Container root filesystems

export async function isMountPoint(path: string): Promise<boolean> {
  const mountinfo = await fsp.readFile('/proc/self/mountinfo', 'utf8');
  const escaped = path.replace(/[\\ \t\n]/g, (c) => `\\${c.charCodeAt(0).toString(8).padStart(3, '0')}`);
  for (const line of mountinfo.split('\n')) {
    const fields = line.split(' ');
    if (fields[4] === escaped) return true;
  }
  return false;
}

/** Mounts an overlay of `lower` at `target` with upper/work dirs beside it; false when the kernel refuses. */
export async function mountOverlay(lower: string, upper: string, work: string, target: string, log: (m: string) => void): Promise<boolean> {
  for (const p of [lower, upper, work]) {
    // mount(8) splits options on "," and overlayfs splits lowerdir on ":".
    if (p.includes(',') || p.includes(':')) {
      log(`overlay unusable for ${target}: path ${p} contains "," or ":"`);
      return false;
    }
  }
  try {
    await execFileAsync('mount', ['-t', 'overlay', 'overlay', '-o', `lowerdir=${lower},upperdir=${upper},workdir=${work}`, target]);
    return true;
  } catch (err) {
    log(`overlay mount at ${target} failed, copying the image instead: ${((err as { stderr?: string }).stderr || (err as Error).message).trim()}`);
    return false;
  }
}

export async function unmount(target: string): Promise<void> {
  try {
    await execFileAsync('umount', [target]);
  } catch {
    // Busy (a process still has it open): detach it now, the kernel frees it when the last user goes.
    await execFileAsync('umount', ['-l', target]);
  }
}

export async function copyTree(src: string, dest: string): Promise<void> {
  await execFileAsync('cp', ['-a', '--', `${src}/.`, dest]);
}
