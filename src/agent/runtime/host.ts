/**
 * The few host commands the runtime needs (unshare, nsenter, mount, crun), run without a shell and
 * with their stderr in the error, so a failure says what the tool said.
 */
import { execFile, spawn } from 'node:child_process';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';

export class CommandError extends Error {
  constructor(
    readonly command: string,
    readonly code: number | null,
    readonly stderr: string,
  ) {
    super(`${command}: ${stderr.trim() || `exit status ${code}`}`);
  }
}

export function run(cmd: string, args: string[], opts: { timeoutMs?: number; input?: string } = {}): Promise<{ stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = execFile(cmd, args, { timeout: opts.timeoutMs ?? 30_000, maxBuffer: 16 << 20, encoding: 'utf8' }, (err, stdout, stderr) => {
      if (err) {
        const code = typeof (err as any).code === 'number' ? (err as any).code : null;
        reject(new CommandError(`${cmd} ${args[0] ?? ''}`.trim(), code, stderr || err.message));
      } else resolve({ stdout, stderr });
    });
    if (opts.input !== undefined) child.stdin?.end(opts.input);
  });
}

export type NamespaceKind = 'net' | 'ipc' | 'uts';

/**
 * Makes new namespaces that outlive every process: unshare bind-mounts each onto a file (which must
 * exist). With `hostname`, it is set inside the new UTS namespace by the same command.
 */
export async function createNamespaces(files: Partial<Record<NamespaceKind, string>>, hostname?: string): Promise<void> {
  const args: string[] = [];
  for (const [kind, file] of Object.entries(files)) {
    writeFileSync(file, '');
    args.push(`--${kind}=${file}`);
  }
  if (args.length === 0) return;
  if (hostname && files.uts) await run('unshare', [...args, 'hostname', hostname]);
  else await run('unshare', [...args, 'true']);
}

/** Unmounts and deletes a namespace file (or any mount point file); idempotent. */
export async function removeMountFile(file: string): Promise<void> {
  await unmount(file);
  rmSync(file, { force: true, recursive: true });
}

export async function unmount(target: string): Promise<void> {
  if (!existsSync(target)) return;
  for (let i = 0; i < 5; i++) {
    try {
      await run('umount', [target]);
    } catch (err) {
      const msg = err instanceof CommandError ? err.stderr : String(err);
      if (/not mounted|no mount point|not found/i.test(msg)) return;
      if (i === 4) throw err;
    }
  }
}

export async function mountTmpfs(target: string, options: string): Promise<void> {
  await run('mount', ['-t', 'tmpfs', '-o', options, 'tmpfs', target]);
}

/** Starts a detached process that survives the agent (its own session, no inherited stdio). */
export function spawnDetached(cmd: string, args: string[]): number {
  const child = spawn(cmd, args, { detached: true, stdio: 'ignore' });
  child.unref();
  if (child.pid === undefined) throw new Error(`${cmd}: could not start`);
  return child.pid;
}

/** Process start time (clock ticks since boot) from /proc/<pid>/stat, to tell a pid from its reuse. */
export function processStartTime(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return rest[19];
  } catch {
    return undefined;
  }
}

