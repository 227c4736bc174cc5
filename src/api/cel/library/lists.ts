/**
 * Kubernetes' lists library (k8s.io/apiserver/pkg/cel/library/lists.go): isSorted, sum, min, max,
 * indexOf, lastIndexOf; and cel-go's sets extension (sets.contains, sets.equivalent, sets.intersects).
 */
import type { Environment } from '@marcbachmann/cel-js';
import { Duration } from '@marcbachmann/cel-js/evaluator';
import { charge } from '../cost.js';
import { celCompare, celEquals, celError } from './values.js';

function sum(list: unknown[]): unknown {
  charge(list.length);
  if (list.length === 0) return 0n;
  let acc: unknown = list[0];
  for (let i = 1; i < list.length; i++) {
    const v = list[i];
    if (typeof acc === 'bigint' && typeof v === 'bigint') acc = acc + v;
    else if (typeof acc === 'number' && typeof v === 'number') acc = acc + v;
    else if (acc instanceof Duration && v instanceof Duration) acc = acc.addDuration(v);
    else throw celError('no such overload: sum');
  }
  return acc;
}

function extreme(list: unknown[], sign: number, name: string): unknown {
  charge(list.length);
  if (list.length === 0) throw celError(`${name} called on empty list`);
  let best = list[0];
  for (let i = 1; i < list.length; i++) if (celCompare(list[i], best) * sign > 0) best = list[i];
  return best;
}

class SetsNamespace {}

function contains(a: unknown[], b: unknown[]): boolean {
  charge(a.length * b.length);
  return b.every((x) => a.some((y) => celEquals(x, y)));
}

export function registerLists(env: Environment): void {
  env.registerFunction('list<A>.isSorted(): bool', (list: unknown[]) => {
    charge(list.length);
    for (let i = 1; i < list.length; i++) if (celCompare(list[i - 1], list[i]) > 0) return false;
    return true;
  });
  env.registerFunction('list<A>.sum(): A', sum);
  env.registerFunction('list<A>.min(): A', (l: unknown[]) => extreme(l, -1, 'min'));
  env.registerFunction('list<A>.max(): A', (l: unknown[]) => extreme(l, 1, 'max'));
  env.registerFunction('list<A>.indexOf(A): int', (l: unknown[], v: unknown) => {
    charge(l.length);
    return BigInt(l.findIndex((x) => celEquals(x, v)));
  });
  env.registerFunction('list<A>.lastIndexOf(A): int', (l: unknown[], v: unknown) => {
    charge(l.length);
    for (let i = l.length - 1; i >= 0; i--) if (celEquals(l[i], v)) return BigInt(i);
    return -1n;
  });
  env.registerType('k8s.SetsNamespace', SetsNamespace);
  env.registerConstant('sets', 'k8s.SetsNamespace', new SetsNamespace());
  env.registerFunction('k8s.SetsNamespace.contains(list, list): bool', (_: unknown, a: unknown[], b: unknown[]) => contains(a, b));
  env.registerFunction('k8s.SetsNamespace.equivalent(list, list): bool', (_: unknown, a: unknown[], b: unknown[]) => contains(a, b) && contains(b, a));
  env.registerFunction('k8s.SetsNamespace.intersects(list, list): bool', (_: unknown, a: unknown[], b: unknown[]) => {
    charge(a.length * b.length);
    return a.some((x) => b.some((y) => celEquals(x, y)));
  });
}
