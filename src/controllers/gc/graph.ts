/**
 * The garbage collector's dependency graph (upstream's GraphBuilder): one node per object uid,
 * built from watch events, with edges from each owner to its dependents. It decides nothing; it
 * only tells the collector which uids need a look when the shape of the graph changes.
 *
 * A node is "observed" once a watch has delivered the object. An owner that some dependent names
 * but no watch has delivered is a "virtual" node: it exists so that its dependents can be found,
 * and the collector verifies it against the API server.
 */
import type { KubeObject, OwnerReference } from '../../api/types.js';

export const FINALIZER_ORPHAN = 'orphan';
export const FINALIZER_FOREGROUND = 'foregroundDeletion';

/** The parts of an ownerReference the graph needs. */
export interface OwnerLink {
  uid: string;
  apiVersion: string;
  kind: string;
  name: string;
  block: boolean;
}

export class GraphNode<S> {
  observed = false;
  /** The watch that delivered the object (undefined while virtual). */
  source: S | undefined = undefined;
  owners: readonly OwnerLink[] = NO_OWNERS;
  dependents: Set<GraphNode<S>> | undefined = undefined;
  beingDeleted = false;
  /** deletionTimestamp and the foregroundDeletion finalizer: waiting for its blocking dependents. */
  deletingDependents = false;
  /** deletionTimestamp and the orphan finalizer: its dependents' references must be removed. */
  orphaning = false;

  constructor(
    readonly uid: string,
    public apiVersion: string,
    public kind: string,
    public name: string,
    /** '' for cluster-scoped objects; for a virtual node, the namespace of the dependent that named it. */
    public namespace: string,
  ) {}

  /** This node's reference to `ownerUid`, if it has one. */
  refTo(ownerUid: string): OwnerLink | undefined {
    for (const o of this.owners) if (o.uid === ownerUid) return o;
    return undefined;
  }
}

const NO_OWNERS: readonly OwnerLink[] = Object.freeze([]);

export function groupOf(apiVersion: string): string {
  const slash = apiVersion.indexOf('/');
  return slash === -1 ? '' : apiVersion.slice(0, slash);
}

/**
 * Whether `ref`, held by a dependent in `dependentNamespace`, names `owner`. An ownerReference has no
 * namespace: a namespaced owner must live in the dependent's namespace, and a cluster-scoped
 * dependent cannot have a namespaced owner at all.
 */
export function refNames(
  owner: { apiVersion: string; kind: string; name: string; namespace: string },
  ownerNamespaced: boolean,
  ref: OwnerLink,
  dependentNamespace: string,
): boolean {
  if (ref.kind !== owner.kind || ref.name !== owner.name || groupOf(ref.apiVersion) !== groupOf(owner.apiVersion)) return false;
  return !ownerNamespaced || (dependentNamespace !== '' && owner.namespace === dependentNamespace);
}

function toLinks(refs: OwnerReference[] | undefined): readonly OwnerLink[] {
  if (!Array.isArray(refs) || refs.length === 0) return NO_OWNERS;
  const out: OwnerLink[] = [];
  for (const r of refs) {
    if (!r || typeof r.uid !== 'string' || r.uid === '') continue;
    out.push({ uid: r.uid, apiVersion: String(r.apiVersion ?? ''), kind: String(r.kind ?? ''), name: String(r.name ?? ''), block: r.blockOwnerDeletion === true });
  }
  return out.length === 0 ? NO_OWNERS : out;
}

function sameLink(a: OwnerLink, b: OwnerLink): boolean {
  return a.block === b.block && a.name === b.name && a.kind === b.kind && a.apiVersion === b.apiVersion;
}

/** Owner lists are short; past this size an index beats scanning. */
const SCAN_LIMIT = 8;

function finder(links: readonly OwnerLink[]): (uid: string) => OwnerLink | undefined {
  if (links.length <= SCAN_LIMIT) {
    return (uid) => {
      for (const l of links) if (l.uid === uid) return l;
      return undefined;
    };
  }
  const byUid = new Map(links.map((l) => [l.uid, l]));
  return (uid) => byUid.get(uid);
}

