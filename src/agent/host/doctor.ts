/** `skiff doctor [--fix] [--no-container]`: can this host run real pods, and what to do if not. */
import { parseArgs } from 'node:util';
import { runHostChecks, type HostCheck } from './checks.js';
import { HostNotReadyError, prepareHost } from './prepare.js';

export const DOCTOR_USAGE = `skiff doctor flags:
  --fix                   apply the safe fixes (cgroup controllers off a hybrid host's unified
                          hierarchy, ip forwarding, skiff's directories), then check again
  --no-container          skip the check that runs a real container with crun
`;

/** ✓ passed, ✗ failed and blocks pods, ! failed but only degrades something. */
export function formatCheck(c: HostCheck): string {
  const mark = c.ok ? '✓' : c.required ? '✗' : '!';
  return `${mark} ${c.name}: ${c.detail}${!c.ok && c.fix ? `\n    fix: ${c.fix}` : ''}`;
}

export interface DoctorDeps {
  write?: (s: string) => void;
  /** Tests put a host of their own making here. */
  runChecks?: typeof runHostChecks;
  prepare?: typeof prepareHost;
}

/** Runs the doctor; resolves with the process exit code (1 when a required check fails). */
export async function doctorCommand(argv: string[], deps: DoctorDeps = {}): Promise<number> {
  const write = deps.write ?? ((s: string) => void process.stdout.write(s));
  const runChecks = deps.runChecks ?? runHostChecks;
  const prepare = deps.prepare ?? prepareHost;
  const { values } = parseArgs({ args: argv, options: { fix: { type: 'boolean' }, 'no-container': { type: 'boolean' } }, strict: true });
  const runContainer = !values['no-container'];
  let checks: HostCheck[];
  if (values.fix) {
    try {
      const result = await prepare({ runContainer, log: (m) => write(`fixed: ${m}\n`) });
      if (result.actions.length === 0) write('nothing to fix\n');
      checks = result.checks;
    } catch (err) {
      if (!(err instanceof HostNotReadyError)) throw err;
      checks = await runChecks({ runContainer });
    }
  } else {
    checks = await runChecks({ runContainer });
  }
  for (const c of checks) write(`${formatCheck(c)}\n`);
  const blocking = checks.filter((c) => c.required && !c.ok);
  if (blocking.length) {
    const fixable = blocking.some((c) => c.autoFix) && !values.fix ? ' (skiff doctor --fix fixes some of them)' : '';
    write(`\nthis host cannot run pods: ${blocking.length} check(s) failed${fixable}\n`);
    return 1;
  }
  write('\nthis host can run pods\n');
  return 0;
}
