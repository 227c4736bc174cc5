/** managedFields tracking and server-side apply (upstream's fieldmanager over structured-merge-diff). */
export { FieldManager, LAST_APPLIED_ANNOTATION, MAX_UPDATE_MANAGERS, conflictError, managerFromUserAgent } from './field-manager.js';
export { type Fields } from './field-set.js';