export class DependencyGraph<S> {
  private readonly nodes = new Map<string, GraphNode<S>>();

  /** `enqueue` asks the collector to look at a uid; it must de-duplicate. */
  constructor(private readonly enqueue: (uid: string) => void) {}

  get size(): number {
    return this.nodes.size;
  }

  get(uid: string): GraphNode<S> | undefined {
    return this.nodes.get(uid);
  }

  /** An object was added or modified, as seen by the watch `source`. */
  observe(obj: KubeObject, source: S): void {
    const meta = obj.metadata;
    const uid = meta?.uid;
    if (!meta || !uid) return;
    let node = this.nodes.get(uid);
    // Two resources can serve the same stored objects (core and events.k8s.io Events): the first
    // watch to deliver an object speaks for it, so one object stays one node.
    if (node?.observed && node.source !== source) return;
    const wasOrphaning = node?.orphaning ?? false;
    const wasDeletingDependents = node?.deletingDependents ?? false;
    if (!node) {
      node = new GraphNode<S>(uid, String(obj.apiVersion ?? ''), String(obj.kind ?? ''), meta.name ?? '', meta.namespace ?? '');
      node.observed = true;
      node.source = source;
      this.nodes.set(uid, node);
    } else if (!node.observed) {
      this.becomeObserved(node, obj, source);
    }

    this.setOwners(node, toLinks(meta.ownerReferences));

    const deleting = !!meta.deletionTimestamp;
    const finalizers = Array.isArray(meta.finalizers) ? meta.finalizers : [];
    node.beingDeleted = deleting;
    node.orphaning = deleting && finalizers.includes(FINALIZER_ORPHAN);
    node.deletingDependents = deleting && finalizers.includes(FINALIZER_FOREGROUND);
    if (node.orphaning && !wasOrphaning) this.enqueue(uid);
    if (node.deletingDependents && !wasDeletingDependents) {
      if (node.dependents) for (const d of node.dependents) this.enqueue(d.uid);
      this.enqueue(uid);
    }
  }

  /** An object was deleted, as seen by the watch `source`. */
  observeDeleted(obj: KubeObject, source: S): void {
    const uid = obj.metadata?.uid;
    if (!uid) return;
    const node = this.nodes.get(uid);
    if (!node || !node.observed || node.source !== source) return;
    this.remove(node);
  }

  /**
   * A fresh list from `source` replaces what it had delivered before (after a watch was lost):
   * objects it no longer holds were deleted while nobody was watching.
   */
  replace(items: KubeObject[], source: S, diff: boolean): void {
    const seen = diff ? new Set<string>() : undefined;
    for (const obj of items) {
      this.observe(obj, source);
      const uid = obj.metadata?.uid;
      if (seen && uid) seen.add(uid);
    }
    if (!seen) return;
    const gone: GraphNode<S>[] = [];
    for (const n of this.nodes.values()) if (n.observed && n.source === source && !seen.has(n.uid)) gone.push(n);
    for (const n of gone) this.remove(n);
  }

  /** A resource is not served any more: its objects are gone with it. */
  retire(source: S): void {
    const gone: GraphNode<S>[] = [];
    for (const n of this.nodes.values()) if (n.observed && n.source === source) gone.push(n);
    for (const n of gone) this.remove(n);
  }

  /**
   * Takes a node out of the graph (its object is gone). Its dependents are asked to look at their
   * owners again; owners waiting for their dependents are asked to look again too.
   */
  remove(node: GraphNode<S>): void {
    if (this.nodes.get(node.uid) !== node) return;
    this.nodes.delete(node.uid);
    for (const o of node.owners) this.unlink(node, o.uid);
    if (node.dependents) for (const d of node.dependents) this.enqueue(d.uid);
  }

