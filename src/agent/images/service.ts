/**
 * The agent's image service: the kubelet's pull policies over a registry client and a local store,
 * with containerd's words for failures so that container statuses read as they do upstream.
 */
import { createHash } from 'node:crypto';
import { ImageError, type EnsureImageResult, type ImageConfig, type ImageService, type PulledImage, type PullPolicy, type RegistryCredential } from '../cri.js';
import { lookupCredentials, type AuthConfig } from './keyring.js';
import { isSha256Digest, normalizeImageReference, parseImageReference, type ImageReference } from './reference.js';
import { hostPlatform, MediaType, RegistryClient, selectPlatform, type Descriptor, type Manifest, type Platform, type RegistrySession } from './registry.js';
import { ImageStore, toPulledImage, type ImageRecord, type LayerRecord } from './store.js';

export interface LocalImageServiceOptions {
  /** Where images live, e.g. /var/lib/skiff/images. */
  root: string;
  /** Mirror base URLs per registry host, tried in order before the registry itself. */
  mirrors?: Record<string, string[]>;
  /** The platform picked from multi-arch images; the host's by default. */
  platform?: Platform;
  log?: (msg: string) => void;
  /** How long connecting to a registry may take (5 s). */
  connectTimeoutMs?: number;
}

const LAYER_TYPES = new Set([
  'application/vnd.oci.image.layer.v1.tar',
  'application/vnd.oci.image.layer.v1.tar+gzip',
  'application/vnd.docker.image.rootfs.diff.tar.gzip',
  'application/vnd.oci.image.layer.nondistributable.v1.tar',
  'application/vnd.oci.image.layer.nondistributable.v1.tar+gzip',
  'application/vnd.docker.image.rootfs.foreign.diff.tar.gzip',
]);
const ZSTD_LAYER_TYPES = new Set(['application/vnd.oci.image.layer.v1.tar+zstd', 'application/vnd.oci.image.layer.nondistributable.v1.tar+zstd']);

/** Layers fetched at the same time within one pull. */
const PARALLEL_DOWNLOADS = 3;

export class LocalImageService implements ImageService {
  readonly store: ImageStore;
  private readonly registry: RegistryClient;
  private readonly platform: Platform;
  private readonly log: (msg: string) => void;
  private readonly pulls = new Map<string, Promise<ImageRecord>>();

  constructor(opts: LocalImageServiceOptions) {
    this.log = opts.log ?? (() => {});
    this.platform = opts.platform ?? hostPlatform();
    this.registry = new RegistryClient({ mirrors: opts.mirrors, connectTimeoutMs: opts.connectTimeoutMs, log: this.log });
    this.store = new ImageStore(opts.root, this.log);
    this.store.init();
  }

  async ensureImage(image: string, policy: PullPolicy, opts: { credentials?: RegistryCredential[]; onPulling?: () => void } = {}): Promise<EnsureImageResult> {
    const ref = parseImageReference(image);
    const present = this.store.find(ref);
    if (policy === 'Never' || (policy === 'IfNotPresent' && present)) {
      if (present) return { image: toPulledImage(present, ref), pulled: false };
      throw new ImageError('ErrImageNeverPull', `Container image ${JSON.stringify(image)} is not present with pull policy of Never`);
    }
    opts.onPulling?.();
    const started = Date.now();
    // Pulls at the same time are shared only among callers with the same credentials: a pod must not
    // get a private image (Always included) through another pod's pull with a secret it lacks.
    const key = `${ref.normalized}\0${credentialsKey(opts.credentials)}`;
    let pull = this.pulls.get(key);
    if (!pull) {
      pull = this.store.withPullLock(() => this.pull(ref, opts.credentials)).finally(() => this.pulls.delete(key));
      this.pulls.set(key, pull);
    }
    const record = await pull;
    return { image: toPulledImage(record, ref), pulled: true, pullMs: Date.now() - started };
  }

