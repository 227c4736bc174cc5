/** What the e2e suites read of a running skiff process from /proc. */
import { readFile, readdir } from 'node:fs/promises';

/** The skiff process serving `dataDir` (the harness starts it as `node bin/skiff.js up --data-dir DIR`). */
export async function skiffPid(dataDir: string): Promise<number> {
  for (const d of await readdir('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const cmd = (await readFile(`/proc/${d}/cmdline`, 'utf8')).split('\0');
      if (cmd.some((a) => a.endsWith('skiff.js')) && cmd.includes(dataDir)) return Number(d);
    } catch {
      // gone meanwhile
    }
  }
  throw new Error(`no skiff process for ${dataDir}`);
}

/** Resident memory of a process in bytes (VmRSS). */
export async function rssBytes(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const m = /VmRSS:\s+(\d+) kB/.exec(status);
  if (!m) throw new Error(`no VmRSS for ${pid}`);
  return Number(m[1]) * 1024;
}
