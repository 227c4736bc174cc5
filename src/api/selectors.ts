/**
 * Label and field selectors, parsed and matched as upstream's apimachinery does (pkg/labels/selector.go,
 * pkg/fields/selector.go, metav1.LabelSelectorAsSelector), including its error texts, because clients
 * and tests compare those strings.
 *
 * Selectors are compiled once into small closures: a watch evaluates them for every object of every
 * event, so matching does no parsing, no allocation and no validation.
 */
import type { FieldGetter, KubeObject } from './types.js';
import { fieldLabelInfo } from './fields.js';
import { isSelectorLabelKey, isSelectorLabelValue } from './validation/names.js';
import { errors } from './errors.js';

// ───────────────────────────── label selectors ─────────────────────────────

/** Upstream's selection.Operator strings; they show in error messages and in String(). */
export type LabelOperator = 'in' | 'notin' | '=' | '==' | '!=' | 'exists' | '!' | 'gt' | 'lt';

export interface LabelRequirement {
  readonly key: string;
  readonly operator: LabelOperator;
  /** Sorted as upstream's parser leaves them (sets.String.List()); as given for metav1.LabelSelector. */
  readonly values: readonly string[];
}

export type Labels = Readonly<Record<string, string>> | undefined | null;

export interface LabelPredicate {
  matches(labels: Labels): boolean;
  /** Selects everything (upstream's Selector.Empty()). */
  readonly empty: boolean;
  /** Selects nothing: upstream's labels.Nothing(), what a null metav1.LabelSelector converts to. */
  readonly nothing: boolean;
  /** Sorted by key, as upstream keeps them. */
  readonly requirements: readonly LabelRequirement[];
  /** The value a matching object must carry for `key`, when the selector pins one (=, == or a one-value in). */
  requiresExactMatch(key: string): string | undefined;
  /** Upstream's Selector.String(): "a=b,c in (x,y),!d". */
  toString(): string;
}

type LabelMatcher = (labels: Labels) => boolean;

const hasOwn = Object.prototype.hasOwnProperty;

/** A label's value, or undefined when absent; prototype members of a plain object never count as labels. */
function labelValue(labels: Labels, key: string): string | undefined {
  if (!labels) return undefined;
  const v = labels[key];
  return typeof v === 'string' && hasOwn.call(labels, key) ? v : undefined;
}

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

/** strconv.ParseInt(s, 10, 64): optional sign, decimal digits, int64 range; undefined when Go would fail. */
function parseInt64(s: string): bigint | undefined {
  if (!/^[+-]?[0-9]+$/.test(s)) return undefined;
  const n = BigInt(s);
  return n < INT64_MIN || n > INT64_MAX ? undefined : n;
}

function compileRequirement(r: LabelRequirement): LabelMatcher {
  const { key, values } = r;
  switch (r.operator) {
    case 'in':
    case '=':
    case '==': {
      if (values.length === 1) {
        const want = values[0];
        return (ls) => labelValue(ls, key) === want;
      }
      const set = new Set(values);
      return (ls) => {
        const v = labelValue(ls, key);
        return v !== undefined && set.has(v);
      };
    }
    case 'notin':
    case '!=': {
      if (values.length === 1) {
        const unwanted = values[0];
        return (ls) => labelValue(ls, key) !== unwanted;
      }
      const set = new Set(values);
      return (ls) => {
        const v = labelValue(ls, key);
        return v === undefined || !set.has(v);
      };
    }
    case 'exists':
      return (ls) => labelValue(ls, key) !== undefined;
    case '!':
      return (ls) => labelValue(ls, key) === undefined;
    case 'gt':
    case 'lt': {
      // A requirement that cannot be evaluated matches nothing, as upstream's Matches returns false.
      const bound = values.length === 1 ? parseInt64(values[0]) : undefined;
      if (bound === undefined) return () => false;
      const gt = r.operator === 'gt';
      return (ls) => {
        const v = labelValue(ls, key);
        if (v === undefined) return false;
        const n = parseInt64(v);
        if (n === undefined) return false;
        return gt ? n > bound : n < bound;
      };
    }
  }
}

