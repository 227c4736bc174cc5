/**
 * Pod Security Standards' vocabulary, after upstream's k8s.io/pod-security-admission/api: the
 * three levels, policy versions ("latest" or "v1.x"), the namespace labels that choose a level and
 * version per mode (enforce, audit, warn), and how those labels turn into the policy to evaluate.
 */

export type Level = 'privileged' | 'baseline' | 'restricted';
export const LEVELS: readonly Level[] = ['privileged', 'baseline', 'restricted'];

/** "latest", or v1.<minor> (every policy version so far is a 1.x). */
export type Version = { latest: true } | { latest: false; minor: number };
export const LATEST: Version = { latest: true };

export interface LevelVersion {
  level: Level;
  version: Version;
}

export interface Policy {
  enforce: LevelVersion;
  audit: LevelVersion;
  warn: LevelVersion;
}

const LABEL_PREFIX = 'pod-security.kubernetes.io/';
export const ENFORCE_LEVEL_LABEL = `${LABEL_PREFIX}enforce`;
export const ENFORCE_VERSION_LABEL = `${LABEL_PREFIX}enforce-version`;
export const AUDIT_LEVEL_LABEL = `${LABEL_PREFIX}audit`;
export const AUDIT_VERSION_LABEL = `${LABEL_PREFIX}audit-version`;
export const WARN_LEVEL_LABEL = `${LABEL_PREFIX}warn`;
export const WARN_VERSION_LABEL = `${LABEL_PREFIX}warn-version`;

/** Audit annotations are these keys under the same prefix (`pod-security.kubernetes.io/audit-violations`). */
export const AUDIT_ANNOTATION_PREFIX = LABEL_PREFIX;
export const EXEMPTION_REASON_ANNOTATION = 'exempt';
export const AUDIT_VIOLATIONS_ANNOTATION = 'audit-violations';
export const ENFORCED_POLICY_ANNOTATION = 'enforce-policy';

export function versionString(v: Version): string {
  return v.latest ? 'latest' : `v1.${v.minor}`;
}

export function levelVersionString(lv: LevelVersion): string {
  return `${lv.level}:${versionString(lv.version)}`;
}

export function sameLevelVersion(a: LevelVersion, b: LevelVersion): boolean {
  return a.level === b.level && versionString(a.version) === versionString(b.version);
}

/** Privileged at any version is the same policy. */
export function equivalentLevelVersion(a: LevelVersion, b: LevelVersion): boolean {
  return (a.level === 'privileged' && b.level === 'privileged') || sameLevelVersion(a, b);
}

export function equivalentPolicy(a: Policy, b: Policy): boolean {
  return equivalentLevelVersion(a.enforce, b.enforce) && equivalentLevelVersion(a.audit, b.audit) && equivalentLevelVersion(a.warn, b.warn);
}

export function fullyPrivileged(p: Policy): boolean {
  return p.enforce.level === 'privileged' && p.audit.level === 'privileged' && p.warn.level === 'privileged';
}

/** An invalid level reads as restricted (fail closed), with upstream's message. */
export function parseLevel(value: string): { level: Level; error?: string } {
  if ((LEVELS as readonly string[]).includes(value)) return { level: value as Level };
  return { level: 'restricted', error: `must be one of ${LEVELS.join(', ')}` };
}

const VERSION_PATTERN = /^v1\.([0-9]|[1-9][0-9]*)$/;

/** An invalid version reads as latest, with upstream's message. */
export function parseVersion(value: string): { version: Version; error?: string } {
  if (value === 'latest') return { version: LATEST };
  const m = VERSION_PATTERN.exec(value);
  const minor = m ? Number(m[1]) : NaN;
  // Go's Atoi refuses what does not fit an int64; a safe integer is the closest test we have.
  if (!Number.isSafeInteger(minor)) return { version: LATEST, error: 'must be "latest" or "v1.x"' };
  return { version: { latest: false, minor } };
}

/** -1, 0 or 1 as a is less, as, or more restrictive than b. */
export function compareLevels(a: Level, b: Level): number {
  return Math.sign(LEVELS.indexOf(a) - LEVELS.indexOf(b));
}

/** One invalid label, as upstream's field.Invalid on metadata.labels[<key>]. */
export interface LabelError {
  field: string;
  value: string;
  detail: string;
}

export function labelErrorString(e: LabelError): string {
  return `${e.field}: Invalid value: ${JSON.stringify(e.value)}: ${e.detail}`;
}

/**
 * The policy a namespace's labels ask for, over the configured defaults. An invalid enforce level
 * enforces restricted; an invalid audit or warn level falls back to privileged (fail open); an
 * invalid version means latest. Without its own warn label, warn follows a stricter enforce label.
 */
export function policyToEvaluate(labels: Record<string, unknown> | undefined, defaults: Policy): { policy: Policy; errors: LabelError[] } {
  const p: Policy = { enforce: { ...defaults.enforce }, audit: { ...defaults.audit }, warn: { ...defaults.warn } };
  const errors: LabelError[] = [];
  if (!labels || typeof labels !== 'object') return { policy: p, errors };
  const get = (key: string): string | undefined => (Object.hasOwn(labels, key) ? String(labels[key] ?? '') : undefined);
  const fail = (key: string, value: string, detail: string | undefined) => {
    if (detail) errors.push({ field: `metadata.labels[${key}]`, value, detail });
  };

  let hasEnforceLevel = false;
  let v = get(ENFORCE_LEVEL_LABEL);
  if (v !== undefined) {
    const r = parseLevel(v);
    p.enforce.level = r.level;
    hasEnforceLevel = !r.error;
    fail(ENFORCE_LEVEL_LABEL, v, r.error);
  }
  v = get(ENFORCE_VERSION_LABEL);
  if (v !== undefined) {
    const r = parseVersion(v);
    p.enforce.version = r.version;
    fail(ENFORCE_VERSION_LABEL, v, r.error);
  }
  v = get(AUDIT_LEVEL_LABEL);
  if (v !== undefined) {
    const r = parseLevel(v);
    p.audit.level = r.error ? 'privileged' : r.level;
    fail(AUDIT_LEVEL_LABEL, v, r.error);
  }
  v = get(AUDIT_VERSION_LABEL);
  if (v !== undefined) {
    const r = parseVersion(v);
    p.audit.version = r.version;
    fail(AUDIT_VERSION_LABEL, v, r.error);
  }
  const warnLevel = get(WARN_LEVEL_LABEL);
  if (warnLevel !== undefined) {
    const r = parseLevel(warnLevel);
    p.warn.level = r.error ? 'privileged' : r.level;
    fail(WARN_LEVEL_LABEL, warnLevel, r.error);
  }
  const warnVersion = get(WARN_VERSION_LABEL);
  if (warnVersion !== undefined) {
    const r = parseVersion(warnVersion);
    p.warn.version = r.version;
    fail(WARN_VERSION_LABEL, warnVersion, r.error);
  }
  // Warn about what enforce would refuse, unless the namespace chose its own warn level.
  if (warnLevel === undefined && hasEnforceLevel && compareLevels(p.enforce.level, p.warn.level) > 0) {
    p.warn.level = p.enforce.level;
    if (warnVersion === undefined) p.warn.version = p.enforce.version;
  }
  return { policy: p, errors };
}
