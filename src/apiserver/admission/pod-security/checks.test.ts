import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_CHECKS, type CheckResult } from './checks.js';

/** The check's newest version (what "latest" runs). */
function check(id: string, pod: { metadata?: any; spec: any }): CheckResult {
  const c = DEFAULT_CHECKS.find((x) => x.id === id);
  assert.ok(c, `no check ${id}`);
  return c.versions[c.versions.length - 1].checkPod(pod.metadata ?? {}, pod.spec);
}

/** The check at a given policy minor version. */
function checkAt(id: string, minor: number, pod: { metadata?: any; spec: any }): CheckResult {
  const c = DEFAULT_CHECKS.find((x) => x.id === id)!;
  const v = c.versions.filter((x) => x.minimumMinor <= minor).at(-1)!;
  return v.checkPod(pod.metadata ?? {}, pod.spec);
}

const sc = (securityContext: any, name = 'c') => ({ spec: { containers: [{ name, image: 'nginx', securityContext }] } });
const ok = { allowed: true };

describe('baseline checks', () => {
  it('windowsHostProcess', () => {
    assert.deepEqual(check('windowsHostProcess', sc({ windowsOptions: { hostProcess: false } })), ok);
    assert.deepEqual(check('windowsHostProcess', { spec: { securityContext: { windowsOptions: { hostProcess: true } }, containers: [{ name: 'a', securityContext: { windowsOptions: { hostProcess: true } } }] } }), {
      allowed: false,
      forbiddenReason: 'hostProcess',
      forbiddenDetail: 'pod and container "a" must not set securityContext.windowsOptions.hostProcess=true',
    });
  });

  it('hostNamespaces', () => {
    assert.deepEqual(check('hostNamespaces', { spec: { hostNetwork: false, containers: [] } }), ok);
    assert.deepEqual(check('hostNamespaces', { spec: { hostNetwork: true, hostPID: true, hostIPC: true } }), {
      allowed: false,
      forbiddenReason: 'host namespaces',
      forbiddenDetail: 'hostNetwork=true, hostPID=true, hostIPC=true',
    });
  });

  it('privileged', () => {
    assert.deepEqual(check('privileged', sc({ privileged: false })), ok);
    assert.deepEqual(check('privileged', sc({ privileged: true }, 'x')), {
      allowed: false,
      forbiddenReason: 'privileged',
      forbiddenDetail: 'container "x" must not set securityContext.privileged=true',
    });
    const two = { spec: { initContainers: [{ name: 'i', securityContext: { privileged: true } }], containers: [{ name: 'c', securityContext: { privileged: true } }] } };
    assert.equal(check('privileged', two).forbiddenDetail, 'containers "i", "c" must not set securityContext.privileged=true');
  });

  it('capabilities_baseline', () => {
    assert.deepEqual(check('capabilities_baseline', sc({ capabilities: { add: ['NET_BIND_SERVICE', 'CHOWN'] } })), ok);
    assert.deepEqual(check('capabilities_baseline', sc({ capabilities: { add: ['SYS_ADMIN', 'NET_ADMIN', 'KILL'] } })), {
      allowed: false,
      forbiddenReason: 'non-default capabilities',
      forbiddenDetail: 'container "c" must not include "NET_ADMIN", "SYS_ADMIN" in securityContext.capabilities.add',
    });
  });

  it('hostPathVolumes', () => {
    assert.deepEqual(check('hostPathVolumes', { spec: { volumes: [{ name: 'e', emptyDir: {} }] } }), ok);
    assert.deepEqual(check('hostPathVolumes', { spec: { volumes: [{ name: 'h', hostPath: { path: '/' } }, { name: 'e', emptyDir: {} }] } }), {
      allowed: false,
      forbiddenReason: 'hostPath volumes',
      forbiddenDetail: 'volume "h"',
    });
  });

  it('hostPorts', () => {
    assert.deepEqual(check('hostPorts', { spec: { containers: [{ name: 'c', ports: [{ containerPort: 80, hostPort: 0 }] }] } }), ok);
    assert.deepEqual(check('hostPorts', { spec: { containers: [{ name: 'c', ports: [{ containerPort: 80, hostPort: 8080 }, { containerPort: 9, hostPort: 80 }] }] } }), {
      allowed: false,
      forbiddenReason: 'hostPort',
      forbiddenDetail: 'container "c" uses hostPorts 80, 8080',
    });
  });

  it('appArmorProfile', () => {
    assert.deepEqual(check('appArmorProfile', { metadata: { annotations: { 'container.apparmor.security.beta.kubernetes.io/c': 'runtime/default' } }, spec: { securityContext: { appArmorProfile: { type: 'RuntimeDefault' } } } }), ok);
    assert.deepEqual(
      check('appArmorProfile', {
        metadata: { annotations: { 'container.apparmor.security.beta.kubernetes.io/c': 'unconfined' } },
        spec: { securityContext: { appArmorProfile: { type: 'Unconfined' } }, containers: [{ name: 'c' }] },
      }),
      {
        allowed: false,
        forbiddenReason: 'forbidden AppArmor profiles',
        forbiddenDetail: 'pod and annotation must not set AppArmor profile type to "Unconfined", "container.apparmor.security.beta.kubernetes.io/c="unconfined""',
      },
    );
  });

  it('seLinuxOptions (container_engine_t allowed from v1.31)', () => {
    assert.deepEqual(check('seLinuxOptions', sc({ seLinuxOptions: { type: 'container_engine_t', level: 's0' } })), ok);
    assert.equal(checkAt('seLinuxOptions', 30, sc({ seLinuxOptions: { type: 'container_engine_t' } })).allowed, false);
    assert.deepEqual(check('seLinuxOptions', { spec: { securityContext: { seLinuxOptions: { type: 'spc_t', user: 'root' } }, containers: [{ name: 'c', securityContext: { seLinuxOptions: { role: 'r' } } }] } }), {
      allowed: false,
      forbiddenReason: 'seLinuxOptions',
      forbiddenDetail: 'pod and container "c" set forbidden securityContext.seLinuxOptions: type "spc_t"; user may not be set; role may not be set',
    });
  });

  it('procMount', () => {
    assert.deepEqual(check('procMount', sc({ procMount: 'Default' })), ok);
    assert.deepEqual(check('procMount', sc({ procMount: 'Unmasked' })), {
      allowed: false,
      forbiddenReason: 'procMount',
      forbiddenDetail: 'container "c" must not set securityContext.procMount to "Unmasked"',
    });
  });

  it('seccompProfile_baseline: Unconfined is refused, unset is fine', () => {
    assert.deepEqual(check('seccompProfile_baseline', sc(undefined)), ok);
    assert.deepEqual(check('seccompProfile_baseline', sc({ seccompProfile: { type: 'Localhost', localhostProfile: 'p.json' } })), ok);
    assert.deepEqual(check('seccompProfile_baseline', sc({ seccompProfile: { type: 'Unconfined' } })), {
      allowed: false,
      forbiddenReason: 'seccompProfile',
      forbiddenDetail: 'container "c" must not set securityContext.seccompProfile.type to "Unconfined"',
    });
    // Before v1.19 the annotations were what counted.
    assert.deepEqual(checkAt('seccompProfile_baseline', 18, { metadata: { annotations: { 'seccomp.security.alpha.kubernetes.io/pod': 'unconfined' } }, spec: {} }), {
      allowed: false,
      forbiddenReason: 'seccompProfile',
      forbiddenDetail: 'forbidden annotation seccomp.security.alpha.kubernetes.io/pod="unconfined"',
    });
  });

  it('sysctls (the v1.32 safe list)', () => {
    assert.deepEqual(check('sysctls', { spec: { securityContext: { sysctls: [{ name: 'net.ipv4.tcp_rmem', value: '1 2 3' }, { name: 'kernel.shm_rmid_forced', value: '0' }] } } }), ok);
    assert.equal(checkAt('sysctls', 31, { spec: { securityContext: { sysctls: [{ name: 'net.ipv4.tcp_rmem' }] } } }).allowed, false);
    assert.deepEqual(check('sysctls', { spec: { securityContext: { sysctls: [{ name: 'kernel.msgmax' }, { name: 'net.core.somaxconn' }] } } }), {
      allowed: false,
      forbiddenReason: 'forbidden sysctls',
      forbiddenDetail: 'kernel.msgmax, net.core.somaxconn',
    });
  });
});

