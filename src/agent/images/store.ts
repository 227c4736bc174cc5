/**
 * The node's image store, content-addressed under one root:
 *
 *   blobs/sha256/<hex>     every blob and manifest, verified before it gets its name
 *   tmp/                   downloads in progress (never renamed unless size and digest match)
 *   layers/<hex>/          each layer extracted once (keyed by its compressed digest), <hex>.json its facts
 *   rootfs/<hex>/          each image's flattened root filesystem (keyed by the image ID)
 *   images.json            image records: references → manifest, config, layers
 *
 * Anything half-done carries a ".tmp-" or ".partial" name and is swept away when the store opens.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createWriteStream, existsSync, mkdirSync, promises as fsp, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ImageConfig, PulledImage } from '../cri.js';
import { isSha256Digest, type ImageReference } from './reference.js';
import { applyLayer, copyTree, extractLayer, isMountPoint, mountOverlay, unmount } from './unpack.js';

export interface LayerRecord {
  digest: string;
  size: number;
  mediaType: string;
  /** From the image config's rootfs.diff_ids; checked against the uncompressed tar. */
  diffId?: string;
}

export interface ImageRecord {
  /** The config digest. */
  id: string;
  /** The platform's image manifest. */
  manifestDigest: string;
  /** "repo@<digest of what the reference resolved to>" (the index's digest for a multi-arch image). */
  repoDigests: string[];
  /** "repo:tag". */
  repoTags: string[];
  config: ImageConfig;
  layers: LayerRecord[];
  /** Every blob this image holds: index, manifest, config, layers. */
  blobs: string[];
  /** Manifest, config and compressed layers, as containerd counts an image's size. */
  sizeBytes: number;
}

interface LayerFacts {
  diffId: string;
  explicitDirs: string[];
}

export class BlobVerificationError extends Error {}

const hexOf = (digest: string) => digest.slice('sha256:'.length);
const tmpSuffix = () => `.tmp-${randomBytes(6).toString('hex')}`;

export class ImageStore {
  private images = new Map<string, ImageRecord>();
  private readonly blobDownloads = new Map<string, Promise<string>>();
  private readonly layerUnpacks = new Map<string, Promise<LayerFacts>>();
  private readonly rootfsBuilds = new Map<string, Promise<string>>();
  private saving: Promise<void> = Promise.resolve();
  /** Pulls in progress (held while they write) and a running GC; one excludes the other. */
  private activeWork = new Set<Promise<unknown>>();
  private gcRunning: Promise<unknown> | undefined;

  constructor(
    readonly root: string,
    private readonly log: (msg: string) => void = () => {},
  ) {}

  /** Synchronous so that get() and list() answer from the first moment the agent runs. */
  init(): void {
    for (const d of ['blobs/sha256', 'layers', 'rootfs']) mkdirSync(join(this.root, d), { recursive: true });
    // A previous agent's unfinished downloads and unpacks are never trusted.
    rmSync(join(this.root, 'tmp'), { recursive: true, force: true });
    mkdirSync(join(this.root, 'tmp'));
    for (const d of ['layers', 'rootfs']) {
      for (const name of readdirSync(join(this.root, d))) {
        if (name.includes('.tmp-')) rmSync(join(this.root, d, name), { recursive: true, force: true });
      }
    }
    try {
      const saved = JSON.parse(readFileSync(join(this.root, 'images.json'), 'utf8')) as { images?: ImageRecord[] };
      for (const r of saved.images ?? []) {
        if (r.layers.every((l) => this.hasBlob(l.digest))) this.images.set(r.id, r);
        else this.log(`image ${r.id} lost layers since the last run; forgetting it`);
      }
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') this.log(`image records unreadable, starting empty: ${(err as Error).message}`);
    }
  }

  // -------------------------------------------------------------------------------------------
  // Blobs

