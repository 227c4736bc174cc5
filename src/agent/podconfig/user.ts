/**
 * Which user a container's process runs as.
 *
 * - uid: runAsUser (container securityContext over the pod's), else the image's `User`;
 * - gid: runAsGroup, else the image's group when the image's user is used and names one, else the
 *   user's primary group from the image's /etc/passwd, else 0;
 * - additional groups: the primary gid, the groups of the image's /etc/group that list the user
 *   (unless supplementalGroupsPolicy is Strict), then fsGroup and supplementalGroups, as the kubelet
 *   passes them and containerd applies them;
 * - runAsNonRoot is checked as the kubelet does (verifyRunAsNonRoot), with its messages.
 *
 * User and group names are looked up in the image's files like runc does; a name that is not there
 * is the runtime's error (CreateContainerError).
 */
import type { KubeObject } from '../../api/types.js';
import { ContainerConfigError, formatPod } from './errors.js';
import { readInRoot } from './rootfs.js';

export interface ResolvedUser {
  uid: number;
  gid: number;
  additionalGids: number[];
}

interface PasswdEntry {
  name: string;
  uid: number;
  gid: number;
}

interface GroupEntry {
  name: string;
  gid: number;
  members: string[];
}

const MAX_INT32 = 2147483647;
const NUMERIC = /^\d+$/;

export function parsePasswd(text: string | undefined): PasswdEntry[] {
  const out: PasswdEntry[] = [];
  for (const line of (text ?? '').split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const f = line.split(':');
    if (f.length < 4 || !NUMERIC.test(f[2]) || !NUMERIC.test(f[3])) continue;
    out.push({ name: f[0], uid: Number(f[2]), gid: Number(f[3]) });
  }
  return out;
}

export function parseGroup(text: string | undefined): GroupEntry[] {
  const out: GroupEntry[] = [];
  for (const line of (text ?? '').split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const f = line.split(':');
    if (f.length < 3 || !NUMERIC.test(f[2])) continue;
    out.push({ name: f[0], gid: Number(f[2]), members: (f[3] ?? '').split(',').filter(Boolean) });
  }
  return out;
}

/** The image user's uid when numeric, else its name (as containerd's getUserFromImage reports it). */
export function imageUserIdentity(user: string | undefined): { uid?: number; username?: string } {
  if (!user) return {};
  const u = user.split(':')[0];
  if (NUMERIC.test(u)) return { uid: Number(u) };
  return { username: u };
}

/** Security context settings, the container's over the pod's. */
export function effectiveSecurityContext(pod: KubeObject, container: any): {
  runAsUser?: number;
  runAsGroup?: number;
  runAsNonRoot?: boolean;
} {
  const p = pod.spec?.securityContext ?? {};
  const c = container?.securityContext ?? {};
  return {
    runAsUser: c.runAsUser ?? p.runAsUser,
    runAsGroup: c.runAsGroup ?? p.runAsGroup,
    runAsNonRoot: c.runAsNonRoot ?? p.runAsNonRoot,
  };
}

/** verifyRunAsNonRoot, with upstream's messages. */
export function verifyRunAsNonRoot(pod: KubeObject, container: any, imageUser: string | undefined): void {
  const sc = effectiveSecurityContext(pod, container);
  if (sc.runAsNonRoot !== true) return;
  const where = `(pod: "${formatPod(pod)}", container: ${container?.name ?? ''})`;
  if (sc.runAsUser !== undefined && sc.runAsUser !== null) {
    if (sc.runAsUser === 0) throw new ContainerConfigError(`container's runAsUser breaks non-root policy ${where}`);
    return;
  }
  const id = imageUserIdentity(imageUser);
  // No user in the image means root.
  const uid = id.uid ?? (id.username ? undefined : 0);
  if (uid === undefined) {
    throw new ContainerConfigError(`container has runAsNonRoot and image has non-numeric user (${id.username}), cannot verify user is non-root ${where}`);
  }
  if (uid === 0) throw new ContainerConfigError(`container has runAsNonRoot and image will run as root ${where}`);
  if (uid > MAX_INT32) {
    throw new ContainerConfigError(
      `container has runAsNonRoot and image has an invalid user id (${uid}). (Must be 1-(${MAX_INT32})): must be between 0 and ${MAX_INT32}, inclusive ${where}`,
    );
  }
}

export interface UserInput {
  pod: KubeObject;
  container: any;
  /** The image config's `User`. */
  imageUser?: string;
  /** The container's root filesystem, for /etc/passwd and /etc/group (absent: numeric ids only). */
  rootfs?: string;
}

export async function resolveUser(input: UserInput): Promise<ResolvedUser> {
  const { pod, container } = input;
  verifyRunAsNonRoot(pod, container, input.imageUser);
  const sc = effectiveSecurityContext(pod, container);
  const podSc = pod.spec?.securityContext ?? {};

  let passwd: PasswdEntry[] | undefined;
  let groups: GroupEntry[] | undefined;
  const readPasswd = async () => (passwd ??= input.rootfs ? parsePasswd(await readInRoot(input.rootfs, '/etc/passwd')) : []);
  const readGroups = async () => (groups ??= input.rootfs ? parseGroup(await readInRoot(input.rootfs, '/etc/group')) : []);

  const [imageUserPart = '', imageGroupPart] = (input.imageUser ?? '').split(':');
  let uid: number;
  let entry: PasswdEntry | undefined;
  if (sc.runAsUser !== undefined && sc.runAsUser !== null) {
    uid = sc.runAsUser;
    entry = (await readPasswd()).find((e) => e.uid === uid);
  } else if (imageUserPart === '' || NUMERIC.test(imageUserPart)) {
    uid = imageUserPart === '' ? 0 : Number(imageUserPart);
    entry = (await readPasswd()).find((e) => e.uid === uid);
  } else {
    entry = (await readPasswd()).find((e) => e.name === imageUserPart);
    if (!entry) throw new ContainerConfigError(`unable to find user ${imageUserPart}: no matching entries in passwd file`, 'CreateContainerError');
    uid = entry.uid;
  }

  let gid: number;
  if (sc.runAsGroup !== undefined && sc.runAsGroup !== null) {
    gid = sc.runAsGroup;
  } else if ((sc.runAsUser === undefined || sc.runAsUser === null) && imageGroupPart) {
    if (NUMERIC.test(imageGroupPart)) gid = Number(imageGroupPart);
    else {
      const g = (await readGroups()).find((e) => e.name === imageGroupPart);
      if (!g) throw new ContainerConfigError(`unable to find group ${imageGroupPart}: no matching entries in group file`, 'CreateContainerError');
      gid = g.gid;
    }
  } else {
    gid = entry?.gid ?? 0;
  }

  const additional: number[] = [gid];
  if (entry && podSc.supplementalGroupsPolicy !== 'Strict') {
    for (const g of await readGroups()) if (g.name !== entry.name && g.members.includes(entry.name)) additional.push(g.gid);
  }
  if (typeof podSc.fsGroup === 'number') additional.push(podSc.fsGroup);
  for (const g of podSc.supplementalGroups ?? []) if (typeof g === 'number') additional.push(g);
  return { uid, gid, additionalGids: [...new Set(additional)] };
}
