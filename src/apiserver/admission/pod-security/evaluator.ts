/**
 * Which checks a level and version run, and their results put together, after upstream's
 * policy/registry.go and checks.go. Baseline at v1.N runs every baseline check in the version it
 * had at v1.N; restricted runs those too, minus the baseline checks a restricted one replaces, plus
 * the restricted checks. Checks run in order of their IDs, baseline first, which fixes the order of
 * the reasons in every message. "latest" and versions newer than the newest check are evaluated at
 * the newest check's version. The lists are built once, so an evaluation is a loop over functions.
 */
import type { LevelVersion } from './api.js';
import { DEFAULT_CHECKS, type Check, type CheckPod, type CheckResult } from './checks.js';

export interface AggregateCheckResult {
  allowed: boolean;
  forbiddenReasons: string[];
  forbiddenDetails: string[];
}

const UNKNOWN_FORBIDDEN_REASON = 'unknown forbidden reason';

export function aggregateCheckResults(results: CheckResult[]): AggregateCheckResult {
  const forbiddenReasons: string[] = [];
  const forbiddenDetails: string[] = [];
  for (const r of results) {
    if (r.allowed) continue;
    forbiddenReasons.push(r.forbiddenReason || UNKNOWN_FORBIDDEN_REASON);
    forbiddenDetails.push(r.forbiddenDetail ?? '');
  }
  return { allowed: forbiddenReasons.length === 0, forbiddenReasons, forbiddenDetails };
}

/** `reason1, reason2` (what the namespace check reports per pod). */
export function forbiddenReason(r: AggregateCheckResult): string {
  return r.forbiddenReasons.join(', ');
}

/** `reason1 (detail1), reason2 (detail2)` (what denials, warnings and audit annotations say). */
export function forbiddenDetail(r: AggregateCheckResult): string {
  return r.forbiddenReasons.map((reason, i) => (r.forbiddenDetails[i] ? `${reason} (${r.forbiddenDetails[i]})` : reason)).join(', ');
}

export class Evaluator {
  /** Per minor version, the check functions of each level, in evaluation order. */
  private readonly baseline: CheckPod[][] = [];
  private readonly restricted: CheckPod[][] = [];
  readonly maxMinor: number;

  constructor(checks: readonly Check[] = DEFAULT_CHECKS) {
    validateChecks(checks);
    this.maxMinor = Math.max(0, ...checks.map((c) => c.versions[c.versions.length - 1].minimumMinor));
    const byId = (a: Check, b: Check) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
    const baselineChecks = checks.filter((c) => c.level === 'baseline').sort(byId);
    const restrictedChecks = checks.filter((c) => c.level === 'restricted').sort(byId);
    for (let minor = 0; minor <= this.maxMinor; minor++) {
      const baseline: CheckPod[] = [];
      const overridden = new Set<string>();
      const restrictedOwn: CheckPod[] = [];
      for (const c of restrictedChecks) {
        const v = versionAt(c, minor);
        if (!v) continue;
        restrictedOwn.push(v.checkPod);
        for (const id of v.overrides ?? []) overridden.add(id);
      }
      const restricted: CheckPod[] = [];
      for (const c of baselineChecks) {
        const v = versionAt(c, minor);
        if (!v) continue;
        baseline.push(v.checkPod);
        if (!overridden.has(c.id)) restricted.push(v.checkPod);
      }
      this.baseline.push(baseline);
      this.restricted.push([...restricted, ...restrictedOwn]);
    }
  }

  evaluatePod(lv: LevelVersion, meta: unknown, spec: unknown): CheckResult[] {
    if (lv.level === 'privileged') return [];
    const minor = lv.version.latest ? this.maxMinor : Math.min(lv.version.minor, this.maxMinor);
    const checks = lv.level === 'baseline' ? this.baseline[minor] : this.restricted[minor];
    return checks.map((check) => check(meta, spec));
  }

  evaluate(lv: LevelVersion, meta: unknown, spec: unknown): AggregateCheckResult {
    return aggregateCheckResults(this.evaluatePod(lv, meta, spec));
  }
}

/** The version of a check in force at v1.<minor>, if it existed yet. */
function versionAt(c: Check, minor: number) {
  let found;
  for (const v of c.versions) if (v.minimumMinor <= minor) found = v;
  return found;
}

function validateChecks(checks: readonly Check[]): void {
  const ids = new Map<string, string>();
  for (const c of checks) {
    if (ids.has(c.id)) throw new Error(`multiple checks registered for ID ${c.id}`);
    ids.set(c.id, c.level);
    if (c.versions.length === 0) throw new Error(`check ${c.id}: empty`);
    for (let i = 1; i < c.versions.length; i++) {
      if (c.versions[i].minimumMinor <= c.versions[i - 1].minimumMinor) throw new Error(`check ${c.id}: versions must be strictly increasing`);
    }
  }
  for (const c of checks) {
    for (const v of c.versions) {
      if (!v.overrides?.length) continue;
      if (c.level !== 'restricted') throw new Error(`check ${c.id}: only restricted checks may set overrides`);
      for (const id of v.overrides) if (ids.get(id) === 'restricted') throw new Error(`check ${c.id}: overrides restricted check ${id}`);
    }
  }
}
