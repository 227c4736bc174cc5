/**
 * CustomResourceDefinitions with the real kubectl against `skiff up`: a CRD with a rich schema is
 * served at once (api-resources, short names, categories), objects are validated, defaulted and
 * pruned by its schema and CEL rules, status and scale subresources work (`kubectl scale`),
 * printer columns print, a second version is served, `kubectl explain` reads the published schema,
 * and deleting the CRD deletes its objects.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { API_ONLY_ARGS, kubectl } from '../harness/skiff.js';
import { kubectlSuite } from './kubectl-helpers.js';

const CRD = `apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: crontabs.stable.example.com
spec:
  group: stable.example.com
  scope: Namespaced
  names:
    plural: crontabs
    singular: crontab
    kind: CronTab
    shortNames: [ct]
    categories: [all]
  versions:
  - name: v1
    served: true
    storage: true
    subresources:
      status: {}
      scale:
        specReplicasPath: .spec.replicas
        statusReplicasPath: .status.replicas
        labelSelectorPath: .status.labelSelector
    additionalPrinterColumns:
    - name: Spec
      type: string
      description: The cron spec defining the interval a CronJob is run
      jsonPath: .spec.cronSpec
    - name: Replicas
      type: integer
      jsonPath: .spec.replicas
    - name: Age
      type: date
      jsonPath: .metadata.creationTimestamp
    schema:
      openAPIV3Schema:
        type: object
        description: CronTab runs an image on a schedule.
        properties:
          spec:
            type: object
            description: What the CronTab runs and when.
            x-kubernetes-validations:
            - rule: self.minReplicas <= self.replicas
              message: replicas must be at least minReplicas
            required: [cronSpec]
            properties:
              cronSpec:
                type: string
                description: The cron spec.
                pattern: '^(\\d+|\\*)(/\\d+)?(\\s+(\\d+|\\*)(/\\d+)?){4}$'
              image:
                type: string
                default: busybox
              replicas:
                type: integer
                minimum: 1
                maximum: 10
                default: 1
              minReplicas:
                type: integer
                default: 1
              color:
                type: string
                enum: [red, green, blue]
          status:
            type: object
            properties:
              replicas:
                type: integer
              labelSelector:
                type: string
  - name: v1beta1
    served: true
    storage: false
    schema:
      openAPIV3Schema:
        type: object
        x-kubernetes-preserve-unknown-fields: true
`;

const crontab = (name: string, spec: string) => `apiVersion: stable.example.com/v1
kind: CronTab
metadata:
  name: ${name}
spec:
${spec}
`;

describe('CustomResourceDefinitions with kubectl', () => {
  const s = kubectlSuite('sqlite', API_ONLY_ARGS);

  it('serves a new CRD at once: api-resources, short names, categories', async () => {
    assert.equal(await s.kIn(CRD, 'apply', '-f', '-'), 'customresourcedefinition.apiextensions.k8s.io/crontabs.stable.example.com created\n');
    await s.k('wait', '--for=condition=Established', 'crd/crontabs.stable.example.com', '--timeout=10s');
    const resources = await s.k('api-resources', '--api-group=stable.example.com');
    assert.match(resources, /crontabs\s+ct\s+stable\.example\.com\/v1\s+true\s+CronTab/);
    await s.kIn(crontab('first', '  cronSpec: "* * * * */5"\n  replicas: 2'), 'apply', '-n', 'default', '-f', '-');
    assert.match(await s.k('get', 'ct', '-n', 'default'), /^NAME\s+SPEC\s+REPLICAS\s+AGE\nfirst\s+\* \* \* \* \*\/5\s+2\s+\d+s\n$/);
    assert.match(await s.k('get', 'all', '-n', 'default'), /crontab\.stable\.example\.com\/first/);
  });

  it('defaults and prunes by the schema, and refuses what it or a CEL rule forbids', async () => {
    const out = await kubectl(s.server(), ['apply', '-n', 'default', '--validate=false', '-f', '-'], crontab('defaulted', '  cronSpec: "1 2 3 4 5"\n  bogus: true'));
    assert.equal(out.code, 0, out.stderr);
    const obj = await s.getJson('crontab', 'defaulted', '-n', 'default');
    assert.deepEqual(obj.spec, { cronSpec: '1 2 3 4 5', image: 'busybox', replicas: 1, minReplicas: 1 });

    const bad = await kubectl(s.server(), ['apply', '-n', 'default', '-f', '-'], crontab('bad', '  cronSpec: "not a cron"\n  replicas: 20\n  color: pink'));
    assert.notEqual(bad.code, 0);
    assert.match(bad.stderr, /The CronTab "bad" is invalid:/);
    assert.match(bad.stderr, /spec\.cronSpec: Invalid value: "not a cron": spec\.cronSpec in body should match/);
    assert.match(bad.stderr, /spec\.replicas: Invalid value: 20: spec\.replicas in body should be less than or equal to 10/);
    assert.match(bad.stderr, /spec\.color: Unsupported value: "pink": supported values: "red", "green", "blue"/);

    const cel = await kubectl(s.server(), ['apply', '-n', 'default', '-f', '-'], crontab('cel', '  cronSpec: "1 2 3 4 5"\n  replicas: 2\n  minReplicas: 3'));
    assert.notEqual(cel.code, 0);
    assert.match(cel.stderr, /spec: Invalid value: "object": replicas must be at least minReplicas/);
    const ok = await kubectl(s.server(), ['apply', '-n', 'default', '-f', '-'], crontab('cel', '  cronSpec: "1 2 3 4 5"\n  replicas: 3\n  minReplicas: 3'));
    assert.equal(ok.code, 0, ok.stderr);

    const strict = await kubectl(s.server(), ['create', '-n', 'default', '--validate=strict', '-f', '-'], crontab('strict', '  cronSpec: "1 2 3 4 5"\n  bogus: true'));
    assert.notEqual(strict.code, 0);
    assert.match(strict.stderr, /unknown field "spec\.bogus"/);
  });

  it('status and scale subresources: kubectl scale, generation', async () => {
    assert.equal(await s.k('scale', 'crontab/first', '-n', 'default', '--replicas=4'), 'crontab.stable.example.com/first scaled\n');
    const obj = await s.getJson('crontab', 'first', '-n', 'default');
    assert.equal(obj.spec.replicas, 4);
    assert.equal(obj.metadata.generation, 2);
    await s.k('patch', 'crontab/first', '-n', 'default', '--subresource=status', '--type=merge', '-p', '{"status":{"replicas":4,"labelSelector":"app=cron"}}');
    const scale = JSON.parse(await s.k('get', '--raw', '/apis/stable.example.com/v1/namespaces/default/crontabs/first/scale'));
    assert.deepEqual(scale.status, { replicas: 4, selector: 'app=cron' });
    const again = await s.getJson('crontab', 'first', '-n', 'default');
    assert.equal(again.metadata.generation, 2, 'status writes leave generation alone');
  });

  it('serves the second version with the same objects', async () => {
    const beta = await s.getJson('crontabs.v1beta1.stable.example.com', 'first', '-n', 'default');
    assert.equal(beta.apiVersion, 'stable.example.com/v1beta1');
    assert.equal(beta.spec.replicas, 4);
  });

  it('kubectl explain reads built-in and custom schemas', async () => {
    const ct = await s.k('explain', 'crontab.spec');
    assert.match(ct, /GROUP:\s+stable\.example\.com\nKIND:\s+CronTab\nVERSION:\s+v1\n/);
    assert.match(ct, /What the CronTab runs and when\./);
    assert.match(ct, /cronSpec\s+<string> -required-/);
    const rec = await s.k('explain', 'crontab', '--recursive');
    assert.match(rec, /minReplicas\s+<integer>/);
    const deploy = await s.k('explain', 'deployment.spec.replicas');
    assert.match(deploy, /FIELD: replicas <integer>/);
  });

  it('deleting the CRD deletes its objects and stops serving it', async () => {
    await s.k('delete', 'crd', 'crontabs.stable.example.com', '--timeout=20s');
    const gone = await kubectl(s.server(), ['get', 'crontabs', '-n', 'default']);
    assert.notEqual(gone.code, 0);
    // kubectl's discovery cache still maps the name; the server no longer serves it.
    assert.match(gone.stderr, /NotFound|the server doesn't have a resource type "crontabs"/);
    const raw = await kubectl(s.server(), ['get', '--raw', '/apis/stable.example.com/v1/namespaces/default/crontabs']);
    assert.notEqual(raw.code, 0);
  });
});
