/**
 * The pods a kubelet looks after, as one informer: `seen` for every new or changed pod, `gone` when
 * it leaves. A pod replaced under the same name (a new UID in an update) is the old one gone and a
 * new one seen, so a pod worker never carries over to a different pod.
 */
import type { KubeObject } from '../api/types.js';
import type { Client } from '../client/interface.js';
import { Informer } from '../client/informer.js';
import { PODS } from '../controllers/pods.js';

export function boundPodsInformer(client: Client, fieldSelector: string, on: { seen(pod: KubeObject): void; gone(pod: KubeObject): void }): Informer {
  const informer = new Informer(client, PODS, '', { fieldSelector });
  informer
    .onAdd((p) => on.seen(p))
    .onUpdate((o, p) => {
      if (o.metadata?.uid !== p.metadata?.uid) on.gone(o);
      on.seen(p);
    })
    .onDelete((p) => on.gone(p));
  return informer;
}
