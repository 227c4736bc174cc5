/**
 * The process a container runs. The kubelet expands `$(VAR)` in command and args against the
 * container's env (ExpandContainerCommandAndArgs; the image's env is not consulted), and the runtime
 * merges them with the image as containerd and CRI-O do (after Docker): a command replaces the
 * image's Entrypoint and drops its Cmd; args alone replace the Cmd and keep the Entrypoint.
 */
import type { ImageConfig } from '../cri.js';
import { ContainerConfigError } from './errors.js';
import { envMap, type EnvVar } from './env.js';
import { expand, mappingFor } from './expansion.js';

export function expandCommandAndArgs(container: any, env: readonly EnvVar[]): { command: string[]; args: string[] } {
  const mapping = mappingFor(envMap(env));
  const command = ((container?.command ?? []) as string[]).map((c) => expand(String(c), mapping));
  const args = ((container?.args ?? []) as string[]).map((a) => expand(String(a), mapping));
  return { command, args };
}

/** The full argv; throws CreateContainerError "no command specified" when nothing is left. */
export function containerArgv(container: any, image: ImageConfig, env: readonly EnvVar[]): string[] {
  let { command, args } = expandCommandAndArgs(container, env);
  if (command.length === 0) {
    if (args.length === 0) args = [...(image.cmd ?? [])];
    // An entrypoint of [""] is Docker's way of saying "none".
    const ep = image.entrypoint ?? [];
    if (!(ep.length === 1 && ep[0] === '')) command = [...ep];
  }
  const argv = [...command, ...args];
  if (argv.length === 0) throw new ContainerConfigError('no command specified', 'CreateContainerError');
  return argv;
}
