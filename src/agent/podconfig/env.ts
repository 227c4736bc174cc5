/**
 * A container's environment as the kubelet makes it (makeEnvironmentVariables):
 *
 * 1. `envFrom` in order, each ConfigMap's or Secret's keys (with the prefix) — later sources win;
 * 2. `env` in order, overriding: a `value` has its `$(VAR)` references expanded against what is
 *    defined so far (envFrom, earlier env, then the service variables), otherwise `valueFrom` is
 *    resolved (fieldRef, resourceFieldRef, configMapKeyRef, secretKeyRef);
 * 3. the service variables (`<SVC>_SERVICE_HOST`, …) no explicit variable already defines.
 *
 * A missing object or key is an error unless the reference is optional; the error texts are
 * upstream's, as the pod shows them under CreateContainerConfigError. The image's own env is not
 * here: the runtime puts it first (see buildContainerSpec).
 */
import type { KubeObject } from '../../api/types.js';
import type { ConfigSource } from './config-source.js';
import { ContainerConfigError } from './errors.js';
import { expand, mappingFor } from './expansion.js';
import { podFieldValue, resourceFieldValue, type ResourceList } from './fieldpath.js';

export interface EnvVar {
  name: string;
  value: string;
}

export interface EnvironmentInput {
  pod: KubeObject;
  container: any;
  source: ConfigSource;
  /** The pod's IPs (the first is status.podIP); the node's IPs for status.hostIP(s). */
  podIPs?: string[];
  hostIPs?: string[];
  /** node.status.allocatable: the limits a resourceFieldRef reads when the container sets none. */
  nodeAllocatable?: ResourceList;
  /** Service variables for the pod's namespace (see serviceEnvironment), in the order to add them. */
  serviceEnv?: ReadonlyMap<string, string>;
}

/** A warning the pod worker turns into an event on the pod. */
export interface EnvironmentWarning {
  type: 'Warning';
  reason: string;
  message: string;
}

export interface ResolvedEnvironment {
  vars: EnvVar[];
  warnings: EnvironmentWarning[];
}

/**
 * Keys that cannot be passed to a process at all. Upstream (1.30+, relaxed env var names) no longer
 * filters envFrom keys, and the API's key rules keep out everything else; a name with "=" or NUL
 * would still corrupt the "KEY=value" list the runtime gets, so those few are skipped and reported.
 */
function isPassableName(name: string): boolean {
  return name.length > 0 && !name.includes('=') && !name.includes('\0');
}

const decoder = new TextDecoder();

function secretValue(b64: unknown): string {
  return typeof b64 === 'string' ? decoder.decode(Buffer.from(b64, 'base64')) : '';
}

async function fetchOnce(
  cache: Map<string, KubeObject | null>,
  kind: 'configmap' | 'secret',
  read: (ns: string, name: string) => Promise<KubeObject | undefined>,
  ns: string,
  name: string,
): Promise<KubeObject | null> {
  const key = `${kind}/${name}`;
  if (cache.has(key)) return cache.get(key)!;
  let obj: KubeObject | undefined;
  try {
    obj = await read(ns, name);
  } catch (err) {
    throw new ContainerConfigError(`failed to read ${kind} ${ns}/${name}: ${(err as Error).message ?? String(err)}`);
  }
  cache.set(key, obj ?? null);
  return obj ?? null;
}