  blobPath(digest: string): string {
    if (!isSha256Digest(digest)) throw new BlobVerificationError(`unsupported digest ${JSON.stringify(digest)}`);
    return join(this.root, 'blobs/sha256', hexOf(digest));
  }

  hasBlob(digest: string): boolean {
    return isSha256Digest(digest) && existsSync(this.blobPath(digest));
  }

  async readBlob(digest: string): Promise<Buffer> {
    return fsp.readFile(this.blobPath(digest));
  }

  /** Stores small bytes already in memory (manifests, configs) under their digest. */
  async writeBlob(digest: string, bytes: Buffer): Promise<void> {
    const got = `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
    if (got !== digest) throw new BlobVerificationError(`unexpected commit digest ${got}, expected ${digest}: failed precondition`);
    const path = this.blobPath(digest);
    if (existsSync(path)) return;
    const tmp = join(this.root, 'tmp', hexOf(digest) + tmpSuffix());
    await fsp.writeFile(tmp, bytes);
    await fsp.rename(tmp, path);
  }

  /**
   * Makes the blob present, downloading it through `open` at most once however many pulls ask at the
   * same time. The bytes go to a temporary file and get the blob's name only once size and digest match.
   */
  ensureBlob(digest: string, size: number, open: () => Promise<Readable>): Promise<string> {
    const path = this.blobPath(digest);
    if (existsSync(path)) return Promise.resolve(path);
    let p = this.blobDownloads.get(digest);
    if (!p) {
      p = this.download(digest, size, path, open).finally(() => this.blobDownloads.delete(digest));
      this.blobDownloads.set(digest, p);
    }
    return p;
  }

  private async download(digest: string, size: number, path: string, open: () => Promise<Readable>): Promise<string> {
    const tmp = join(this.root, 'tmp', hexOf(digest) + '.partial' + tmpSuffix());
    const hash = createHash('sha256');
    let n = 0;
    const meter = new Transform({
      transform(chunk: Buffer, _enc, cb) {
        n += chunk.length;
        if (n > size) return cb(new BlobVerificationError(`failed size validation: more than ${size} bytes for ${digest}: failed precondition`));
        hash.update(chunk);
        cb(null, chunk);
      },
    });
    try {
      const body = await open();
      await pipeline(body, meter, createWriteStream(tmp, { mode: 0o600 }));
      if (n !== size) throw new BlobVerificationError(`failed size validation: ${n} != ${size} for ${digest}: failed precondition`);
      const got = `sha256:${hash.digest('hex')}`;
      if (got !== digest) throw new BlobVerificationError(`unexpected commit digest ${got}, expected ${digest}: failed precondition`);
      await fsp.rename(tmp, path);
      return path;
    } catch (err) {
      await fsp.rm(tmp, { force: true });
      throw err;
    }
  }

  // -------------------------------------------------------------------------------------------
  // Layers and root filesystems

  layerDir(digest: string): string {
    return join(this.root, 'layers', hexOf(digest));
  }

  /** Extracts a layer blob once; concurrent callers share the work. Checks the diff ID when known. */
  ensureLayer(layer: LayerRecord): Promise<LayerFacts> {
    let p = this.layerUnpacks.get(layer.digest);
    if (!p) {
      p = this.unpackLayer(layer).finally(() => this.layerUnpacks.delete(layer.digest));
      this.layerUnpacks.set(layer.digest, p);
    }
    return p;
  }

  private async unpackLayer(layer: LayerRecord): Promise<LayerFacts> {
    const dir = this.layerDir(layer.digest);
    const factsPath = `${dir}.json`;
    if (existsSync(dir)) {
      try {
        return JSON.parse(await fsp.readFile(factsPath, 'utf8')) as LayerFacts;
      } catch {
        await fsp.rm(dir, { recursive: true, force: true });
      }
    }
    const tmp = dir + tmpSuffix();
    await fsp.mkdir(tmp, { mode: 0o755 });
    try {
      const facts = await extractLayer(this.blobPath(layer.digest), tmp);
      if (layer.diffId && facts.diffId !== layer.diffId) {
        throw new BlobVerificationError(`layer ${layer.digest}: uncompressed digest ${facts.diffId} does not match the config's diff ID ${layer.diffId}`);
      }
      await fsp.writeFile(factsPath, JSON.stringify(facts));
      await fsp.rename(tmp, dir);
      return facts;
    } catch (err) {
      await fsp.rm(tmp, { recursive: true, force: true });
      throw err;
    }
  }

  rootfsDir(id: string): string {
    return join(this.root, 'rootfs', hexOf(id));
  }

  /** The image's flattened root filesystem, built from its layers once. */
  ensureRootfs(record: ImageRecord): Promise<string> {
    const dir = this.rootfsDir(record.id);
    if (existsSync(dir)) return Promise.resolve(dir);
    let p = this.rootfsBuilds.get(record.id);
    if (!p) {
      p = this.buildRootfs(record, dir).finally(() => this.rootfsBuilds.delete(record.id));
      this.rootfsBuilds.set(record.id, p);
    }
    return p;
  }

  private async buildRootfs(record: ImageRecord, dir: string): Promise<string> {
    const tmp = dir + tmpSuffix();
    await fsp.mkdir(tmp, { mode: 0o755 });
    try {
      for (const layer of record.layers) {
        const facts = await this.ensureLayer(layer);
        await applyLayer(this.layerDir(layer.digest), new Set(facts.explicitDirs), tmp);
      }
      await fsp.rename(tmp, dir);
      return dir;
    } catch (err) {
      await fsp.rm(tmp, { recursive: true, force: true });
      throw err;
    }
  }

  /** `<containerDir>/rootfs`: an overlay over the image's rootfs, or a copy of it. Idempotent. */
  async mountRootfs(record: ImageRecord, containerDir: string): Promise<string> {
    const target = join(containerDir, 'rootfs');
    const copiedMarker = join(containerDir, 'rootfs.copied');
    if (existsSync(copiedMarker) || (existsSync(target) && (await isMountPoint(target)))) return target;
    const lower = await this.ensureRootfs(record);
    const upper = join(containerDir, 'rootfs.upper');
    const work = join(containerDir, 'rootfs.work');
    for (const d of [target, upper, work]) await fsp.mkdir(d, { recursive: true });
    if (await mountOverlay(lower, upper, work, target, this.log)) return target;
    await fsp.rm(target, { recursive: true, force: true });
    await fsp.mkdir(target);
    await copyTree(lower, target);
    await fsp.writeFile(copiedMarker, '');
    return target;
  }

  /** Unmounts (or deletes the copy of) the container's root filesystem and its writable layer. */
  async unmountRootfs(containerDir: string): Promise<void> {
    const target = join(containerDir, 'rootfs');
    if (existsSync(target) && (await isMountPoint(target))) await unmount(target);
    for (const d of ['rootfs', 'rootfs.upper', 'rootfs.work', 'rootfs.copied']) {
      await fsp.rm(join(containerDir, d), { recursive: true, force: true });
    }
  }

  // -------------------------------------------------------------------------------------------
  // Image records

  list(): ImageRecord[] {
    return [...this.images.values()];
  }

  getById(id: string): ImageRecord | undefined {
    return this.images.get(id);
  }

  /** The image a reference names: by repo digest when it has a digest, else by repo tag. */
  find(ref: ImageReference): ImageRecord | undefined {
    const want = ref.digest ? `${ref.repository}@${ref.digest}` : `${ref.repository}:${ref.tag}`;
    for (const r of this.images.values()) {
      if (ref.digest ? r.repoDigests.includes(want) : r.repoTags.includes(want)) return r;
    }
    return undefined;
  }

  /** Records a pulled image; a tag that pointed elsewhere moves to it. */
  async put(record: ImageRecord): Promise<ImageRecord> {
    for (const other of this.images.values()) {
      if (other.id === record.id) continue;
      other.repoTags = other.repoTags.filter((t) => !record.repoTags.includes(t));
    }
    const existing = this.images.get(record.id);
    const merged: ImageRecord = existing
      ? {
          ...record,
          repoTags: [...new Set([...existing.repoTags, ...record.repoTags])],
          repoDigests: [...new Set([...existing.repoDigests, ...record.repoDigests])],
          blobs: [...new Set([...existing.blobs, ...record.blobs])],
        }
      : record;
    this.images.set(record.id, merged);
    await this.save();
    return merged;
  }

  private save(): Promise<void> {
    const next = this.saving.then(async () => {
      const path = join(this.root, 'images.json');
      const tmp = path + tmpSuffix();
      await fsp.writeFile(tmp, JSON.stringify({ images: [...this.images.values()] }, null, 1));
      await fsp.rename(tmp, path);
    });
    this.saving = next.catch(() => {});
    return next;
  }

  // -------------------------------------------------------------------------------------------
  // Work that must not overlap with garbage collection

  /** Runs a pull while no GC runs; GC waits for running pulls. */
  async withPullLock<T>(fn: () => Promise<T>): Promise<T> {
    while (this.gcRunning) await this.gcRunning.catch(() => {});
    const p = fn();
    this.activeWork.add(p);
    try {
      return await p;
    } finally {
      this.activeWork.delete(p);
    }
  }

  /** Removes images not in `inUse` (image IDs), then layers, root filesystems and blobs nothing keeps. */
  async garbageCollect(inUse: ReadonlySet<string>): Promise<{ removedImages: number; freedBytes: number }> {
    while (this.gcRunning) await this.gcRunning.catch(() => {});
    const run = (async () => {
      while (this.activeWork.size) await Promise.allSettled([...this.activeWork]);
      let removedImages = 0;
      for (const r of [...this.images.values()]) {
        if (inUse.has(r.id)) continue;
        this.images.delete(r.id);
        await fsp.rm(this.rootfsDir(r.id), { recursive: true, force: true });
        removedImages++;
      }
      if (removedImages) await this.save();
      const keep = new Set<string>();
      for (const r of this.images.values()) for (const d of r.blobs) keep.add(hexOf(d));
      let freedBytes = 0;
      const blobDir = join(this.root, 'blobs/sha256');
      for (const name of await fsp.readdir(blobDir)) {
        if (keep.has(name)) continue;
        const st = await fsp.stat(join(blobDir, name)).catch(() => undefined);
        freedBytes += st?.size ?? 0;
        await fsp.rm(join(blobDir, name), { force: true });
      }
      for (const name of await fsp.readdir(join(this.root, 'layers'))) {
        const hex = name.endsWith('.json') ? name.slice(0, -5) : name;
        if (!keep.has(hex)) await fsp.rm(join(this.root, 'layers', name), { recursive: true, force: true });
      }
      for (const name of await fsp.readdir(join(this.root, 'rootfs'))) {
        if (![...this.images.keys()].some((id) => hexOf(id) === name)) await fsp.rm(join(this.root, 'rootfs', name), { recursive: true, force: true });
      }
      return { removedImages, freedBytes };
    })();
    this.gcRunning = run;
    try {
      return await run;
    } finally {
      this.gcRunning = undefined;
    }
  }
}

export function toPulledImage(r: ImageRecord, ref?: ImageReference): PulledImage {
  const repoDigest = (ref && r.repoDigests.find((d) => d.startsWith(`${ref.repository}@`))) ?? r.repoDigests[0] ?? r.id;
  return {
    reference: ref?.normalized ?? r.repoTags[0] ?? repoDigest,
    imageRef: repoDigest,
    id: r.id,
    config: r.config,
    sizeBytes: r.sizeBytes,
    names: [...r.repoTags, ...r.repoDigests],
  };
}
