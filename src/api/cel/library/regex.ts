/**
 * Kubernetes' regex library (library/regex.go): find and findAll. Patterns are RE2 upstream; here
 * they run as JavaScript regular expressions, which accept a superset of RE2's syntax.
 */
import type { Environment } from '@marcbachmann/cel-js';
import { celError } from './values.js';
import { chargeString } from './strings.js';

const compiled = new Map<string, RegExp>();

export function compileRegex(pattern: string): RegExp {
  let re = compiled.get(pattern);
  if (!re) {
    try {
      re = new RegExp(pattern, 'gu');
    } catch (err) {
      throw celError(`error parsing regexp: ${(err as Error).message}`);
    }
    if (compiled.size > 1000) compiled.clear();
    compiled.set(pattern, re);
  }
  re.lastIndex = 0;
  return re;
}

function findAll(s: string, pattern: string, limit: bigint): string[] {
  chargeString(s);
  if (limit === 0n) return [];
  const out: string[] = [];
  const re = compileRegex(pattern);
  for (const m of s.matchAll(re)) {
    out.push(m[0]);
    if (limit > 0n && BigInt(out.length) >= limit) break;
  }
  return out;
}

export function registerRegex(env: Environment): void {
  env.registerFunction('string.find(string): string', (s: string, p: string) => {
    chargeString(s);
    const m = compileRegex(p).exec(s);
    return m ? m[0] : '';
  });
  env.registerFunction('string.findAll(string): list<string>', (s: string, p: string) => findAll(s, p, -1n));
  env.registerFunction('string.findAll(string, int): list<string>', (s: string, p: string, n: bigint) => findAll(s, p, n));
}
