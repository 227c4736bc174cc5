/**
 * The node authorizer's graph, kept as indexes rather than a general graph: for each node, how
 * many of its pods reach each secret, config map, claim, service account (and the pods
 * themselves); for each persistent volume, its claim and the secrets it hands out; for each
 * volume attachment, its node. A pod event replaces only that pod's contributions, and every
 * question the authorizer asks is a couple of map lookups.
 *
 * Upstream's paths (plugin/pkg/auth/authorizer/node/graph.go):
 *   node <- pod <- secret | configmap | pvc | serviceaccount
 *   node <- pod <- pvc <- pv <- secret
 *   node <- volumeattachment
 */
import type { KubeObject } from '../../../api/types.js';
import { podReferences, pvSecretKeys, vertexKey, type VertexType } from './references.js';

interface PodEntry {
  node: string;
  refs: string[];
  ephemeral: number;
}

interface PvEntry {
  /** The bound claim's vertex key ('' while unbound). */
  claim: string;
  secrets: string[];
}

export class NodeGraph {
  private readonly pods = new Map<string, PodEntry>();
  /** node → vertex key → how many of the node's pods reach it. */
  private readonly reach = new Map<string, Map<string, number>>();
  private readonly pvs = new Map<string, PvEntry>();
  /** secret vertex key → persistent volumes that hand it out. */
  private readonly secretVolumes = new Map<string, Set<string>>();
  private readonly attachments = new Map<string, string>();

  /** A pod was added or changed; `key` identifies it across events (its namespace/name). */
  setPod(key: string, pod: KubeObject): void {
    const node = typeof pod.spec?.nodeName === 'string' ? (pod.spec.nodeName as string) : '';
    if (!node) return this.deletePod(key);
    // A pod's references are immutable but for ephemeral containers, which can only be added: the
    // status writes that make most pod events change nothing here, and cost nothing.
    const ephemeral = Array.isArray(pod.spec?.ephemeralContainers) ? (pod.spec.ephemeralContainers as unknown[]).length : 0;
    const old = this.pods.get(key);
    if (old && old.node === node && old.ephemeral === ephemeral) return;
    const refs = podReferences(pod);
    if (old && old.node === node && sameList(old.refs, refs)) {
      old.ephemeral = ephemeral;
      return;
    }
    if (old) this.count(old.node, old.refs, -1);
    this.pods.set(key, { node, refs, ephemeral });
    this.count(node, refs, 1);
  }

  deletePod(key: string): void {
    const old = this.pods.get(key);
    if (!old) return;
    this.pods.delete(key);
    this.count(old.node, old.refs, -1);
  }

  setPersistentVolume(pv: KubeObject): void {
    const name = pv.metadata?.name ?? '';
    this.deletePersistentVolume(name);
    const ref = pv.spec?.claimRef as { namespace?: string; name?: string } | undefined;
    // Upstream links a volume (and its secrets) only once it names a claim.
    if (!ref?.name) return;
    const ns = ref.namespace ?? '';
    const entry = { claim: vertexKey('pvc', ns, ref.name), secrets: pvSecretKeys(pv, ns) };
    this.pvs.set(name, entry);
    for (const s of entry.secrets) {
      let set = this.secretVolumes.get(s);
      if (!set) this.secretVolumes.set(s, (set = new Set()));
      set.add(name);
    }
  }

  deletePersistentVolume(name: string): void {
    const old = this.pvs.get(name);
    if (!old) return;
    this.pvs.delete(name);
    for (const s of old.secrets) {
      const set = this.secretVolumes.get(s);
      set?.delete(name);
      if (set?.size === 0) this.secretVolumes.delete(s);
    }
  }

  setVolumeAttachment(va: KubeObject): void {
    const node = typeof va.spec?.nodeName === 'string' ? (va.spec.nodeName as string) : '';
    const name = va.metadata?.name ?? '';
    if (node) this.attachments.set(name, node);
    else this.attachments.delete(name);
  }

  deleteVolumeAttachment(name: string): void {
    this.attachments.delete(name);
  }

  /** Whether there is a path from the object to the node (upstream's hasPathFrom). */
  hasPathFrom(node: string, type: VertexType, namespace: string, name: string): boolean {
    if (type === 'volumeattachment') return this.attachments.get(name) === node;
    if (type === 'pv') return this.volumeReaches(node, name);
    const reach = this.reach.get(node);
    if (reach?.has(vertexKey(type, namespace, name))) return true;
    if (type !== 'secret') return false;
    const volumes = this.secretVolumes.get(vertexKey('secret', namespace, name));
    if (volumes) for (const pv of volumes) if (this.volumeReaches(node, pv)) return true;
    return false;
  }

  private volumeReaches(node: string, pv: string): boolean {
    const claim = this.pvs.get(pv)?.claim;
    return !!claim && !!this.reach.get(node)?.has(claim);
  }

  private count(node: string, refs: string[], delta: 1 | -1): void {
    let reach = this.reach.get(node);
    if (!reach) {
      if (delta < 0) return;
      this.reach.set(node, (reach = new Map()));
    }
    for (const r of refs) {
      const n = (reach.get(r) ?? 0) + delta;
      if (n > 0) reach.set(r, n);
      else reach.delete(r);
    }
    if (reach.size === 0) this.reach.delete(node);
  }
}

function sameList(a: string[], b: string[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
