/**
 * Kubernetes' format library (library/format.go): format.<name>() and format.named(name) give a
 * format whose validate(string) returns optional.none() when valid, or the list of problems.
 */
import { Optional, type Environment } from '@marcbachmann/cel-js';
import {
  isDNS1035Label,
  isDNS1123Label,
  isDNS1123Subdomain,
  isQualifiedName,
  isValidLabelValue,
  nameIsDNS1035Label,
  nameIsDNSLabel,
  nameIsDNSSubdomain,
} from '../../validation/names.js';
import { parseRequestURI } from './network.js';
import { chargeString } from './strings.js';

export class CelFormat {
  constructor(
    readonly name: string,
    readonly check: (s: string) => string[],
  ) {}
}

const UUID = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;
const DATE = /^\d{4}-\d{2}-\d{2}$/;
const DATETIME = /^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/;

const FORMATS: Record<string, (s: string) => string[]> = {
  dns1123Label: isDNS1123Label,
  dns1123Subdomain: isDNS1123Subdomain,
  dns1035Label: isDNS1035Label,
  qualifiedName: isQualifiedName,
  dns1123LabelPrefix: (s) => nameIsDNSLabel(s, true),
  dns1123SubdomainPrefix: (s) => nameIsDNSSubdomain(s, true),
  dns1035LabelPrefix: (s) => nameIsDNS1035Label(s, true),
  labelValue: isValidLabelValue,
  uri: (s) => (typeof parseRequestURI(s) === 'string' ? ['invalid URI'] : []),
  uuid: (s) => (UUID.test(s) ? [] : ['does not match the UUID format']),
  byte: (s) => (/^[A-Za-z0-9+/]*={0,2}$/.test(s) && s.length % 4 === 0 ? [] : ['invalid base64']),
  date: (s) => (DATE.test(s) && !Number.isNaN(Date.parse(s)) ? [] : ['an RFC3339 date']),
  datetime: (s) => (DATETIME.test(s) && !Number.isNaN(Date.parse(s)) ? [] : ['an RFC3339 date-time']),
};

class FormatNamespace {}

export function registerFormat(env: Environment): void {
  env.registerType('k8s.Format', CelFormat);
  env.registerType('k8s.FormatNamespace', FormatNamespace);
  env.registerConstant('format', 'k8s.FormatNamespace', new FormatNamespace());
  for (const [name, check] of Object.entries(FORMATS)) {
    const f = new CelFormat(name, check);
    env.registerFunction(`k8s.FormatNamespace.${name}(): k8s.Format`, () => f);
  }
  env.registerFunction('k8s.FormatNamespace.named(string): optional<k8s.Format>', (_: unknown, name: string) => {
    const check = Object.hasOwn(FORMATS, name) ? FORMATS[name] : undefined;
    return check ? Optional.of(new CelFormat(name, check)) : Optional.none();
  });
  env.registerFunction('k8s.Format.validate(string): optional<list<string>>', (f: CelFormat, s: string) => {
    chargeString(s);
    const errs = f.check(s);
    return errs.length ? Optional.of(errs) : Optional.none();
  });
}