function requirementString(r: LabelRequirement): string {
  let s = r.operator === '!' ? `!${r.key}` : r.key;
  switch (r.operator) {
    case 'exists':
    case '!':
      return s;
    case 'in':
      s += ' in ';
      break;
    case 'notin':
      s += ' notin ';
      break;
    case 'gt':
      s += '>';
      break;
    case 'lt':
      s += '<';
      break;
    default:
      s += r.operator;
  }
  const vals = r.values.length === 1 ? r.values[0] : [...r.values].sort(compareStrings).join(',');
  return r.operator === 'in' || r.operator === 'notin' ? `${s}(${vals})` : s + vals;
}

/** Go compares strings bytewise; for the ASCII that label syntax allows, code-unit order is the same. */
function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function makeLabelPredicate(reqs: LabelRequirement[]): LabelPredicate {
  // Stable, so requirements with equal keys keep their order in String() (Go's sort is stable for
  // the small slices selectors are made of).
  const requirements = reqs.slice().sort((a, b) => compareStrings(a.key, b.key));
  const matchers = requirements.map(compileRequirement);
  let matches: LabelMatcher;
  if (matchers.length === 0) matches = () => true;
  else if (matchers.length === 1) matches = matchers[0];
  else
    matches = (ls) => {
      for (let i = 0; i < matchers.length; i++) if (!matchers[i](ls)) return false;
      return true;
    };
  const text = requirements.map(requirementString).join(',');
  return {
    matches,
    empty: requirements.length === 0,
    nothing: false,
    requirements,
    requiresExactMatch(key) {
      for (const r of requirements) {
        if (r.key !== key) continue;
        if ((r.operator === '=' || r.operator === '==' || r.operator === 'in') && r.values.length === 1) return r.values[0];
        return undefined;
      }
      return undefined;
    },
    toString: () => text,
  };
}

/** Selects every object (upstream's labels.Everything()). */
export const everythingLabels: LabelPredicate = makeLabelPredicate([]);

/** Selects no object (upstream's labels.Nothing()); its String() is "" like upstream's. */
export const nothingLabels: LabelPredicate = {
  matches: () => false,
  empty: false,
  nothing: true,
  requirements: [],
  requiresExactMatch: () => undefined,
  toString: () => '',
};

// ── validation, with upstream's field.Error texts ──
// (label keys and values by the api layer's rules, validation/names.ts, in the wording selectors use)

/** Go's strconv.Quote (what %q prints), for the bad values quoted in error texts. */
export function goQuote(s: string): string {
  let out = '"';
  for (const ch of s) {
    const c = ch.codePointAt(0)!;
    if (ch === '"' || ch === '\\') out += '\\' + ch;
    else if (c >= 0x20 && c < 0x7f) out += ch;
    else if (c === 7) out += '\\a';
    else if (c === 8) out += '\\b';
    else if (c === 12) out += '\\f';
    else if (c === 10) out += '\\n';
    else if (c === 13) out += '\\r';
    else if (c === 9) out += '\\t';
    else if (c === 11) out += '\\v';
    else if (c < 0x20 || c === 0x7f) out += '\\x' + c.toString(16).padStart(2, '0');
    else if ((c >= 0x80 && c < 0xa0) || c === 0xad || c === 0x2028 || c === 0x2029 || (c >= 0xd800 && c < 0xe000))
      out += '\\u' + c.toString(16).padStart(4, '0');
    else out += ch;
  }
  return out + '"';
}

/** Go's json.Marshal of a string: HTML-sensitive characters escaped, unlike JSON.stringify. */
function goJSONString(s: string): string {
  return JSON.stringify(s).replace(/[<>&\u2028\u2029]/g, (c) => '\\u' + c.charCodeAt(0).toString(16).padStart(4, '0'));
}

/** field.Error.Error() for ErrorTypeInvalid: "<path>: Invalid value: <value>: <detail>". */
function invalidValue(path: string, value: string | readonly string[] | null, detail: string): string {
  let shown: string;
  if (value === null) shown = 'null';
  else if (typeof value === 'string') shown = goQuote(value);
  else shown = `[${value.map(goJSONString).join(',')}]`;
  return `${path}: Invalid value: ${shown}: ${detail}`;
}

/** utilerrors.NewAggregate(...).Error(): one message alone, several deduplicated inside brackets. */
function aggregate(msgs: string[]): string {
  const seen = [...new Set(msgs)];
  return seen.length === 1 ? seen[0] : `[${seen.join(', ')}]`;
}

