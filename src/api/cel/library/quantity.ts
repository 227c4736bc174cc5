/**
 * Kubernetes' quantity library (library/quantity.go): quantity(), isQuantity(), sign(),
 * isInteger(), asInteger(), asApproximateFloat(), add(), sub(), compareTo(), isLessThan(),
 * isGreaterThan(), and == between quantities. Parsing is the API's own (validation/quantity.ts).
 */
import type { Environment } from '@marcbachmann/cel-js';
import { parseQuantity, formatQuantity, type QuantityFormat } from '../../validation/quantity.js';
import { celError } from './values.js';

const NANO = 1_000_000_000n;
const MAX_INT64 = (1n << 63n) - 1n;
const MIN_INT64 = -(1n << 63n);

export class CelQuantity {
  constructor(
    readonly nano: bigint,
    readonly format: QuantityFormat,
  ) {}

  compareTo(o: CelQuantity): number {
    return this.nano < o.nano ? -1 : this.nano > o.nano ? 1 : 0;
  }

  equals(o: unknown): boolean {
    return o instanceof CelQuantity && o.nano === this.nano;
  }

  toString(): string {
    return formatQuantity({ nano: this.nano, format: this.format });
  }
}

export function parseCelQuantity(s: string): CelQuantity | string {
  const q = parseQuantity(s);
  if (typeof q === 'string') return q;
  if (q.nano === undefined) return 'quantity is too large';
  return new CelQuantity(q.nano, q.format);
}

function isInteger(q: CelQuantity): boolean {
  if (q.nano % NANO !== 0n) return false;
  const v = q.nano / NANO;
  return v <= MAX_INT64 && v >= MIN_INT64;
}

export function registerQuantity(env: Environment): void {
  env.registerType('k8s.Quantity', CelQuantity);
  env.registerFunction('quantity(string): k8s.Quantity', (s: string) => {
    const q = parseCelQuantity(s);
    if (typeof q === 'string') throw celError(q);
    return q;
  });
  env.registerFunction('isQuantity(string): bool', (s: string) => typeof parseCelQuantity(s) !== 'string');
  env.registerFunction('k8s.Quantity.sign(): int', (q: CelQuantity) => (q.nano > 0n ? 1n : q.nano < 0n ? -1n : 0n));
  env.registerFunction('k8s.Quantity.isInteger(): bool', isInteger);
  env.registerFunction('k8s.Quantity.asInteger(): int', (q: CelQuantity) => {
    if (!isInteger(q)) throw celError('cannot convert value to integer');
    return q.nano / NANO;
  });
  env.registerFunction('k8s.Quantity.asApproximateFloat(): double', (q: CelQuantity) => Number(q.nano) / 1e9);
  env.registerFunction('k8s.Quantity.add(k8s.Quantity): k8s.Quantity', (a: CelQuantity, b: CelQuantity) => new CelQuantity(a.nano + b.nano, a.format));
  env.registerFunction('k8s.Quantity.add(int): k8s.Quantity', (a: CelQuantity, b: bigint) => new CelQuantity(a.nano + b * NANO, a.format));
  env.registerFunction('k8s.Quantity.sub(k8s.Quantity): k8s.Quantity', (a: CelQuantity, b: CelQuantity) => new CelQuantity(a.nano - b.nano, a.format));
  env.registerFunction('k8s.Quantity.sub(int): k8s.Quantity', (a: CelQuantity, b: bigint) => new CelQuantity(a.nano - b * NANO, a.format));
  env.registerFunction('k8s.Quantity.compareTo(k8s.Quantity): int', (a: CelQuantity, b: CelQuantity) => BigInt(a.compareTo(b)));
  env.registerFunction('k8s.Quantity.isLessThan(k8s.Quantity): bool', (a: CelQuantity, b: CelQuantity) => a.nano < b.nano);
  env.registerFunction('k8s.Quantity.isGreaterThan(k8s.Quantity): bool', (a: CelQuantity, b: CelQuantity) => a.nano > b.nano);
  env.registerOperator('k8s.Quantity == k8s.Quantity', (a: CelQuantity, b: CelQuantity) => a.equals(b));
}
