/**
 * Taints and tolerations, as upstream's core/v1 helpers (Toleration.ToleratesTaint).
 */
export interface Taint {
  key: string;
  value: string;
  effect: string;
}

export interface Toleration {
  key: string;
  operator: string;
  value: string;
  effect: string;
}

export function toTaints(list: unknown): Taint[] {
  if (!Array.isArray(list)) return [];
  return list
    .filter((t) => t && typeof t === 'object')
    .map((t) => ({ key: String(t.key ?? ''), value: String(t.value ?? ''), effect: String(t.effect ?? '') }));
}

export function toTolerations(list: unknown): Toleration[] {
  if (!Array.isArray(list)) return [];
  return list
    .filter((t) => t && typeof t === 'object')
    .map((t) => ({ key: String(t.key ?? ''), operator: String(t.operator ?? ''), value: String(t.value ?? ''), effect: String(t.effect ?? '') }));
}

export function toleratesTaint(tol: Toleration, taint: Taint): boolean {
  if (tol.effect !== '' && tol.effect !== taint.effect) return false;
  if (tol.key !== '' && tol.key !== taint.key) return false;
  switch (tol.operator) {
    case '':
    case 'Equal':
      return tol.value === taint.value;
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
export function findUntoleratedTaint(taints: readonly Taint[], tols: readonly Toleration[]): Taint | undefined {
  for (let i = 0; i < taints.length; i++) if (!tolerationsTolerateTaint(tols, taints[i])) return taints[i];
  return undefined;
}
