/**
 * Value transformers at the storage boundary, after upstream's storage/value: a value written by an
 * encrypting provider reads `k8s:enc:<provider>:v1:<key name>:` followed by the sealed bytes.
 *
 * - aesgcm: a random 12-byte nonce, the ciphertext, the 16-byte tag; the storage key is the
 *   additional authenticated data, so a value copied under another key does not decrypt.
 * - aescbc: a random 16-byte IV, then the PKCS#7-padded ciphertext (no authentication, as upstream).
 *
 * One difference from upstream: the Store holds text, so the sealed bytes after the prefix are
 * base64-encoded rather than raw.
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';

export interface ReadResult {
  value: string;
  /** Read with anything but the first provider's first key: the next write should re-encrypt it. */
  stale: boolean;
}

export interface Provider {
  /** `k8s:enc:aesgcm:v1:`, or '' for identity. */
  readonly prefix: string;
  /** Seals a value with the provider's first key. */
  toStorage(plain: string, key: string): string;
  /**
   * Opens a value that starts with `prefix`; `firstKeyStale` tells whether the first key counts as stale
   * (it does when this provider is not the first one). Throws when no key of this provider opens it.
   */
  fromStorage(data: string, key: string, providerIsFirst: boolean): ReadResult;
}

const ENCRYPTED_PREFIX = 'k8s:enc:';
const GCM_NONCE = 12;
const GCM_TAG = 16;
const BLOCK = 16;

/** Reads data that is not encrypted; refuses data that carries any encrypted prefix. */
export function identityProvider(): Provider {
  return {
    prefix: '',
    toStorage: (plain) => plain,
    fromStorage(data, _key, first) {
      if (data.startsWith(ENCRYPTED_PREFIX)) throw new Error('identity transformer tried to read encrypted data');
      return { value: data, stale: !first };
    },
  };
}

interface NamedKey {
  name: string;
  key: Buffer;
}

export function aesProvider(mode: 'aesgcm' | 'aescbc', keys: NamedKey[]): Provider {
  const prefix = `k8s:enc:${mode}:v1:`;
  const algorithm = (k: Buffer) => `aes-${k.length * 8}-${mode === 'aesgcm' ? 'gcm' : 'cbc'}`;
  const seal = mode === 'aesgcm' ? gcmSeal : cbcSeal;
  const open = mode === 'aesgcm' ? gcmOpen : cbcOpen;
  return {
    prefix,
    toStorage(plain, storageKey) {
      const k = keys[0];
      return `${prefix}${k.name}:${seal(algorithm(k.key), k.key, Buffer.from(plain, 'utf8'), storageKey).toString('base64')}`;
    },
    fromStorage(data, storageKey, first) {
      const rest = data.slice(prefix.length);
      const errs: string[] = [];
      for (let i = 0; i < keys.length; i++) {
        const k = keys[i];
        if (!rest.startsWith(`${k.name}:`)) continue;
        try {
          const sealed = Buffer.from(rest.slice(k.name.length + 1), 'base64');
          return { value: open(algorithm(k.key), k.key, sealed, storageKey).toString('utf8'), stale: !first || i !== 0 };
        } catch (err) {
          errs.push((err as Error).message);
        }
      }
      if (errs.length === 1) throw new Error(errs[0]);
      if (errs.length > 1) throw new Error(`[${errs.join(', ')}]`);
      throw new Error('no matching key was found for the provided AES transformer');
    },
  };
}

function gcmSeal(alg: string, key: Buffer, plain: Buffer, aad: string): Buffer {
  const nonce = randomBytes(GCM_NONCE);
  const c = createCipheriv(alg as 'aes-256-gcm', key, nonce);
  c.setAAD(Buffer.from(aad, 'utf8'));
  const body = Buffer.concat([c.update(plain), c.final()]);
  return Buffer.concat([nonce, body, c.getAuthTag()]);
}

function gcmOpen(alg: string, key: Buffer, sealed: Buffer, aad: string): Buffer {
  if (sealed.length < GCM_NONCE + GCM_TAG) throw new Error('the stored data was shorter than the required size');
  const d = createDecipheriv(alg as 'aes-256-gcm', key, sealed.subarray(0, GCM_NONCE));
  d.setAAD(Buffer.from(aad, 'utf8'));
  d.setAuthTag(sealed.subarray(sealed.length - GCM_TAG));
  try {
    return Buffer.concat([d.update(sealed.subarray(GCM_NONCE, sealed.length - GCM_TAG)), d.final()]);
  } catch {
    throw new Error('cipher: message authentication failed');
  }
}

function cbcSeal(alg: string, key: Buffer, plain: Buffer): Buffer {
  const iv = randomBytes(BLOCK);
  // node's default padding is PKCS#7, upstream's too.
  const c = createCipheriv(alg, key, iv);
  return Buffer.concat([iv, c.update(plain), c.final()]);
}

function cbcOpen(alg: string, key: Buffer, sealed: Buffer): Buffer {
  if (sealed.length < BLOCK) throw new Error('the stored data was shorter than the required size');
  if ((sealed.length - BLOCK) % BLOCK !== 0) throw new Error('the stored data is not a multiple of the block size');
  if (sealed.length === BLOCK) throw new Error('invalid PKCS7 data (empty or not padded)');
  const d = createDecipheriv(alg, key, sealed.subarray(0, BLOCK));
  try {
    return Buffer.concat([d.update(sealed.subarray(BLOCK)), d.final()]);
  } catch {
    throw new Error('invalid padding on input');
  }
}

/**
 * Upstream's prefixTransformers over a resource's providers: write with the first; read with the
 * first whose prefix matches and that opens the value (identity skips encrypted data).
 */
export function readValue(providers: readonly Provider[], data: string, key: string): ReadResult {
  const errs: string[] = [];
  for (let i = 0; i < providers.length; i++) {
    const p = providers[i];
    if (!data.startsWith(p.prefix)) continue;
    try {
      return p.fromStorage(data, key, i === 0);
    } catch (err) {
      if (p.prefix === '') continue;
      errs.push((err as Error).message);
    }
  }
  if (errs.length === 1) throw new Error(errs[0]);
  if (errs.length > 1) throw new Error(`[${errs.join(', ')}]`);
  throw new Error('no matching prefix found');
}
