/**
 * Everything the runtime needs to create one container, from the pod, the image and what the pod
 * worker already resolved (env, mounts): the kubelet's generateContainerConfig together with the
 * parts containerd adds from the image (argv merge, default PATH, image env, working dir, user).
 */
import type { KubeObject } from '../../api/types.js';
import type { ContainerSpec, Mount, PulledImage } from '../cri.js';
import { containerArgv } from './command.js';
import type { EnvVar } from './env.js';
import { containerResources } from './resources.js';
import { resolveUser } from './user.js';

/** containerd's default when the image sets no PATH. */
export const DEFAULT_PATH = 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

export interface ContainerSpecInput {
  pod: KubeObject;
  /** The v1.Container (an init or a regular container). */
  container: any;
  attempt: number;
  sandboxId: string;
  image: PulledImage;
  /** The container's root filesystem (for the image's /etc/passwd and /etc/group). */
  rootfs?: string;
  logPath: string;
  mounts: Mount[];
  /** From resolveEnvironment. */
  env: readonly EnvVar[];
  /** The pod's hostname, as HOSTNAME (containerd sets it from the sandbox). */
  hostname?: string;
  /** The kubelet's podPidsLimit, when set. */
  pidsLimit?: number;
}

/** "KEY=value" entries: later ones replace earlier ones with the same key, keeping its place. */
export function mergeEnv(...lists: (readonly string[])[]): string[] {
  const index = new Map<string, number>();
  const out: string[] = [];
  for (const list of lists) {
    for (const kv of list) {
      const eq = kv.indexOf('=');
      const key = eq < 0 ? kv : kv.slice(0, eq);
      const at = index.get(key);
      if (at === undefined) {
        index.set(key, out.length);
        out.push(kv);
      } else {
        out[at] = kv;
      }
    }
  }
  return out;
}

export async function buildContainerSpec(input: ContainerSpecInput): Promise<ContainerSpec> {
  const { pod, container, image } = input;
  const args = containerArgv(container, image.config, input.env);
  const user = await resolveUser({ pod, container, imageUser: image.config.user, rootfs: input.rootfs });
  const sc = container?.securityContext ?? {};
  const caps = sc.capabilities ?? {};
  const base = [DEFAULT_PATH];
  if (input.hostname) base.push(`HOSTNAME=${input.hostname}`);
  const env = mergeEnv(
    base,
    image.config.env ?? [],
    input.env.map((e) => `${e.name}=${e.value}`),
  );
  return {
    sandboxId: input.sandboxId,
    podUid: pod.metadata?.uid ?? '',
    namespace: pod.metadata?.namespace ?? '',
    podName: pod.metadata?.name ?? '',
    containerName: container?.name ?? '',
    attempt: input.attempt,
    image,
    args,
    env,
    cwd: container?.workingDir || image.config.workingDir || '/',
    uid: user.uid,
    gid: user.gid,
    additionalGids: user.additionalGids,
    tty: container?.tty === true,
    stdin: container?.stdin === true,
    stdinOnce: container?.stdinOnce === true,
    privileged: sc.privileged === true,
    readOnlyRootFilesystem: sc.readOnlyRootFilesystem === true,
    capabilities: { add: [...(caps.add ?? [])].map(String), drop: [...(caps.drop ?? [])].map(String) },
    mounts: input.mounts,
    resources: containerResources(container, { pidsLimit: input.pidsLimit }),
    logPath: input.logPath,
  };
}