  /**
   * The API server confirmed that a virtual node's owner does not exist as `names(dep)` describes
   * it. Those dependents are asked to look at their owners again; if other dependents name the uid
   * differently (another namespace, another name), the node stays for them under the identity the
   * first of them uses, and true is returned so the collector verifies that identity too.
   */
  virtualAbsent(node: GraphNode<S>, names: (dependent: GraphNode<S>) => boolean): boolean {
    if (node.observed || this.nodes.get(node.uid) !== node) return false;
    let other: GraphNode<S> | undefined;
    for (const d of node.dependents ?? []) {
      if (names(d)) {
        node.dependents!.delete(d);
        this.enqueue(d.uid);
      } else {
        other ??= d;
      }
    }
    if (!other) {
      this.nodes.delete(node.uid);
      return false;
    }
    const ref = other.refTo(node.uid)!;
    node.apiVersion = ref.apiVersion;
    node.kind = ref.kind;
    node.name = ref.name;
    node.namespace = other.namespace;
    return true;
  }

  /** The dependents whose reference names `owner` validly, with that reference. */
  *dependentsOf(owner: GraphNode<S>): Generator<{ dependent: GraphNode<S>; ref: OwnerLink }> {
    if (!owner.dependents) return;
    const namespaced = owner.namespace !== '';
    for (const dependent of owner.dependents) {
      const ref = dependent.refTo(owner.uid);
      if (ref && refNames(owner, namespaced, ref, dependent.namespace)) yield { dependent, ref };
    }
  }

  private becomeObserved(node: GraphNode<S>, obj: KubeObject, source: S): void {
    node.observed = true;
    node.source = source;
    node.apiVersion = String(obj.apiVersion ?? '');
    node.kind = String(obj.kind ?? '');
    node.name = obj.metadata?.name ?? '';
    node.namespace = obj.metadata?.namespace ?? '';
    // Dependents that named this uid with other coordinates hold an invalid reference, which
    // counts as an absent owner: let them find out.
    const namespaced = node.namespace !== '';
    for (const d of node.dependents ?? []) {
      const ref = d.refTo(node.uid);
      if (!ref || !refNames(node, namespaced, ref, d.namespace)) this.enqueue(d.uid);
    }
  }

  private setOwners(node: GraphNode<S>, next: readonly OwnerLink[]): void {
    const prev = node.owners;
    if (prev.length === 0 && next.length === 0) return;
    const inNext = finder(next);
    const inPrev = finder(prev);
    for (const p of prev) {
      const n = inNext(p.uid);
      if (!n) this.unlink(node, p.uid);
      else if (!sameLink(p, n)) {
        // A reference that stopped blocking (or changed) may be what a foreground owner waits on.
        const owner = this.nodes.get(p.uid);
        if (owner?.deletingDependents) this.enqueue(owner.uid);
      }
    }
    node.owners = next;
    for (const n of next) if (!inPrev(n.uid)) this.link(node, n);
  }

  private link(node: GraphNode<S>, ref: OwnerLink): void {
    let owner = this.nodes.get(ref.uid);
    if (!owner) {
      owner = new GraphNode<S>(ref.uid, ref.apiVersion, ref.kind, ref.name, node.namespace);
      this.nodes.set(ref.uid, owner);
      // Verify the owner exists: if it does not, this dependent (and any other) is garbage.
      this.enqueue(ref.uid);
    }
    (owner.dependents ??= new Set()).add(node);
    // An owner being deleted in the foreground must see its new dependent go too; a reference
    // that does not name the observed owner is dangling.
    if (owner.observed && (owner.deletingDependents || !refNames(owner, owner.namespace !== '', ref, node.namespace))) {
      this.enqueue(node.uid);
    }
  }

  private unlink(node: GraphNode<S>, ownerUid: string): void {
    const owner = this.nodes.get(ownerUid);
    if (!owner?.dependents) return;
    owner.dependents.delete(node);
    if (owner.deletingDependents) this.enqueue(owner.uid);
    if (!owner.observed && owner.dependents.size === 0) this.nodes.delete(ownerUid);
  }
}
