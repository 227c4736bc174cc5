/**
 * Upstream's OpenAPI documents (Kubernetes 1.26), which some tests compare skiff's derived schemas
 * with. They live in the shared folder beside the checkout, never in the product. Outside CI a
 * checkout without it skips those comparisons; under CI=true a missing folder fails loudly.
 */
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');

export const UPSTREAM_OPENAPI_V3 = process.env.SKIFF_K8S_OPENAPI_V3 ?? join(REPO_ROOT, '..', 'shared', 'k8s-openapi', 'v3');

/**
 * For `describe(..., { skip: upstreamOpenApiSkip() })`: false when the documents are there; a
 * reason to skip otherwise, except under CI, where their absence is an error.
 */
export function upstreamOpenApiSkip(): false | string {
  if (existsSync(join(UPSTREAM_OPENAPI_V3, 'api__v1_openapi.json'))) return false;
  const why = `upstream OpenAPI documents not found in ${UPSTREAM_OPENAPI_V3} (the shared folder beside the checkout; or set SKIFF_K8S_OPENAPI_V3)`;
  if (process.env.CI === 'true') throw new Error(why);
  return why;
}
