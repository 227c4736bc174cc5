/** Structural schemas of CustomResourceDefinitions: validation, defaulting and pruning of custom resources, and the schema checks of CRD validation. */
export { validateCustomResource, applyDefaults, pruneUnknownFields, validateStructuralSchema, isStructural } from './structural.js';
export type { JSONSchemaProps } from './structural.js';
export { validateAgainstSchema } from './validate.js';
