/** Where handlers get schemas from: the generated definitions of built-in kinds (CRDs add theirs later). */
import { loadDefinitions, resolveRef } from '../api/schema.js';

export interface SchemaSource {
  definitions(): Record<string, any>;
  /** The resolved root schema of a definition, or undefined when there is none (then merge semantics apply). */
  schemaFor(definition: string): any;
}

export function builtinSchemas(): SchemaSource {
  const defs = loadDefinitions();
  return {
    definitions: () => defs,
    schemaFor: (name) => (defs[name] ? resolveRef(defs[name], defs) : undefined),
  };
}
