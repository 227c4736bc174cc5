/**
 * DefaultBinder: binds a pod through the `pods/binding` subresource, as upstream's.
 */
import type { Client } from '../../client/interface.js';
import type { BindPlugin } from '../framework.js';
import { PODS } from '../../controllers/pods.js';

export const DEFAULT_BINDER = 'DefaultBinder';

export function newDefaultBinder(client: Client): BindPlugin {
  return {
    name: DEFAULT_BINDER,
    async bind(pod, nodeName) {
      await client.create(
        PODS,
        pod.namespace,
        { apiVersion: 'v1', kind: 'Binding', metadata: { name: pod.name, namespace: pod.namespace, uid: pod.uid }, target: { kind: 'Node', name: nodeName } },
        { subresource: 'binding' },
      );
    },
  };
}