  get(image: string): PulledImage | undefined {
    if (normalizeImageReference(image) === undefined) return undefined;
    const ref = parseImageReference(image);
    const r = this.store.find(ref);
    return r && toPulledImage(r, ref);
  }

  list(): PulledImage[] {
    return this.store.list().map((r) => toPulledImage(r));
  }

  async mountRootfs(image: PulledImage, containerDir: string): Promise<string> {
    const record = this.store.getById(image.id);
    if (!record) throw new Error(`image ${image.reference} (${image.id}) is not present on this node`);
    return this.store.mountRootfs(record, containerDir);
  }

  /** The image's flattened root filesystem (read-only use: /etc/passwd lookups). */
  async rootfsOf(image: PulledImage): Promise<string> {
    const record = this.store.getById(image.id);
    if (!record) throw new Error(`image ${image.reference} (${image.id}) is not present on this node`);
    return this.store.ensureRootfs(record);
  }

  unmountRootfs(containerDir: string): Promise<void> {
    return this.store.unmountRootfs(containerDir);
  }

  garbageCollect(inUse: Set<string>): Promise<{ removedImages: number; freedBytes: number }> {
    return this.store.garbageCollect(inUse);
  }

  // -------------------------------------------------------------------------------------------

  /** Tries each matching credential in turn, as the kubelet does; anonymously when none match. */
  private async pull(ref: ImageReference, credentials: RegistryCredential[] | undefined): Promise<ImageRecord> {
    const auths: (AuthConfig | undefined)[] = lookupCredentials(credentials, ref.repository);
    if (auths.length === 0) auths.push(undefined);
    let last: unknown;
    for (const auth of auths) {
      const session = this.registry.session(ref, auth, (host) => lookupCredentials(credentials, `${host}/${ref.path}`)[0]);
      try {
        const record = await this.pullWith(ref, session);
        this.log(`pulled ${ref.normalized} (${record.id})`);
        return record;
      } catch (err) {
        last = err;
      }
    }
    const cause = last instanceof Error ? last.message : String(last);
    throw new ImageError('ErrImagePull', `failed to pull and unpack image ${JSON.stringify(ref.normalized)}: ${cause}`);
  }

