/**
 * Makes this host ready for real pods, doing only what is safe to do unasked: moving cgroup
 * controllers off a hybrid host's unified hierarchy (so crun accepts it), turning on forwarding, and
 * creating skiff's directories. What needs a human (a package, a kernel module, privileges) is
 * refused with the doctor's fixes, before anything is changed.
 */
import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { run, runOk } from './exec.js';
import { HYBRID_UNIFIED, CGROUP_ROOT, hybridRebinds, type CgroupRebind } from './cgroups.js';
import { readHostFacts, runHostChecks, type HostCheck, type HostCheckOptions } from './checks.js';
import { enableForwarding } from './sysctl.js';

export class HostNotReadyError extends Error {
  constructor(readonly failed: HostCheck[]) {
    super(
      `this host cannot run pods until these are fixed:\n` +
        failed.map((c) => `  ✗ ${c.name}: ${c.detail}${c.fix ? `\n      fix: ${c.fix}` : ''}`).join('\n'),
    );
    this.name = 'HostNotReadyError';
  }
}

export interface PrepareHostOptions extends HostCheckOptions {
  log?: (m: string) => void;
  /** Default /run/skiff and /var/lib/skiff. */
  directories?: string[];
  /** Tests put a host of their own making here. */
  runChecks?: typeof runHostChecks;
}

export interface PrepareHostResult {
  /** One sentence per change made, in order ("moved cgroup controller hugetlb …"). Empty: nothing to do. */
  actions: string[];
  /** The checks as they stand afterwards. */
  checks: HostCheck[];
}

export const DEFAULT_DIRECTORIES = ['/run/skiff', '/var/lib/skiff'];

/** Applies the safe fixes; throws HostNotReadyError when a required check still fails. */
export async function prepareHost(opts: PrepareHostOptions = {}): Promise<PrepareHostResult> {
  const log = opts.log ?? (() => {});
  const actions: string[] = [];
  const did = (m: string) => {
    actions.push(m);
    log(m);
  };

  const runChecks = opts.runChecks ?? runHostChecks;
  const before = await runChecks({ ...opts, runContainer: false });
  const needsHuman = before.filter((c) => c.required && !c.ok && !c.autoFix);
  if (needsHuman.length) throw new HostNotReadyError(needsHuman);

  const facts = await readHostFacts();
  for (const rebind of hybridRebinds(facts.layout, facts.unifiedControllers, facts.unifiedSubtreeControl)) {
    await moveController(rebind, facts.layout.rootReadOnly);
    did(`moved cgroup controller ${rebind.controller} from the unified hierarchy to ${rebind.target} so crun can run containers`);
  }

  for (const c of await enableForwarding()) did(`set ${c.key}=${c.to} (was ${c.from}) so pod traffic is forwarded through this host`);

  for (const dir of opts.directories ?? DEFAULT_DIRECTORIES) {
    if (existsSync(dir)) continue;
    await mkdir(dir, { recursive: true, mode: 0o700 });
    did(`created ${dir}`);
  }

  const checks = await runChecks(opts);
  const failed = checks.filter((c) => c.required && !c.ok);
  if (failed.length) throw new HostNotReadyError(failed);
  return { actions, checks };
}

async function moveController(r: CgroupRebind, rootReadOnly: boolean): Promise<void> {
  const subtree = `${HYBRID_UNIFIED}/cgroup.subtree_control`;
  if (r.commands.some((c) => c.startsWith('echo -'))) {
    await writeFile(subtree, `-${r.controller}`).catch((err: Error) => {
      throw new Error(`cannot disable ${r.controller} in ${subtree} (a child cgroup still uses it): ${err.message}`);
    });
  }
  if (rootReadOnly) await runOk('mount', ['-o', 'remount,rw', CGROUP_ROOT]);
  try {
    await mkdir(r.target, { recursive: true });
    await runOk('mount', ['-t', 'cgroup', '-o', r.v1Name, 'cgroup', r.target]);
  } finally {
    if (rootReadOnly) await run('mount', ['-o', 'remount,ro', CGROUP_ROOT]);
  }
}