/**
 * Upstream's labels.NewRequirement checks with the field paths it uses when called without a path
 * ("key", "values", "values[0]", "values[0][<key>]"). `values` is null where Go's slice would be nil.
 * Returns the aggregated error text, or undefined when the requirement is valid.
 */
function requirementError(key: string, op: LabelOperator, values: readonly string[] | null): string | undefined {
  const errs: string[] = [];
  const keyErrs = isSelectorLabelKey(key);
  if (keyErrs.length) errs.push(invalidValue('key', key, keyErrs.join('; ')));
  const vals = values ?? [];
  switch (op) {
    case 'in':
    case 'notin':
      if (vals.length === 0) errs.push(invalidValue('values', values, "for 'in', 'notin' operators, values set can't be empty"));
      break;
    case '=':
    case '==':
    case '!=':
      if (vals.length !== 1) errs.push(invalidValue('values', values, 'exact-match compatibility requires one single value'));
      break;
    case 'exists':
    case '!':
      if (vals.length !== 0) errs.push(invalidValue('values', values, 'values set must be empty for exists and does not exist'));
      break;
    case 'gt':
    case 'lt':
      if (vals.length !== 1) errs.push(invalidValue('values', values, "for 'Gt', 'Lt' operators, exactly one value is required"));
      vals.forEach((v, i) => {
        if (parseInt64(v) === undefined) errs.push(invalidValue(`values[${i}]`, v, "for 'Gt', 'Lt' operators, the value must be an integer"));
      });
      break;
  }
  vals.forEach((v, i) => {
    const valErrs = isSelectorLabelValue(v);
    if (valErrs.length) errs.push(invalidValue(`values[${i}][${key}]`, v, valErrs.join('; ')));
  });
  return errs.length ? aggregate(errs) : undefined;
}

// ── the string form: upstream's lexer and recursive-descent parser ──

const enum Tok {
  Error,
  End,
  ClosedPar,
  Comma,
  DoesNotExist,
  DoubleEquals,
  Equals,
  GreaterThan,
  Identifier,
  In,
  LessThan,
  NotEquals,
  NotIn,
  OpenPar,
}

const TOKENS: Record<string, Tok> = {
  ')': Tok.ClosedPar,
  ',': Tok.Comma,
  '!': Tok.DoesNotExist,
  '==': Tok.DoubleEquals,
  '=': Tok.Equals,
  '>': Tok.GreaterThan,
  in: Tok.In,
  '<': Tok.LessThan,
  '!=': Tok.NotEquals,
  notin: Tok.NotIn,
  '(': Tok.OpenPar,
};

const isWhitespace = (ch: string) => ch === ' ' || ch === '\t' || ch === '\r' || ch === '\n';
const isSpecial = (ch: string) => ch === '=' || ch === '!' || ch === '(' || ch === ')' || ch === ',' || ch === '>' || ch === '<';

interface Item {
  tok: Tok;
  lit: string;
}

function lex(s: string): Item[] {
  const items: Item[] = [];
  let pos = 0;
  // Go's lexer reads a NUL byte as the end of input; so do we.
  const read = () => (pos < s.length ? s[pos++] : '\0');
  for (;;) {
    let ch = read();
    while (isWhitespace(ch)) ch = read();
    if (ch === '\0') {
      items.push({ tok: Tok.End, lit: '' });
      return items;
    }
    pos--;
    if (isSpecial(ch)) {
      let buf = '';
      let last: Item | undefined;
      for (;;) {
        const c = read();
        if (c === '\0') break;
        if (!isSpecial(c)) {
          pos--;
          break;
        }
        buf += c;
        const t = TOKENS[buf];
        if (t !== undefined) last = { tok: t, lit: buf };
        else if (last) {
          pos--;
          break;
        }
      }
      items.push(last ?? { tok: Tok.Error, lit: `error expected: keyword found '${buf}'` });
    } else {
      let buf = '';
      for (;;) {
        const c = read();
        if (c === '\0') break;
        if (isSpecial(c) || isWhitespace(c)) {
          pos--;
          break;
        }
        buf += c;
      }
      const t = hasOwn.call(TOKENS, buf) ? TOKENS[buf] : undefined;
      items.push({ tok: t ?? Tok.Identifier, lit: buf });
    }
  }
}

