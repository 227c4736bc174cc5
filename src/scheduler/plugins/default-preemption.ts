/**
 * DefaultPreemption, the PostFilter of upstream's default profile: when no node fits a pod, find a
 * node where removing pods of lower priority would make it fit, evict those victims and nominate
 * the node for the pod (status.nominatedNodeName), which is then retried.
 *
 * - A pod with preemptionPolicy: Never never preempts; nor does one whose nominated node still has
 *   a lower-priority pod terminating from an earlier preemption.
 * - Only nodes rejected as Unschedulable are tried (UnschedulableAndUnresolvable ones cannot be
 *   helped). On each, all lower-priority pods are removed; if the pod then fits, they are added
 *   back one by one, most important first (PodDisruptionBudget-violating ones before the others),
 *   and those that make the pod not fit stay victims: a minimal set, as upstream.
 * - Among the candidate nodes, upstream's order decides: fewest PDB violations, then the lowest
 *   highest victim priority, the lowest sum of priorities, the fewest victims, the latest start
 *   time of the most important victims.
 * - Lower-priority pods nominated to the chosen node lose their nomination.
 */
import type { KubeObject } from '../../api/types.js';
import { labelSelectorFromObject } from '../../api/selectors.js';
import { Code, FitError, Status, type CycleState, type Framework, type PostFilterPlugin, type PostFilterResult } from '../framework.js';
import type { NodeInfo } from '../node-info.js';
import type { PodInfo } from '../pod-info.js';

export const DEFAULT_PREEMPTION = 'DefaultPreemption';
export const MSG_NEVER = 'not eligible due to preemptionPolicy=Never.';
export const MSG_TERMINATING = 'not eligible due to a terminating pod on the nominated node.';
export const MSG_NOT_HELPFUL = 'Preemption is not helpful for scheduling';
export const MSG_NO_VICTIMS = 'No preemption victims found for incoming pod';

export interface PreemptionActions {
  /** Evicts `victim` (DisruptionTarget condition, delete, Preempted event). */
  evict(victim: PodInfo, preemptor: PodInfo, node: string): void;
  /** Clears the nomination of pods that lost the node to a more important one. */
  clearNomination(pod: PodInfo): void;
}

export interface DefaultPreemptionOptions {
  actions: PreemptionActions;
  /** PodDisruptionBudgets to respect where possible. */
  pdbs?: () => readonly KubeObject[];
  /** The pod's current nominated node (status or in memory). */
  nominatedNodeOf?: (pod: PodInfo) => string | undefined;
  random?: () => number;
  minCandidateNodesPercentage?: number;
  minCandidateNodesAbsolute?: number;
}

interface Candidate {
  node: string;
  victims: PodInfo[];
  pdbViolations: number;
}

/** Upstream's MoreImportantPod: higher priority, then the earlier start. */
function moreImportant(a: PodInfo, b: PodInfo, now: number): boolean {
  if (a.priority !== b.priority) return a.priority > b.priority;
  return (a.startMs ?? now) < (b.startMs ?? now);
}

function terminatingByPreemption(p: PodInfo): boolean {
  if (!p.terminating) return false;
  const conds = p.pod.status?.conditions;
  return Array.isArray(conds) && conds.some((c: any) => c?.type === 'DisruptionTarget' && c.status === 'True' && c.reason === 'PreemptionByScheduler');
}

interface Budget {
  namespace: string;
  matches: (p: PodInfo) => boolean;
  disrupted: ReadonlySet<string>;
  allowed: number;
}

