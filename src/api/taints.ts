/**
 * Taints and tolerations, as upstream's core/v1 helpers (Toleration.ToleratesTaint), shared by the
 * scheduler, the DaemonSet controller and taint-based eviction.
 */
export interface Taint {
  key: string;
  value?: string;
  effect: string;
  timeAdded?: string;
}

export interface Toleration {
  key?: string;
  operator?: string;
  value?: string;
  effect?: string;
  tolerationSeconds?: number;
}

/** A taint or toleration with every field a string, as hot paths want them (no `??` per compare). */
export type NormalTaint = Required<Omit<Taint, 'timeAdded'>>;
export type NormalToleration = Required<Omit<Toleration, 'tolerationSeconds'>>;

export function toTaints(list: unknown): NormalTaint[] {
  if (!Array.isArray(list)) return [];
  return list
    .filter((t) => t && typeof t === 'object')
    .map((t) => ({ key: String(t.key ?? ''), value: String(t.value ?? ''), effect: String(t.effect ?? '') }));
}

export function toTolerations(list: unknown): NormalToleration[] {
  if (!Array.isArray(list)) return [];
  return list
    .filter((t) => t && typeof t === 'object')
    .map((t) => ({ key: String(t.key ?? ''), operator: String(t.operator ?? ''), value: String(t.value ?? ''), effect: String(t.effect ?? '') }));
}

/** Upstream's Toleration.ToleratesTaint. */
export function toleratesTaint(tol: Toleration, taint: Taint): boolean {
  if (tol.effect && tol.effect !== taint.effect) return false;
  if (tol.key && tol.key !== taint.key) return false;
  switch (tol.operator ?? '') {
    case '':
    case 'Equal':
      return (tol.value ?? '') === (taint.value ?? '');
    case 'Exists':
      return true;
    default:
      return false;
  }
}

export function tolerationsTolerateTaint(tols: readonly Toleration[], taint: Taint): boolean {
  for (let i = 0; i < tols.length; i++) if (toleratesTaint(tols[i], taint)) return true;
  return false;
}

/** The first of `taints` that no toleration tolerates, or undefined. */
export function findUntoleratedTaint<T extends Taint>(taints: readonly T[], tols: readonly Toleration[]): T | undefined {
  for (let i = 0; i < taints.length; i++) if (!tolerationsTolerateTaint(tols, taints[i])) return taints[i];
  return undefined;
}
