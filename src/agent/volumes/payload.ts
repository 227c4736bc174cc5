/**
 * What the projected volume types contain, as upstream's plugins compute it (configmap.MakePayload,
 * secret.MakePayload, downwardapi.CollectData, projected collectData) with their error texts.
 */
import type { KubeObject } from '../../api/types.js';
import type { ConfigSource } from '../podconfig/config-source.js';
import { extractFieldPathAsString, resourceFieldValue, type ResourceList } from '../podconfig/fieldpath.js';
import type { FileProjection, Payload } from './atomic-writer.js';
import type { ServiceAccountTokenManager } from './token-manager.js';

/** The API's default for defaultMode (0644). */
export const DEFAULT_MODE = 0o644;

interface KeyToPath {
  key?: string;
  path?: string;
  mode?: number;
}

function modeOf(m: unknown, fallback: number): number {
  return typeof m === 'number' ? m : fallback;
}

/** Several errors as one, as utilerrors.NewAggregate prints them. */
export function aggregate(errors: string[]): Error | undefined {
  if (errors.length === 0) return undefined;
  return new Error(errors.length === 1 ? errors[0] : `[${errors.join(', ')}]`);
}

export function configMapPayload(items: KeyToPath[] | undefined, cm: KubeObject, defaultMode: number, optional: boolean): Payload {
  const data: Record<string, string> = cm.data ?? {};
  const binary: Record<string, string> = cm.binaryData ?? {};
  const payload: Payload = new Map();
  if (!items || items.length === 0) {
    for (const [k, v] of Object.entries(data)) payload.set(k, { data: Buffer.from(String(v), 'utf8'), mode: defaultMode });
    for (const [k, v] of Object.entries(binary)) payload.set(k, { data: Buffer.from(String(v), 'base64'), mode: defaultMode });
    return payload;
  }
  for (const ktp of items) {
    const key = ktp.key ?? '';
    let content: Buffer;
    if (typeof data[key] === 'string') content = Buffer.from(data[key], 'utf8');
    else if (typeof binary[key] === 'string') content = Buffer.from(binary[key], 'base64');
    else {
      if (optional) continue;
      throw new Error(`configmap references non-existent config key: ${key}`);
    }
    payload.set(ktp.path ?? '', { data: content, mode: modeOf(ktp.mode, defaultMode) });
  }
  return payload;
}

export function secretPayload(items: KeyToPath[] | undefined, secret: KubeObject, defaultMode: number, optional: boolean): Payload {
  const data: Record<string, string> = secret.data ?? {};
  const payload: Payload = new Map();
  if (!items || items.length === 0) {
    for (const [k, v] of Object.entries(data)) payload.set(k, { data: Buffer.from(String(v), 'base64'), mode: defaultMode });
    return payload;
  }
  for (const ktp of items) {
    const key = ktp.key ?? '';
    if (typeof data[key] !== 'string') {
      if (optional) continue;
      throw new Error(`references non-existent secret key: ${key}`);
    }
    payload.set(ktp.path ?? '', { data: Buffer.from(data[key], 'base64'), mode: modeOf(ktp.mode, defaultMode) });
  }
  return payload;
}

export function downwardAPIPayload(items: any[] | undefined, pod: KubeObject, defaultMode: number, allocatable: ResourceList | undefined): Payload {
  const payload: Payload = new Map();
  const errors: string[] = [];
  for (const item of items ?? []) {
    const path = String(item?.path ?? '');
    const f: FileProjection = { data: Buffer.alloc(0), mode: modeOf(item?.mode, defaultMode) };
    try {
      if (item?.fieldRef) f.data = Buffer.from(extractFieldPathAsString(pod, item.fieldRef.fieldPath ?? ''), 'utf8');
      else if (item?.resourceFieldRef) f.data = Buffer.from(resourceFieldValue(item.resourceFieldRef, pod, undefined, allocatable), 'utf8');
    } catch (err) {
      errors.push((err as Error).message);
    }
    payload.set(path, f);
  }
  const err = aggregate(errors);
  if (err) throw err;
  return payload;
}

/** Thrown for a source skiff cannot provide; the message names what is missing. */
export class UnsupportedSourceError extends Error {}

/** The API's default for a projected token's expirationSeconds. */
const DEFAULT_TOKEN_EXPIRATION_SECONDS = 3600;

export async function projectedPayload(
  volume: any,
  pod: KubeObject,
  source: ConfigSource,
  allocatable: ResourceList | undefined,
  tokens?: ServiceAccountTokenManager,
): Promise<Payload> {
  const proj = volume.projected ?? {};
  const defaultMode = modeOf(proj.defaultMode, DEFAULT_MODE);
  const ns = pod.metadata?.namespace ?? '';
  const payload: Payload = new Map();
  const errors: string[] = [];
  const merge = (p: Payload) => {
    for (const [k, v] of p) payload.set(k, v);
  };
  for (const s of proj.sources ?? []) {
    try {
      if (s?.secret) {
        const optional = s.secret.optional === true;
        const obj = await source.secret(ns, s.secret.name ?? '');
        if (!obj && !optional) throw new Error(`secret "${s.secret.name ?? ''}" not found`);
        merge(secretPayload(s.secret.items, obj ?? {}, defaultMode, optional));
      } else if (s?.configMap) {
        const optional = s.configMap.optional === true;
        const obj = await source.configMap(ns, s.configMap.name ?? '');
        if (!obj && !optional) throw new Error(`configmap "${s.configMap.name ?? ''}" not found`);
        merge(configMapPayload(s.configMap.items, obj ?? {}, defaultMode, optional));
      } else if (s?.downwardAPI) {
        merge(downwardAPIPayload(s.downwardAPI.items, pod, defaultMode, allocatable));
      } else if (s?.serviceAccountToken) {
        if (!tokens) throw new UnsupportedSourceError('projected serviceAccountToken sources need a token manager, and this agent has none');
        const tp = s.serviceAccountToken;
        // With an fsGroup the file is 0600 and ownership makes it 0640, as the kubelet does.
        const fsGroup = pod.spec?.securityContext?.fsGroup;
        const mode = typeof fsGroup === 'number' ? 0o600 : defaultMode;
        const token = await tokens.getServiceAccountToken(ns, String(pod.spec?.serviceAccountName ?? ''), {
          audiences: typeof tp.audience === 'string' && tp.audience ? [tp.audience] : undefined,
          expirationSeconds: typeof tp.expirationSeconds === 'number' ? tp.expirationSeconds : DEFAULT_TOKEN_EXPIRATION_SECONDS,
          boundObjectRef: { apiVersion: 'v1', kind: 'Pod', name: String(pod.metadata?.name ?? ''), uid: String(pod.metadata?.uid ?? '') },
        });
        payload.set(String(tp.path ?? ''), { data: Buffer.from(token, 'utf8'), mode });
      } else if (s?.clusterTrustBundle) {
        throw new UnsupportedSourceError('projected clusterTrustBundle sources are not supported by skiff');
      }
    } catch (err) {
      if (err instanceof UnsupportedSourceError) throw err;
      errors.push((err as Error).message);
    }
  }
  const err = aggregate(errors);
  if (err) throw err;
  return payload;
}
