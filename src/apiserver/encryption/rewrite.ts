/**
 * Re-encryption after a key rotation: every object of the given resources is written back unchanged
 * through the API (upstream's `kubectl get secrets -A -o json | kubectl replace -f -`). The server
 * rewrites an unchanged object only when it was read with an old key, so the pass is cheap for
 * objects already under the primary key.
 */
import { ApiError } from '../../api/errors.js';
import type { KubeObject } from '../../api/types.js';
import type { Client, ResourceRef } from '../../client/interface.js';
import { parseGroupResource } from './config.js';

export interface RewriteResult {
  resource: string;
  /** Objects written back. */
  rewritten: number;
  /** Objects changed or deleted by someone else meanwhile (their new value is under the primary key already). */
  skipped: number;
}

const PAGE = 500;

export async function rewriteResources(client: Client, resources: string[], log: (line: string) => void = () => undefined): Promise<RewriteResult[]> {
  const served = await client.resources();
  const results: RewriteResult[] = [];
  for (const spec of resources) {
    const gr = parseGroupResource(spec);
    const found = served.find((r) => r.preferred && r.ref.group === gr.group && r.ref.resource === gr.resource) ?? served.find((r) => r.ref.group === gr.group && r.ref.resource === gr.resource);
    if (!found) throw new Error(`the server doesn't have a resource type "${spec}"`);
    const result = { resource: spec, rewritten: 0, skipped: 0 };
    const apiVersion = found.ref.group ? `${found.ref.group}/${found.ref.version}` : found.ref.version;
    let cont: string | undefined;
    do {
      const page = await client.list(found.ref, '', { limit: PAGE, continue: cont });
      for (const item of page.items) await rewriteOne(client, found.ref, { ...item, apiVersion, kind: found.kind }, result);
      cont = page.continue || undefined;
    } while (cont);
    log(`${spec}: ${result.rewritten} rewritten, ${result.skipped} changed meanwhile`);
    results.push(result);
  }
  return results;
}

async function rewriteOne(client: Client, ref: ResourceRef, obj: KubeObject, result: RewriteResult): Promise<void> {
  try {
    await client.update(ref, obj.metadata?.namespace ?? '', obj);
    result.rewritten++;
  } catch (err) {
    if (err instanceof ApiError && (err.code === 409 || err.code === 404)) {
      result.skipped++;
      return;
    }
    throw err;
  }
}
