/** The audit log: policy, events, and the JSON-lines backend, put together from the server's flags. */
import { Auditor } from './auditor.js';
import { LogBackend } from './backend.js';
import { DEFAULT_POLICY, loadPolicyFile } from './policy.js';

export { Auditor, AuditContext, microTime, sourceIPs } from './auditor.js';
export { LogBackend, type AuditBackend } from './backend.js';
export { DEFAULT_POLICY, PolicyRuleEvaluator, parsePolicy, loadPolicyFile, validatePolicy, type Policy, type PolicyRule, type Level, type Stage } from './policy.js';

export interface AuditOptions {
  /** --audit-log-path: a file, or '-' for stdout. */
  logPath: string;
  /** --audit-policy-file; without it every request is recorded at Metadata level. */
  policyFile?: string;
  /** --audit-log-maxsize (megabytes). */
  maxSizeMB?: number;
  /** --audit-log-maxbackup. */
  maxBackups?: number;
}

export async function startAudit(opts: AuditOptions): Promise<Auditor> {
  const policy = opts.policyFile ? await loadPolicyFile(opts.policyFile) : DEFAULT_POLICY;
  const backend = await LogBackend.create({ path: opts.logPath, maxSizeMB: opts.maxSizeMB, maxBackups: opts.maxBackups });
  return new Auditor({ policy, backend });
}