  private async pullWith(ref: ImageReference, session: RegistrySession): Promise<ImageRecord> {
    let top: Manifest;
    try {
      top = await session.getManifest(ref.digest ?? ref.tag!);
    } catch (err) {
      throw new Error(`failed to resolve reference ${JSON.stringify(ref.normalized)}: ${(err as Error).message}`);
    }
    const blobs = [top.digest];
    await this.store.writeBlob(top.digest, top.bytes);
    let manifest = top;
    if (top.mediaType === MediaType.ociIndex || top.mediaType === MediaType.dockerList) {
      const entries = Array.isArray(top.json.manifests) ? (top.json.manifests as Descriptor[]) : [];
      const chosen = selectPlatform(entries, this.platform);
      if (!chosen) throw new Error(`no match for platform in manifest ${top.digest}: not found`);
      checkDigest(chosen.digest);
      manifest = await session.getManifest(chosen.digest);
      await this.store.writeBlob(manifest.digest, manifest.bytes);
      blobs.push(manifest.digest);
    }
    if (manifest.mediaType === MediaType.dockerSchema1 || manifest.mediaType === MediaType.dockerSchema1Signed) {
      throw new Error(`${ref.normalized}: Docker image manifest schema 1 is not supported; push the image again with a current client`);
    }
    if (manifest.mediaType !== MediaType.ociManifest && manifest.mediaType !== MediaType.dockerManifest) {
      throw new Error(`${manifest.digest}: unsupported manifest media type ${JSON.stringify(manifest.mediaType)}`);
    }
    const configDesc = manifest.json.config as Descriptor | undefined;
    if (!configDesc || typeof configDesc.digest !== 'string') throw new Error(`manifest ${manifest.digest} has no config`);
    checkDigest(configDesc.digest);
    const configBytes = this.store.hasBlob(configDesc.digest) ? await this.store.readBlob(configDesc.digest) : await session.readBlob(configDesc);
    await this.store.writeBlob(configDesc.digest, configBytes);
    blobs.push(configDesc.digest);
    let config: any;
    try {
      config = JSON.parse(configBytes.toString('utf8'));
    } catch {
      throw new Error(`image config ${configDesc.digest} is not valid JSON`);
    }
    const diffIds: unknown[] = Array.isArray(config?.rootfs?.diff_ids) ? config.rootfs.diff_ids : [];
    const rawLayers: Descriptor[] = Array.isArray(manifest.json.layers) ? manifest.json.layers : [];
    const layers: LayerRecord[] = rawLayers.map((l, i) => {
      checkDigest(l.digest);
      if (ZSTD_LAYER_TYPES.has(l.mediaType)) throw new Error(`layer ${l.digest}: zstd-compressed layers are not supported by this node`);
      if (!LAYER_TYPES.has(l.mediaType)) throw new Error(`layer ${l.digest}: unsupported media type ${JSON.stringify(l.mediaType)}`);
      if (typeof l.size !== 'number' || l.size < 0) throw new Error(`layer ${l.digest} has no size`);
      const diffId = typeof diffIds[i] === 'string' ? (diffIds[i] as string) : undefined;
      return { digest: l.digest, size: l.size, mediaType: l.mediaType, diffId };
    });

    await inParallel(layers, PARALLEL_DOWNLOADS, async (l) => {
      try {
        await this.store.ensureBlob(l.digest, l.size, () => session.openBlob(l.digest));
      } catch (err) {
        throw new Error(`failed to fetch layer ${l.digest}: ${(err as Error).message}`);
      }
    });
    const record: ImageRecord = {
      id: configDesc.digest,
      manifestDigest: manifest.digest,
      repoDigests: [`${ref.repository}@${top.digest}`],
      repoTags: ref.tag && !ref.digest ? [`${ref.repository}:${ref.tag}`] : [],
      config: imageConfig(config?.config),
      layers,
      blobs: [...blobs, ...layers.map((l) => l.digest)],
      sizeBytes: manifest.bytes.length + configBytes.length + layers.reduce((n, l) => n + l.size, 0),
    };
    try {
      await this.store.ensureRootfs(record);
    } catch (err) {
      throw new Error(`failed to extract layer: ${(err as Error).message}`);
    }
    return this.store.put(record);
  }
}

function checkDigest(d: unknown): void {
  if (typeof d !== 'string' || !isSha256Digest(d)) throw new Error(`unsupported or invalid digest ${JSON.stringify(d)}`);
}

function imageConfig(c: any): ImageConfig {
  const out: ImageConfig = {};
  const strings = (v: unknown) => (Array.isArray(v) && v.every((s) => typeof s === 'string') ? (v as string[]) : undefined);
  if (!c || typeof c !== 'object') return out;
  const entrypoint = strings(c.Entrypoint);
  const cmd = strings(c.Cmd);
  const env = strings(c.Env);
  if (entrypoint) out.entrypoint = entrypoint;
  if (cmd) out.cmd = cmd;
  if (env) out.env = env;
  if (typeof c.WorkingDir === 'string' && c.WorkingDir) out.workingDir = c.WorkingDir;
  if (typeof c.User === 'string' && c.User) out.user = c.User;
  return out;
}

async function inParallel<T>(items: T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  let failed: unknown;
  const worker = async () => {
    while (next < items.length && failed === undefined) {
      const item = items[next++];
      try {
        await fn(item);
      } catch (err) {
        failed ??= err;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  if (failed !== undefined) throw failed;
}

/** A digest of a pull's credentials, so that pulls share work only with pulls allowed the same. */
function credentialsKey(credentials: RegistryCredential[] | undefined): string {
  if (!credentials?.length) return '';
  return createHash('sha256').update(JSON.stringify(credentials)).digest('hex');
}