class ParseError extends Error {}

class LabelParser {
  private position = 0;
  constructor(private readonly items: Item[]) {}

  /** In a values context the keywords `in` and `notin` are ordinary identifiers ("a in (in)"). */
  private lookahead(values: boolean): Item {
    const it = this.items[this.position];
    return values && (it.tok === Tok.In || it.tok === Tok.NotIn) ? { tok: Tok.Identifier, lit: it.lit } : it;
  }

  private consume(values: boolean): Item {
    const it = this.lookahead(values);
    this.position++;
    return it;
  }

  parse(): LabelRequirement[] {
    const reqs: LabelRequirement[] = [];
    for (;;) {
      const { tok, lit } = this.lookahead(true);
      switch (tok) {
        case Tok.Identifier:
        case Tok.DoesNotExist: {
          try {
            reqs.push(this.parseRequirement());
          } catch (e) {
            if (e instanceof ParseError) throw new ParseError(`unable to parse requirement: ${e.message}`);
            throw e;
          }
          const next = this.consume(true);
          if (next.tok === Tok.End) return reqs;
          if (next.tok === Tok.Comma) {
            const after = this.lookahead(true);
            if (after.tok !== Tok.Identifier && after.tok !== Tok.DoesNotExist)
              throw new ParseError(`found '${after.lit}', expected: identifier after ','`);
            break;
          }
          throw new ParseError(`found '${next.lit}', expected: ',' or 'end of string'`);
        }
        case Tok.End:
          return reqs;
        default:
          throw new ParseError(`found '${lit}', expected: !, identifier, or 'end of string'`);
      }
    }
  }

  private parseRequirement(): LabelRequirement {
    let operator: LabelOperator | '' = '';
    let it = this.consume(true);
    if (it.tok === Tok.DoesNotExist) {
      operator = '!';
      it = this.consume(true);
    }
    if (it.tok !== Tok.Identifier) throw new ParseError(`found '${it.lit}', expected: identifier`);
    const key = it.lit;
    // Upstream validates the key here with a nil field path, hence "<nil>" in the message.
    const keyErrs = isSelectorLabelKey(key);
    if (keyErrs.length) throw new ParseError(invalidValue('<nil>', key, keyErrs.join('; ')));
    const ahead = this.lookahead(true).tok;
    if ((ahead === Tok.End || ahead === Tok.Comma) && operator !== '!') operator = 'exists';
    if (operator === 'exists' || operator === '!') return this.requirement(key, operator, []);

    const opItem = this.consume(false);
    let op: LabelOperator;
    switch (opItem.tok) {
      case Tok.In:
        op = 'in';
        break;
      case Tok.Equals:
        op = '=';
        break;
      case Tok.DoubleEquals:
        op = '==';
        break;
      case Tok.GreaterThan:
        op = 'gt';
        break;
      case Tok.LessThan:
        op = 'lt';
        break;
      case Tok.NotIn:
        op = 'notin';
        break;
      case Tok.NotEquals:
        op = '!=';
        break;
      default:
        throw new ParseError(`found '${opItem.lit}', expected: in, notin, =, ==, !=, gt, lt`);
    }
    const values = op === 'in' || op === 'notin' ? this.parseValues() : this.parseExactValue();
    return this.requirement(key, op, [...values].sort(compareStrings));
  }

  private requirement(key: string, operator: LabelOperator, values: string[]): LabelRequirement {
    const err = requirementError(key, operator, values);
    if (err !== undefined) throw new ParseError(err);
    return { key, operator, values };
  }

  private parseValues(): Set<string> {
    const open = this.consume(true);
    if (open.tok !== Tok.OpenPar) throw new ParseError(`found '${open.lit}' expected: '('`);
    const { tok, lit } = this.lookahead(true);
    switch (tok) {
      case Tok.Identifier:
      case Tok.Comma: {
        const s = this.parseIdentifiersList();
        if (this.consume(true).tok !== Tok.ClosedPar) throw new ParseError(`found '${lit}', expected: ')'`);
        return s;
      }
      case Tok.ClosedPar:
        this.consume(true);
        return new Set(['']);
      default:
        throw new ParseError(`found '${lit}', expected: ',', ')' or identifier`);
    }
  }