export async function resolveEnvironment(input: EnvironmentInput): Promise<ResolvedEnvironment> {
  const { pod, container, source } = input;
  const ns = pod.metadata?.namespace ?? '';
  const cache = new Map<string, KubeObject | null>();
  const configMap = (name: string) => fetchOnce(cache, 'configmap', (n, m) => source.configMap(n, m), ns, name);
  const secret = (name: string) => fetchOnce(cache, 'secret', (n, m) => source.secret(n, m), ns, name);
  const tmpEnv = new Map<string, string>();
  const warnings: EnvironmentWarning[] = [];

  for (const from of container?.envFrom ?? []) {
    const prefix: string = from?.prefix ?? '';
    let data: [string, string][];
    let what: 'configMap' | 'secret';
    let name: string;
    if (from?.configMapRef) {
      name = from.configMapRef.name ?? '';
      what = 'configMap';
      const cm = await configMap(name);
      if (!cm) {
        if (from.configMapRef.optional === true) continue;
        throw new ContainerConfigError(`configmap "${name}" not found`);
      }
      data = Object.entries((cm.data ?? {}) as Record<string, string>);
    } else if (from?.secretRef) {
      name = from.secretRef.name ?? '';
      what = 'secret';
      const s = await secret(name);
      if (!s) {
        if (from.secretRef.optional === true) continue;
        throw new ContainerConfigError(`secret "${name}" not found`);
      }
      data = Object.entries((s.data ?? {}) as Record<string, string>).map(([k, v]) => [k, secretValue(v)]);
    } else {
      continue;
    }
    const invalid: string[] = [];
    for (const [k, v] of data) {
      const key = prefix + k;
      if (!isPassableName(key)) {
        invalid.push(key);
        continue;
      }
      tmpEnv.set(key, String(v));
    }
    if (invalid.length > 0) {
      warnings.push({
        type: 'Warning',
        reason: 'InvalidEnvironmentVariableNames',
        message: `Keys [${invalid.sort().join(', ')}] from the EnvFrom ${what} ${ns}/${name} were skipped since they are considered invalid environment variable names.`,
      });
    }
  }

  const mapping = mappingFor(tmpEnv, input.serviceEnv);
  for (const e of container?.env ?? []) {
    const envName: string = e?.name ?? '';
    let value: string = e?.value ?? '';
    if (value !== '') {
      value = expand(value, mapping);
    } else if (e?.valueFrom) {
      const vf = e.valueFrom;
      if (vf.fieldRef) {
        value = configError(() => podFieldValue(vf.fieldRef, pod, { podIPs: input.podIPs, hostIPs: input.hostIPs }));
      } else if (vf.resourceFieldRef) {
        value = configError(() => resourceFieldValue(vf.resourceFieldRef, pod, container, input.nodeAllocatable));
      } else if (vf.configMapKeyRef) {
        const { name = '', key = '', optional } = vf.configMapKeyRef;
        const cm = await configMap(name);
        if (!cm) {
          if (optional === true) continue;
          throw new ContainerConfigError(`configmap "${name}" not found`);
        }
        const v = cm.data?.[key];
        if (typeof v !== 'string') {
          if (optional === true) continue;
          throw new ContainerConfigError(`couldn't find key ${key} in ConfigMap ${ns}/${name}`);
        }
        value = v;
      } else if (vf.secretKeyRef) {
        const { name = '', key = '', optional } = vf.secretKeyRef;
        const s = await secret(name);
        if (!s) {
          if (optional === true) continue;
          throw new ContainerConfigError(`secret "${name}" not found`);
        }
        const v = s.data?.[key];
        if (typeof v !== 'string') {
          if (optional === true) continue;
          throw new ContainerConfigError(`couldn't find key ${key} in Secret ${ns}/${name}`);
        }
        value = secretValue(v);
      }
    }
    tmpEnv.set(envName, value);
  }

  const vars: EnvVar[] = [...tmpEnv].map(([name, value]) => ({ name, value }));
  for (const [name, value] of input.serviceEnv ?? []) if (!tmpEnv.has(name)) vars.push({ name, value });
  return { vars, warnings };
}

function configError(fn: () => string): string {
  try {
    return fn();
  } catch (err) {
    if (err instanceof ContainerConfigError) throw err;
    throw new ContainerConfigError((err as Error).message ?? String(err));
  }
}

/** The variables as a map, later entries winning (kubecontainer.EnvVarsToMap). */
export function envMap(vars: readonly EnvVar[]): Map<string, string> {
  const m = new Map<string, string>();
  for (const v of vars) m.set(v.name, v.value);
  return m;
}
