/**
 * What upstream (kube-apiserver 1.30) does, written down once for the tests that hold skiff to it:
 * unit tests of the catalog and e2e tests of a running server alike.
 */

/** pkg/printers/internalversion/printers.go podColumnDefinitions: name, type, priority (1 = only with -o wide). */
export const POD_COLUMNS: readonly [name: string, type: string, priority: number][] = [
  ['Name', 'string', 0],
  ['Ready', 'string', 0],
  ['Status', 'string', 0],
  ['Restarts', 'string', 0],
  ['Age', 'string', 0],
  ['IP', 'string', 1],
  ['Node', 'string', 1],
  ['Nominated Node', 'string', 1],
  ['Readiness Gates', 'string', 1],
];

/** core/v1 defaults of a container given a name and a tagged image (an untagged or :latest one pulls Always). */
export const CONTAINER_DEFAULTS = {
  imagePullPolicy: 'IfNotPresent',
  resources: {},
  terminationMessagePath: '/dev/termination-log',
  terminationMessagePolicy: 'File',
};

/** core/v1 defaults of a pod template's spec (a Pod's own spec gets more). */
export const POD_TEMPLATE_SPEC_DEFAULTS = {
  dnsPolicy: 'ClusterFirst',
  restartPolicy: 'Always',
  schedulerName: 'default-scheduler',
  securityContext: {},
  terminationGracePeriodSeconds: 30,
};

/** apps/v1 defaults of a Deployment's spec, besides replicas and its template's. */
export const DEPLOYMENT_SPEC_DEFAULTS = {
  progressDeadlineSeconds: 600,
  revisionHistoryLimit: 10,
  strategy: { rollingUpdate: { maxSurge: '25%', maxUnavailable: '25%' }, type: 'RollingUpdate' },
};