  /** A possibly empty list of possibly empty identifiers: "(a,,b)" holds "", "a" and "b". */
  private parseIdentifiersList(): Set<string> {
    const s = new Set<string>();
    for (;;) {
      const { tok, lit } = this.consume(true);
      if (tok === Tok.Identifier) {
        s.add(lit);
        const next = this.lookahead(true);
        if (next.tok === Tok.Comma) continue;
        if (next.tok === Tok.ClosedPar) return s;
        throw new ParseError(`found '${next.lit}', expected: ',' or ')'`);
      } else if (tok === Tok.Comma) {
        if (s.size === 0) s.add('');
        const next = this.lookahead(true).tok;
        if (next === Tok.ClosedPar) {
          s.add('');
          return s;
        }
        if (next === Tok.Comma) s.add('');
      } else {
        throw new ParseError(`found '${lit}', expected: ',', or identifier`);
      }
    }
  }

  private parseExactValue(): Set<string> {
    const ahead = this.lookahead(true).tok;
    if (ahead === Tok.End || ahead === Tok.Comma) return new Set(['']);
    const { tok, lit } = this.consume(true);
    if (tok === Tok.Identifier) return new Set([lit]);
    throw new ParseError(`found '${lit}', expected: identifier`);
  }
}

/**
 * Parses the `labelSelector` query parameter as upstream's labels.Parse: `a=b`, `a==b`, `a!=b`,
 * `a in (x,y)`, `a notin (x)`, `a`, `!a`, `a>1`, `a<1`, comma-separated (AND); whitespace between
 * tokens is ignored; "" selects everything. Errors are 400 BadRequest with upstream's text.
 */
export function parseLabelSelector(s: string): LabelPredicate {
  if (s === '') return everythingLabels;
  try {
    return makeLabelPredicate(new LabelParser(lex(s)).parse());
  } catch (e) {
    if (e instanceof ParseError) throw errors.badRequest(e.message);
    throw e;
  }
}

// ── metav1.LabelSelector and map selectors ──

export interface LabelSelectorRequirementObject {
  key: string;
  operator: string;
  values?: string[] | null;
}

export interface LabelSelectorObject {
  matchLabels?: Record<string, string> | null;
  matchExpressions?: LabelSelectorRequirementObject[] | null;
}

const SELECTOR_OPERATORS: Record<string, LabelOperator> = { In: 'in', NotIn: 'notin', Exists: 'exists', DoesNotExist: '!' };

/** The requirements of a metav1.LabelSelector, or upstream's error text. null/undefined means "nothing". */
function labelSelectorRequirements(sel: LabelSelectorObject | null | undefined): LabelRequirement[] | null | string {
  if (sel === null || sel === undefined) return null;
  const reqs: LabelRequirement[] = [];
  const matchLabels = sel.matchLabels !== null && typeof sel.matchLabels === 'object' ? sel.matchLabels : {};
  for (const [k, raw] of Object.entries(matchLabels)) {
    const v = String(raw);
    const err = requirementError(k, '=', [v]);
    if (err !== undefined) return err;
    reqs.push({ key: k, operator: '=', values: [v] });
  }
  for (const expr of Array.isArray(sel.matchExpressions) ? sel.matchExpressions : []) {
    const op = hasOwn.call(SELECTOR_OPERATORS, expr?.operator) ? SELECTOR_OPERATORS[expr.operator] : undefined;
    if (op === undefined) return `${goQuote(String(expr?.operator ?? ''))} is not a valid label selector operator`;
    const key = String(expr.key ?? '');
    // Go's append([]string(nil), values...) stays nil for an empty list, and shows as null in errors.
    const values = Array.isArray(expr.values) && expr.values.length > 0 ? expr.values.map(String) : null;
    const err = requirementError(key, op, values);
    if (err !== undefined) return err;
    reqs.push({ key, operator: op, values: values ?? [] });
  }
  return reqs;
}

/**
 * Converts a metav1.LabelSelector as upstream's LabelSelectorAsSelector does:
 *  - null/undefined selects NOTHING (e.g. a PodDisruptionBudget or Service-like consumer with no selector
 *    must not adopt every pod); callers that mean "absent selects all" must check before calling;
 *  - an empty selector `{}` (no matchLabels, no matchExpressions) selects EVERYTHING (e.g. NetworkPolicy
 *    podSelector: {} applies to every pod in the namespace);
 *  - In/NotIn need values, Exists/DoesNotExist must have none; keys and values are validated.
 * An invalid selector throws 400 BadRequest with upstream's error text.
 */
