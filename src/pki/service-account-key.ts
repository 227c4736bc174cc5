/**
 * The key pair service account tokens are signed with, kept as kubeadm keeps it: `pki/sa.key`
 * (PKCS#8 PEM, 0600) and `pki/sa.pub` (SPKI PEM). RSA 2048 as kubeadm makes it; RS256 is also
 * what OIDC relying parties expect, and verifying RSA signatures (the hot path: every request
 * with a token) is several times cheaper than verifying ECDSA ones.
 */
import { createPrivateKey, createPublicKey, generateKeyPair } from 'node:crypto';
import { chmod, mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';

const generate = promisify(generateKeyPair);

export const SA_KEY_FILE = 'sa.key';
export const SA_PUB_FILE = 'sa.pub';

export interface ServiceAccountKey {
  /** PEM (PKCS#8) private key. */
  privateKey: string;
  /** PEM (SPKI) public key. */
  publicKey: string;
}

/**
 * Loads `<dataDir>/pki/sa.key`, creating the pair when absent. sa.pub is always derived from
 * sa.key (and rewritten if it differs), so the two can never disagree.
 */
export async function ensureServiceAccountKey(dataDir: string): Promise<ServiceAccountKey> {
  const dir = join(dataDir, 'pki');
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const keyPath = join(dir, SA_KEY_FILE);
  const pubPath = join(dir, SA_PUB_FILE);
  let privateKey = await readOptional(keyPath);
  if (privateKey === undefined) {
    const pair = await generate('rsa', { modulusLength: 2048 });
    privateKey = pair.privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;
    await writeAtomic(keyPath, privateKey, 0o600);
  } else {
    await chmod(keyPath, 0o600);
  }
  let publicKey: string;
  try {
    publicKey = createPublicKey(createPrivateKey(privateKey)).export({ type: 'spki', format: 'pem' }) as string;
  } catch (err) {
    throw new Error(`service account key ${keyPath} is unusable: ${(err as Error).message}`);
  }
  if ((await readOptional(pubPath)) !== publicKey) await writeAtomic(pubPath, publicKey, 0o644);
  return { privateKey, publicKey };
}

async function readOptional(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

async function writeAtomic(path: string, text: string, mode: number): Promise<void> {
  const tmp = `${path}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`;
  await writeFile(tmp, text, { mode });
  await chmod(tmp, mode);
  await rename(tmp, path);
}