describe('restricted checks', () => {
  it('allowPrivilegeEscalation (not for Windows pods from v1.25)', () => {
    assert.deepEqual(check('allowPrivilegeEscalation', sc({ allowPrivilegeEscalation: false })), ok);
    assert.deepEqual(check('allowPrivilegeEscalation', sc(undefined, 'x')), {
      allowed: false,
      forbiddenReason: 'allowPrivilegeEscalation != false',
      forbiddenDetail: 'container "x" must set securityContext.allowPrivilegeEscalation=false',
    });
    const windows = { spec: { os: { name: 'windows' }, containers: [{ name: 'w' }] } };
    assert.deepEqual(check('allowPrivilegeEscalation', windows), ok);
    assert.equal(checkAt('allowPrivilegeEscalation', 24, windows).allowed, false);
  });

  it('capabilities_restricted', () => {
    assert.deepEqual(check('capabilities_restricted', sc({ capabilities: { drop: ['ALL'], add: ['NET_BIND_SERVICE'] } })), ok);
    assert.deepEqual(check('capabilities_restricted', { spec: { containers: [{ name: 'a' }, { name: 'b', securityContext: { capabilities: { drop: ['ALL'], add: ['CHOWN'] } } }] } }), {
      allowed: false,
      forbiddenReason: 'unrestricted capabilities',
      forbiddenDetail: 'container "a" must set securityContext.capabilities.drop=["ALL"]; container "b" must not include "CHOWN" in securityContext.capabilities.add',
    });
  });

  it('restrictedVolumes', () => {
    const allowed = ['configMap', 'csi', 'downwardAPI', 'emptyDir', 'ephemeral', 'persistentVolumeClaim', 'projected', 'secret'].map((k, i) => ({ name: `v${i}`, [k]: {} }));
    assert.deepEqual(check('restrictedVolumes', { spec: { volumes: allowed } }), ok);
    assert.deepEqual(check('restrictedVolumes', { spec: { volumes: [{ name: 'h', hostPath: { path: '/' } }, { name: 'n', nfs: { server: 's', path: '/' } }, { name: 'ok', emptyDir: {} }] } }), {
      allowed: false,
      forbiddenReason: 'restricted volume types',
      forbiddenDetail: 'volumes "h", "n" use restricted volume types "hostPath", "nfs"',
    });
    assert.equal(check('restrictedVolumes', { spec: { volumes: [{ name: 'img', image: { reference: 'x' } }] } }).forbiddenDetail, 'volume "img" uses restricted volume type "unknown"');
  });

  it('runAsNonRoot', () => {
    assert.deepEqual(check('runAsNonRoot', { spec: { securityContext: { runAsNonRoot: true }, containers: [{ name: 'c' }] } }), ok);
    assert.deepEqual(check('runAsNonRoot', sc(undefined)), {
      allowed: false,
      forbiddenReason: 'runAsNonRoot != true',
      forbiddenDetail: 'pod or container "c" must set securityContext.runAsNonRoot=true',
    });
    assert.deepEqual(check('runAsNonRoot', { spec: { securityContext: { runAsNonRoot: true }, containers: [{ name: 'c', securityContext: { runAsNonRoot: false } }] } }), {
      allowed: false,
      forbiddenReason: 'runAsNonRoot != true',
      forbiddenDetail: 'container "c" must not set securityContext.runAsNonRoot=false',
    });
  });

  it('runAsUser', () => {
    assert.deepEqual(check('runAsUser', { spec: { securityContext: { runAsUser: 1000 }, containers: [{ name: 'c' }] } }), ok);
    assert.deepEqual(check('runAsUser', { spec: { securityContext: { runAsUser: 0 }, containers: [{ name: 'c', securityContext: { runAsUser: 0 } }] } }), {
      allowed: false,
      forbiddenReason: 'runAsUser=0',
      forbiddenDetail: 'pod and container "c" must not set runAsUser=0',
    });
  });

  it('seccompProfile_restricted', () => {
    assert.deepEqual(check('seccompProfile_restricted', { spec: { securityContext: { seccompProfile: { type: 'RuntimeDefault' } }, containers: [{ name: 'c' }] } }), ok);
    assert.deepEqual(check('seccompProfile_restricted', sc(undefined)), {
      allowed: false,
      forbiddenReason: 'seccompProfile',
      forbiddenDetail: 'pod or container "c" must set securityContext.seccompProfile.type to "RuntimeDefault" or "Localhost"',
    });
    assert.deepEqual(check('seccompProfile_restricted', { spec: { securityContext: { seccompProfile: { type: 'Unconfined' } }, containers: [{ name: 'c' }] } }), {
      allowed: false,
      forbiddenReason: 'seccompProfile',
      forbiddenDetail: 'pod must not set securityContext.seccompProfile.type to "Unconfined"',
    });
  });

  it('malformed objects never throw', () => {
    const junk = [{ spec: null }, { spec: { containers: 'x', volumes: [null, 3], securityContext: 'no' } }, { metadata: { annotations: null }, spec: { containers: [null, { name: 1, securityContext: [] }] } }];
    for (const c of DEFAULT_CHECKS) for (const v of c.versions) for (const p of junk) v.checkPod((p as any).metadata ?? {}, p.spec);
  });
});