export function labelSelectorFromObject(sel: LabelSelectorObject | null | undefined): LabelPredicate {
  const reqs = labelSelectorRequirements(sel);
  if (reqs === null) return nothingLabels;
  if (typeof reqs === 'string') throw errors.badRequest(reqs);
  return reqs.length === 0 ? everythingLabels : makeLabelPredicate(reqs);
}

/**
 * A selector matching exactly the given labels, like upstream's labels.SelectorFromSet (used for
 * Service and ReplicationController selectors, which are plain maps): nil or empty selects everything,
 * so callers that treat an absent map as "no selector" (the endpoints controller) must check first.
 * No validation, as upstream's.
 */
export function labelSelectorFromSet(set: Record<string, string> | null | undefined): LabelPredicate {
  if (!set) return everythingLabels;
  const reqs: LabelRequirement[] = Object.entries(set).map(([key, v]) => ({ key, operator: '=', values: [String(v)] }));
  return reqs.length === 0 ? everythingLabels : makeLabelPredicate(reqs);
}

/**
 * The string form of a metav1.LabelSelector, as LabelSelectorAsSelector(sel).String() (what a scale
 * subresource reports in status.selector): "" for both null and empty selectors. Throws 400 when invalid.
 */
export function labelSelectorToString(sel: LabelSelectorObject | null | undefined): string {
  return labelSelectorFromObject(sel).toString();
}

/** Upstream's metav1.FormatLabelSelector, as printed in tables: "<none>" when empty, "<error>" when invalid. */
export function formatLabelSelector(sel: LabelSelectorObject | null | undefined): string {
  const reqs = labelSelectorRequirements(sel);
  if (typeof reqs === 'string') return '<error>';
  const s = reqs === null ? '' : makeLabelPredicate(reqs).toString();
  return s === '' ? '<none>' : s;
}

/** Upstream's labels.FormatLabels: sorted "k=v" pairs joined by ",", or "<none>". */
export function formatLabels(map: Record<string, string> | null | undefined): string {
  if (!map) return '<none>';
  const pairs = Object.entries(map).map(([k, v]) => `${k}=${v}`);
  if (pairs.length === 0) return '<none>';
  return pairs.sort(compareStrings).join(',');
}

// ───────────────────────────── field selectors ─────────────────────────────

export interface FieldRequirement {
  /** The field after the kind's label conversion (e.g. Pod's legacy "spec.host" becomes "spec.nodeName"). */
  readonly field: string;
  readonly operator: '=' | '!=';
  readonly value: string;
}

export interface FieldPredicate {
  matches(obj: KubeObject): boolean;
  /** Selects everything. */
  readonly empty: boolean;
  /** Set when the selector requires metadata.name to equal this, so a list can read one key. */
  readonly exactName?: string;
  /** Set when the selector requires metadata.namespace to equal this. */
  readonly exactNamespace?: string;
  /** Sorted as upstream sorts the selector's terms. */
  readonly requirements: readonly FieldRequirement[];
  requiresExactMatch(field: string): string | undefined;
  /** Upstream's Selector.String(), values escaped: "metadata.name=a\,b,status.phase!=Running". */
  toString(): string;
}

export const everythingFields: FieldPredicate = {
  matches: () => true,
  empty: true,
  requirements: [],
  requiresExactMatch: () => undefined,
  toString: () => '',
};

/** Upstream's fields.EscapeValue. */
export function escapeFieldValue(s: string): string {
  return s.replace(/[\\,=]/g, (c) => '\\' + c);
}

/** Upstream's fields.UnescapeValue; a bad sequence is a ParseError with upstream's text. */
function unescapeFieldValue(s: string): string {
  if (!/[\\,=]/.test(s)) return s;
  let out = '';
  let inSlash = false;
  for (const c of s) {
    if (inSlash) {
      if (c === '\\' || c === ',' || c === '=') out += c;
      else throw new ParseError(`invalid field selector: invalid escape sequence: \\${c}`);
      inSlash = false;
      continue;
    }
    if (c === '\\') inSlash = true;
    // Go prints the rune with %v, i.e. its code point number.
    else if (c === ',' || c === '=') throw new ParseError(`invalid field selector: unescaped character in value: ${c.codePointAt(0)}`);
    else out += c;
  }
  if (inSlash) throw new ParseError('invalid field selector: invalid escape sequence: \\');
  return out;
}

