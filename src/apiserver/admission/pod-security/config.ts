/**
 * The PodSecurity plugin's configuration, after upstream's PodSecurityConfiguration
 * (pod-security.admission.config.k8s.io/v1): the policy of namespaces without labels (privileged
 * everywhere unless configured, as upstream), and the requests never evaluated — by user name, by
 * RuntimeClass, by namespace. Field names are upstream's, so an AdmissionConfiguration file's
 * PodSecurity section can be passed as it is.
 */
import { parseLevel, parseVersion, type Policy } from './api.js';

export interface PodSecurityDefaults {
  enforce?: string;
  'enforce-version'?: string;
  audit?: string;
  'audit-version'?: string;
  warn?: string;
  'warn-version'?: string;
}

export interface PodSecurityExemptions {
  usernames?: string[];
  namespaces?: string[];
  runtimeClasses?: string[];
}

export interface PodSecurityConfiguration {
  defaults?: PodSecurityDefaults;
  exemptions?: PodSecurityExemptions;
}

/** A configuration checked and turned into what the plugin reads on every request. */
export interface ResolvedPodSecurityConfiguration {
  defaults: Policy;
  exemptUsernames: ReadonlySet<string>;
  exemptNamespaces: ReadonlySet<string>;
  exemptRuntimeClasses: ReadonlySet<string>;
}

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

/**
 * Defaults unset fields (privileged, latest) and validates the rest, throwing upstream's field
 * errors joined as one message when anything is wrong: a bad configuration must stop the server.
 */
export function resolvePodSecurityConfiguration(config: PodSecurityConfiguration = {}): ResolvedPodSecurityConfiguration {
  const d = config.defaults ?? {};
  const errs: string[] = [];
  const level = (field: keyof PodSecurityDefaults) => {
    const value = d[field] || 'privileged';
    const r = parseLevel(value);
    if (r.error) errs.push(`defaults.${field}: Invalid value: ${JSON.stringify(value)}: ${r.error}`);
    return r.level;
  };
  const version = (field: keyof PodSecurityDefaults) => {
    const value = d[field] || 'latest';
    const r = parseVersion(value);
    if (r.error) errs.push(`defaults.${field}: Invalid value: ${JSON.stringify(value)}: ${r.error}`);
    return r.version;
  };
  const defaults: Policy = {
    enforce: { level: level('enforce'), version: version('enforce-version') },
    warn: { level: level('warn'), version: version('warn-version') },
    audit: { level: level('audit'), version: version('audit-version') },
  };
  const exemptions = config.exemptions ?? {};
  const names = (field: keyof PodSecurityExemptions, valid: (v: string) => string | undefined): Set<string> => {
    const out = new Set<string>();
    (exemptions[field] ?? []).forEach((v, i) => {
      const path = `exemptions.${field}[${i}]`;
      const why = valid(v);
      if (why) errs.push(`${path}: Invalid value: ${JSON.stringify(v)}: ${why}`);
      else if (out.has(v)) errs.push(`${path}: Duplicate value: ${JSON.stringify(v)}`);
      else out.add(v);
    });
    return out;
  };
  const exemptNamespaces = names('namespaces', (v) =>
    v.length <= 63 && DNS_LABEL.test(v) ? undefined : "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character",
  );
  const exemptRuntimeClasses = names('runtimeClasses', (v) =>
    v.length <= 253 && DNS_SUBDOMAIN.test(v) ? undefined : "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character",
  );
  const exemptUsernames = names('usernames', (v) => (v === '' ? 'username must not be empty' : undefined));
  if (errs.length > 0) throw new Error(`PodSecurity invalid: ${errs.length === 1 ? errs[0] : `[${errs.join(', ')}]`}`);
  return { defaults, exemptUsernames, exemptNamespaces, exemptRuntimeClasses };
}
