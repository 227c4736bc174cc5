/**
 * Why a container could not be configured. The pod worker shows `reason` as the container's waiting
 * reason and `message` as its message (and in the Failed event, as "Error: <message>"), as the kubelet
 * does: problems the kubelet finds itself (a missing ConfigMap, runAsNonRoot) are
 * CreateContainerConfigError; those upstream's runtime finds while creating (no command, an unknown
 * user name in the image) are CreateContainerError.
 */
export type ContainerConfigReason = 'CreateContainerConfigError' | 'CreateContainerError';

export class ContainerConfigError extends Error {
  constructor(
    message: string,
    readonly reason: ContainerConfigReason = 'CreateContainerConfigError',
  ) {
    super(message);
    this.name = 'ContainerConfigError';
  }
}

/** The pod as the kubelet names it in messages: `name_namespace(uid)` (format.Pod). */
export function formatPod(pod: { metadata?: { name?: string; namespace?: string; uid?: string } }): string {
  const m = pod.metadata ?? {};
  return `${m.name ?? ''}_${m.namespace ?? ''}(${m.uid ?? ''})`;
}
