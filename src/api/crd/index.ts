// TEMPORARY stand-in on the serving branch until the crdschema helper's module lands (replaced at merge).
import type { StatusCause } from '../errors.js';
export type JSONSchemaProps = Record<string, any>;
export function validateCustomResource(_obj: unknown, _schema: JSONSchemaProps): StatusCause[] {
  return [];
}
export function applyDefaults(_obj: unknown, _schema: JSONSchemaProps): void {}
export function pruneUnknownFields(_obj: unknown, _schema: JSONSchemaProps): string[] {
  return [];
}