/** Splits on commas that are not escaped; escaped ones stay in the term with their backslash. */
function splitFieldTerms(s: string): string[] {
  if (s.length === 0) return [];
  const terms: string[] = [];
  let start = 0;
  let inSlash = false;
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    if (inSlash) inSlash = false;
    else if (c === '\\') inSlash = true;
    else if (c === ',') {
      terms.push(s.slice(start, i));
      start = i + 1;
    }
  }
  terms.push(s.slice(start));
  return terms;
}

/** The first operator occurrence splits lhs from rhs; "!=" and "==" win over "=" at the same position. */
function splitFieldTerm(term: string): [string, '!=' | '==' | '=', string] | undefined {
  for (let i = 0; i < term.length; i++) {
    if (term.startsWith('!=', i)) return [term.slice(0, i), '!=', term.slice(i + 2)];
    if (term.startsWith('==', i)) return [term.slice(0, i), '==', term.slice(i + 2)];
    if (term[i] === '=') return [term.slice(0, i), '=', term.slice(i + 1)];
  }
  return undefined;
}

/**
 * Parses the `fieldSelector` query parameter as upstream does (fields.ParseSelector, then the kind's
 * field label conversion): `a=b`, `a==b`, `a!=b`, comma = AND, `\` escapes `\`, `,` and `=` in values.
 * `getters` are the kind's selectable fields (see fieldGetters in api/fields.ts). Syntax errors and
 * unsupported fields are 400 BadRequest with upstream's text; syntax is checked before fields, and
 * terms are visited in sorted order, so the same term is reported as upstream reports it.
 */
export function parseFieldSelector(s: string, getters: Readonly<Record<string, FieldGetter>>): FieldPredicate {
  const info = fieldLabelInfo(getters);
  const parsed: { field: string; operator: '=' | '!='; value: string }[] = [];
  try {
    const terms = splitFieldTerms(s).sort(compareStrings);
    for (const term of terms) {
      if (term === '') continue;
      const split = splitFieldTerm(term);
      if (!split) throw new ParseError(`invalid selector: '${s}'; can't understand '${term}'`);
      const [lhs, op, rhs] = split;
      parsed.push({ field: lhs, operator: op === '!=' ? '!=' : '=', value: unescapeFieldValue(rhs) });
    }
  } catch (e) {
    if (e instanceof ParseError) throw errors.badRequest(e.message);
    throw e;
  }
  if (parsed.length === 0) return everythingFields;

  const requirements: FieldRequirement[] = [];
  const matchers: ((obj: KubeObject) => boolean)[] = [];
  for (const p of parsed) {
    const getter = hasOwn.call(getters, p.field) ? getters[p.field] : undefined;
    if (typeof getter !== 'function') throw errors.badRequest(info.unsupported(p.field));
    const field = info.canonical(p.field);
    const { value } = p;
    requirements.push({ field, operator: p.operator, value });
    // A field the object lacks reads as "", as in upstream's fields.Set.Get.
    matchers.push(p.operator === '=' ? (obj) => (getter(obj) ?? '') === value : (obj) => (getter(obj) ?? '') !== value);
  }

  const requiresExactMatch = (field: string) => requirements.find((r) => r.field === field && r.operator === '=')?.value;
  let matches: (obj: KubeObject) => boolean;
  if (matchers.length === 1) matches = matchers[0];
  else
    matches = (obj) => {
      for (let i = 0; i < matchers.length; i++) if (!matchers[i](obj)) return false;
      return true;
    };
  const text = requirements.map((r) => `${r.field}${r.operator}${escapeFieldValue(r.value)}`).join(',');
  return {
    matches,
    empty: false,
    exactName: requiresExactMatch('metadata.name'),
    exactNamespace: requiresExactMatch('metadata.namespace'),
    requirements,
    requiresExactMatch,
    toString: () => text,
  };
}
