/** Small helpers the simulated agent's tests share: making pods and binding them as a scheduler would. */
import type { KubeObject } from '../../api/types.js';
import { ApiError } from '../../api/errors.js';
import type { Client } from '../../client/interface.js';
import { PODS } from '../../controllers/pods.js';

export interface TestPodOptions {
  restartPolicy?: 'Always' | 'OnFailure' | 'Never';
  annotations?: Record<string, string>;
  initContainers?: { name: string; image: string; restartPolicy?: string }[];
  containers?: { name: string; image: string }[];
  finalizers?: string[];
}

export function testPod(name: string, opts: TestPodOptions = {}): KubeObject {
  const pod: KubeObject = {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, annotations: opts.annotations, finalizers: opts.finalizers },
    spec: {
      restartPolicy: opts.restartPolicy ?? 'Always',
      containers: opts.containers ?? [{ name: 'app', image: 'registry.example/app:1' }],
    },
  };
  if (opts.initContainers) pod.spec!.initContainers = opts.initContainers;
  return pod;
}

/** Creates a pod and binds it to `node` with the Binding subresource. */
export async function createBoundPod(client: Client, namespace: string, node: string, pod: KubeObject): Promise<KubeObject> {
  const created = await client.create(PODS, namespace, pod);
  const name = created.metadata!.name!;
  await client.create(PODS, namespace, { apiVersion: 'v1', kind: 'Binding', metadata: { name }, target: { kind: 'Node', name: node } }, { subresource: 'binding' });
  return created;
}

export async function getOrUndefined(client: Client, namespace: string, name: string): Promise<KubeObject | undefined> {
  try {
    return await client.get(PODS, namespace, name);
  } catch (err) {
    if (err instanceof ApiError && err.code === 404) return undefined;
    throw err;
  }
}

export function condition(pod: KubeObject | undefined, type: string): Record<string, any> | undefined {
  return (pod?.status?.conditions as Record<string, any>[] | undefined)?.find((c) => c.type === type);
}
