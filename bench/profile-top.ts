/**
 * Summarizes a V8 .cpuprofile (from `bench/run.js --profile`): where the server spent its CPU, by
 * function (self and inclusive) and by file/package. Shares are of busy time (everything but idle).
 *
 *   node dist/bench/profile-top.js bench/results/profiles/sqlite-create.cpuprofile [--top 25]
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
  columnNumber: number;
}

interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

export interface ProfileSummary {
  totalMs: number;
  busyMs: number;
  self: { key: string; ms: number; share: number }[];
  inclusive: { key: string; ms: number; share: number }[];
  byFile: { key: string; ms: number; share: number }[];
}

/** "file:///work/main/dist/src/x.js" → "dist/src/x.js"; node_modules/<pkg>/… → "<pkg>"; node:… stays. */
function shortUrl(url: string): string {
  if (!url) return '';
  let u = url.replace(/^file:\/\//, '');
  const nm = u.lastIndexOf('node_modules/');
  if (nm !== -1) {
    const rest = u.slice(nm + 'node_modules/'.length).split('/');
    return `npm:${rest[0].startsWith('@') ? `${rest[0]}/${rest[1]}` : rest[0]}`;
  }
  const d = u.indexOf('/dist/');
  if (d !== -1) u = u.slice(d + 1);
  return u;
}

function frameKey(f: CallFrame): string {
  const name = f.functionName || '(anonymous)';
  const url = shortUrl(f.url);
  return url ? `${name} ${url}:${f.lineNumber + 1}` : name;
}

function fileKey(f: CallFrame): string {
  const url = shortUrl(f.url);
  if (url) return url;
  // Native and VM frames: (garbage collector), (program), (idle), or a builtin's name.
  return f.functionName.startsWith('(') ? f.functionName : '(native/builtin)';
}

export function summarizeProfile(p: CpuProfile, top = 25): ProfileSummary {
  const byId = new Map<number, ProfileNode>();
  const parent = new Map<number, number>();
  for (const n of p.nodes) {
    byId.set(n.id, n);
    for (const c of n.children ?? []) parent.set(c, n.id);
  }
  const self = new Map<string, number>();
  const incl = new Map<string, number>();
  const files = new Map<string, number>();
  let total = 0;
  let idle = 0;
  const n = p.samples.length;
  const mean = n > 1 ? (p.endTime - p.startTime) / n : 0;
  for (let i = 0; i < n; i++) {
    const dt = (i + 1 < n ? p.timeDeltas[i + 1] : mean) / 1000;
    total += dt;
    const node = byId.get(p.samples[i])!;
    if (node.callFrame.functionName === '(idle)') {
      idle += dt;
      continue;
    }
    self.set(frameKey(node.callFrame), (self.get(frameKey(node.callFrame)) ?? 0) + dt);
    files.set(fileKey(node.callFrame), (files.get(fileKey(node.callFrame)) ?? 0) + dt);
    const seen = new Set<string>();
    for (let id: number | undefined = node.id; id !== undefined; id = parent.get(id)) {
      const k = frameKey(byId.get(id)!.callFrame);
      if (k === '(root)' || seen.has(k)) continue;
      seen.add(k);
      incl.set(k, (incl.get(k) ?? 0) + dt);
    }
  }
  const busy = total - idle;
  const rank = (m: Map<string, number>) =>
    [...m.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([key, ms]) => ({ key, ms: Math.round(ms), share: Math.round((1000 * ms) / busy) / 10 }));
  return { totalMs: Math.round(total), busyMs: Math.round(busy), self: rank(self), inclusive: rank(incl), byFile: rank(files) };
}

export function formatSummary(s: ProfileSummary): string {
  const out: string[] = [`sampled ${s.totalMs} ms, busy ${s.busyMs} ms (${Math.round((100 * s.busyMs) / Math.max(1, s.totalMs))}%)`];
  const section = (title: string, rows: { key: string; ms: number; share: number }[]) => {
    out.push('', title);
    for (const r of rows) out.push(`${r.share.toFixed(1).padStart(6)}%  ${String(r.ms).padStart(7)} ms  ${r.key}`);
  };
  section('self time by function (% of busy)', s.self);
  section('inclusive time by function (% of busy)', s.inclusive);
  section('self time by file / package (% of busy)', s.byFile);
  return out.join('\n');
}

function main(): void {
  const { values, positionals } = parseArgs({ options: { top: { type: 'string', default: '25' } }, allowPositionals: true });
  if (positionals.length === 0) {
    console.error('usage: node dist/bench/profile-top.js <file.cpuprofile> [...] [--top N]');
    process.exit(2);
  }
  for (const file of positionals) {
    const p = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
    process.stdout.write(`== ${file}\n${formatSummary(summarizeProfile(p, Number(values.top)))}\n\n`);
  }
}

main();