function budgetsOf(pdbs: readonly KubeObject[]): Budget[] {
  const out: Budget[] = [];
  for (const pdb of pdbs) {
    let sel;
    try {
      sel = labelSelectorFromObject(pdb.spec?.selector);
    } catch {
      continue;
    }
    // A PDB with a nil or empty selector matches nothing.
    if (sel.empty || sel.nothing) continue;
    out.push({
      namespace: pdb.metadata?.namespace ?? '',
      matches: (p) => sel.matches(p.labels),
      disrupted: new Set(Object.keys(pdb.status?.disruptedPods ?? {})),
      allowed: typeof pdb.status?.disruptionsAllowed === 'number' ? pdb.status.disruptionsAllowed : 0,
    });
  }
  return out;
}

/** Splits victims into those whose eviction would break a PodDisruptionBudget and the rest. */
function splitByBudget(victims: PodInfo[], budgets: Budget[]): { violating: PodInfo[]; nonViolating: PodInfo[] } {
  const allowed = budgets.map((b) => b.allowed);
  const violating: PodInfo[] = [];
  const nonViolating: PodInfo[] = [];
  for (const v of victims) {
    let broken = false;
    if (Object.keys(v.labels).length > 0) {
      budgets.forEach((b, i) => {
        if (b.namespace !== v.namespace || !b.matches(v) || b.disrupted.has(v.name)) return;
        allowed[i]--;
        if (allowed[i] < 0) broken = true;
      });
    }
    (broken ? violating : nonViolating).push(v);
  }
  return { violating, nonViolating };
}

