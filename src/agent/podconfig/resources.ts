/**
 * Container cgroup settings from its resources, as the kubelet computes them
 * (calculateLinuxResources, cm.MilliCPUToShares / MilliCPUToQuota): cpu.shares from the cpu request
 * (the limit when only that is set; 2 when neither), a CFS quota from the cpu limit over a 100 ms
 * period, the memory limit in bytes.
 */
import { quantityNano } from '../../api/validation/quantity.js';
import type { ContainerResources } from '../cri.js';

export const MIN_SHARES = 2;
export const MAX_SHARES = 262144;
export const SHARES_PER_CPU = 1024;
export const QUOTA_PERIOD_US = 100000;
export const MIN_QUOTA_PERIOD_US = 1000;

export function milliCPUToShares(milliCPU: number): number {
  if (milliCPU <= 0) return MIN_SHARES;
  const shares = Math.floor((milliCPU * SHARES_PER_CPU) / 1000);
  return Math.min(MAX_SHARES, Math.max(MIN_SHARES, shares));
}

/** 0 means no quota. */
export function milliCPUToQuota(milliCPU: number, periodUs = QUOTA_PERIOD_US): number {
  if (milliCPU <= 0) return 0;
  return Math.max(MIN_QUOTA_PERIOD_US, Math.floor((milliCPU * periodUs) / 1000));
}

function milli(q: unknown): number {
  const nano = quantityNano(q);
  return nano <= 0n ? 0 : Number((nano + 999_999n) / 1_000_000n);
}

function bytes(q: unknown): number {
  const nano = quantityNano(q);
  return nano <= 0n ? 0 : Number((nano + 999_999_999n) / 1_000_000_000n);
}

export function containerResources(container: any, opts: { pidsLimit?: number } = {}): ContainerResources {
  const requests = container?.resources?.requests ?? {};
  const limits = container?.resources?.limits ?? {};
  const cpuRequest = milli(requests.cpu);
  const cpuLimit = milli(limits.cpu);
  const out: ContainerResources = {
    cpuShares: milliCPUToShares(cpuRequest === 0 && cpuLimit > 0 ? cpuLimit : cpuRequest),
  };
  const quota = milliCPUToQuota(cpuLimit);
  if (quota > 0) {
    out.cpuQuotaUs = quota;
    out.cpuPeriodUs = QUOTA_PERIOD_US;
  }
  const mem = bytes(limits.memory);
  if (mem > 0) out.memoryLimitBytes = mem;
  if (opts.pidsLimit !== undefined && opts.pidsLimit > 0) out.pidsLimit = opts.pidsLimit;
  return out;
}
