// TEMPORARY stand-in on the serving branch until the cel helper's module lands (replaced at merge).
import type { StatusCause } from '../errors.js';
export function validateCelRules(_obj: unknown, _old: unknown, _schema: Record<string, any>): StatusCause[] {
  return [];
}