export function newDefaultPreemption(opts: DefaultPreemptionOptions): PostFilterPlugin {
  const random = opts.random ?? Math.random;
  const pct = opts.minCandidateNodesPercentage ?? 10;
  const abs = opts.minCandidateNodesAbsolute ?? 100;

  /** Upstream's SelectVictimsOnNode, on a copy of the node and the cycle state. */
  function selectVictims(fw: Framework, state: CycleState, pod: PodInfo, node: NodeInfo, budgets: Budget[], now: number): { victims?: PodInfo[]; pdbViolations?: number; status: Status | null } {
    const remove = (p: PodInfo) => {
      node.removePod(p.key);
      fw.runRemovePod(state, pod, p, node);
    };
    const add = (p: PodInfo) => {
      node.addPod(p);
      fw.runAddPod(state, pod, p, node);
    };
    const potential = node.pods.filter((p) => p.priority < pod.priority);
    if (potential.length === 0) return { status: Status.unresolvable(MSG_NO_VICTIMS) };
    for (const p of potential) remove(p);
    const fits = fw.runFilterWithNominatedPods(state, pod, node);
    if (fits !== null) return { status: fits };
    potential.sort((a, b) => (moreImportant(a, b, now) ? -1 : moreImportant(b, a, now) ? 1 : 0));
    const { violating, nonViolating } = splitByBudget(potential, budgets);
    const victims: PodInfo[] = [];
    let pdbViolations = 0;
    const reprieve = (p: PodInfo): boolean => {
      add(p);
      if (fw.runFilterWithNominatedPods(state, pod, node) === null) return true;
      remove(p);
      victims.push(p);
      return false;
    };
    for (const p of violating) if (!reprieve(p)) pdbViolations++;
    for (const p of nonViolating) reprieve(p);
    return { victims, pdbViolations, status: null };
  }

  /** Upstream's pickOneNodeForPreemption. */
  function pick(candidates: Candidate[], now: number): Candidate {
    let best = candidates;
    const narrow = (score: (c: Candidate) => number) => {
      if (best.length <= 1) return;
      let max = -Infinity;
      let keep: Candidate[] = [];
      for (const c of best) {
        const s = score(c);
        if (s > max) {
          max = s;
          keep = [c];
        } else if (s === max) keep.push(c);
      }
      best = keep;
    };
    const highest = (c: Candidate) => (c.victims.length > 0 ? Math.max(...c.victims.map((v) => v.priority)) : -Infinity);
    narrow((c) => -c.pdbViolations);
    narrow((c) => -highest(c));
    // Offset by MaxInt32+1 so that negative priorities still add up as upstream's.
    narrow((c) => -c.victims.reduce((s, v) => s + v.priority + 2 ** 31, 0));
    narrow((c) => -c.victims.length);
    narrow((c) => {
      const top = highest(c);
      let earliest = Infinity;
      for (const v of c.victims) if (v.priority === top) earliest = Math.min(earliest, v.startMs ?? now);
      return earliest;
    });
    return best[0];
  }

  /** Upstream's Evaluator.Preempt. */
  function preempt(state: CycleState, pod: PodInfo, statuses: ReadonlyMap<string, Status>, fw: Framework): { result?: PostFilterResult; status: Status } {
    if (pod.preemptionPolicy === 'Never') return { status: Status.unschedulable(MSG_NEVER) };
    const h = fw.handle;
    const nominated = (opts.nominatedNodeOf ? opts.nominatedNodeOf(pod) : pod.pod.status?.nominatedNodeName) ?? '';
    if (nominated !== '' && statuses.get(nominated)?.code !== Code.UnschedulableAndUnresolvable) {
      const info = h.nodeInfo(nominated);
      if (info?.pods.some((p) => p.priority < pod.priority && terminatingByPreemption(p))) return { status: Status.unschedulable(MSG_TERMINATING) };
    }

    const all = h.nodes();
    const preemptionStatuses = new Map<string, Status>();
    const potential: NodeInfo[] = [];
    const notHelpful = Status.unresolvable(MSG_NOT_HELPFUL);
    for (const n of all) {
      if (statuses.get(n.name)?.code === Code.UnschedulableAndUnresolvable) preemptionStatuses.set(n.name, notHelpful);
      else potential.push(n);
    }

    const candidates: Candidate[] = [];
    if (potential.length > 0) {
      const budgets = budgetsOf(opts.pdbs?.() ?? []);
      const now = Date.now();
      const wanted = Math.min(potential.length, Math.max(Math.floor((potential.length * pct) / 100), abs));
      const offset = Math.floor(random() * potential.length);
      let nonViolating = 0;
      const noVictims = Status.unresolvable(MSG_NO_VICTIMS);
      for (let i = 0; i < potential.length; i++) {
        const node = potential[(offset + i) % potential.length];
        // Most nodes of a full cluster hold nothing of lower priority: say so without copying them.
        if (!node.pods.some((p) => p.priority < pod.priority)) {
          preemptionStatuses.set(node.name, noVictims);
          continue;
        }
        const out = selectVictims(fw, state.clone(), pod, node.clone(), budgets, now);
        if (out.status === null && out.victims && out.victims.length > 0) {
          candidates.push({ node: node.name, victims: out.victims, pdbViolations: out.pdbViolations ?? 0 });
          if (out.pdbViolations === 0) nonViolating++;
          if (nonViolating > 0 && candidates.length >= wanted) break;
          continue;
        }
        preemptionStatuses.set(node.name, out.status ?? Status.error(`expected at least one victim pod on node "${node.name}"`));
      }
    }

    if (candidates.length === 0) {
      const fit = new FitError(preemptionStatuses.size, preemptionStatuses, new Set());
      return { result: { nominatedNodeName: '' }, status: Status.unschedulable(fit.message()) };
    }

    const best = pick(candidates, Date.now());
    for (const v of best.victims) opts.actions.evict(v, pod, best.node);
    for (const np of [...(h.nominatedPods(best.node) ?? [])]) {
      if (np.priority < pod.priority && np.uid !== pod.uid) opts.actions.clearNomination(np);
    }
    return { result: { nominatedNodeName: best.node }, status: new Status(Code.Success) };
  }

  return {
    name: DEFAULT_PREEMPTION,
    postFilter(state, pod, statuses, fw) {
      const out = preempt(state, pod, statuses, fw);
      const msg = out.status.message();
      return msg === '' ? out : { result: out.result, status: new Status(out.status.code, [`preemption: ${msg}`]) };
    },
  };
}
