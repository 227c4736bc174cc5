/**
 * The JSONPath of Kubernetes (k8s.io/client-go/util/jsonpath) as CRDs use it in
 * additionalPrinterColumns and selectableFields: `.a.b`, `['a.b']`, `[0]`, `[-1]`, `[*]`, `..name`,
 * and filters `[?(@.type=="Ready")]` (==, !=, <, >, <=, >=, or bare existence). Templates with
 * ranges and text are kubectl's business, not the server's.
 */
type Step =
  | { kind: 'field'; name: string }
  | { kind: 'index'; index: number }
  | { kind: 'all' }
  | { kind: 'recursive'; name: string }
  | { kind: 'filter'; path: Step[]; op?: string; value?: unknown };

export class JsonPathError extends Error {}

const compiled = new Map<string, Step[]>();

/** Parses a path like ".status.conditions[?(@.type==\"Ready\")].status"; throws JsonPathError. */
export function parseJsonPath(path: string): Step[] {
  let steps = compiled.get(path);
  if (!steps) {
    const inner = path.startsWith('{') && path.endsWith('}') ? path.slice(1, -1) : path;
    steps = new Parser(inner.startsWith('$') ? inner.slice(1) : inner).parse();
    if (compiled.size > 1000) compiled.clear();
    compiled.set(path, steps);
  }
  return steps;
}

/** Every value the path reaches, in document order. */
export function evaluateJsonPath(path: string | Step[], root: unknown): unknown[] {
  let cur: unknown[] = [root];
  for (const step of typeof path === 'string' ? parseJsonPath(path) : path) cur = cur.flatMap((v) => apply(step, v));
  return cur;
}

function apply(step: Step, v: unknown): unknown[] {
  switch (step.kind) {
    case 'field':
      return isMap(v) && step.name in v ? [v[step.name]] : [];
    case 'index': {
      if (!Array.isArray(v)) return [];
      const i = step.index < 0 ? v.length + step.index : step.index;
      return i >= 0 && i < v.length ? [v[i]] : [];
    }
    case 'all':
      return Array.isArray(v) ? v : isMap(v) ? Object.values(v) : [];
    case 'recursive': {
      const out: unknown[] = [];
      const walk = (x: unknown) => {
        if (isMap(x)) {
          if (step.name in x) out.push(x[step.name]);
          Object.values(x).forEach(walk);
        } else if (Array.isArray(x)) x.forEach(walk);
      };
      walk(v);
      return out;
    }
    case 'filter': {
      const items = Array.isArray(v) ? v : [];
      return items.filter((item) => {
        const found = evaluateJsonPath(step.path, item);
        if (step.op === undefined) return found.length > 0;
        return found.some((f) => compare(f, step.op!, step.value));
      });
    }
  }
}

function compare(a: unknown, op: string, b: unknown): boolean {
  switch (op) {
    case '==':
      return a === b || String(a) === String(b);
    case '!=':
      return !(a === b || String(a) === String(b));
    default: {
      const x = Number(a);
      const y = Number(b);
      if (Number.isNaN(x) || Number.isNaN(y)) return false;
      return op === '<' ? x < y : op === '>' ? x > y : op === '<=' ? x <= y : x >= y;
    }
  }
}

function isMap(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

class Parser {
  private i = 0;
  constructor(private readonly s: string) {}

  parse(): Step[] {
    const steps: Step[] = [];
    while (this.i < this.s.length) {
      const c = this.s[this.i];
      if (c === '.' && this.s[this.i + 1] === '.') {
        this.i += 2;
        steps.push({ kind: 'recursive', name: this.ident() });
      } else if (c === '.') {
        this.i++;
        if (this.s[this.i] === '*') {
          this.i++;
          steps.push({ kind: 'all' });
        } else if (this.i < this.s.length && this.s[this.i] !== '[') steps.push({ kind: 'field', name: this.ident() });
      } else if (c === '[') steps.push(this.bracket());
      else if (c === '@' && steps.length === 0) this.i++;
      else throw new JsonPathError(`unrecognized character in action: ${JSON.stringify(c)}`);
    }
    return steps;
  }

  private ident(): string {
    const m = /^[A-Za-z0-9_\-/$]+/.exec(this.s.slice(this.i));
    if (!m) throw new JsonPathError(`invalid field name at position ${this.i} in ${JSON.stringify(this.s)}`);
    this.i += m[0].length;
    return m[0];
  }

  private bracket(): Step {
    const close = this.matching(this.i);
    const body = this.s.slice(this.i + 1, close).trim();
    this.i = close + 1;
    if (body === '*') return { kind: 'all' };
    if (/^-?\d+$/.test(body)) return { kind: 'index', index: Number(body) };
    const quoted = /^'([^']*)'$|^"([^"]*)"$/.exec(body);
    if (quoted) return { kind: 'field', name: quoted[1] ?? quoted[2] };
    const filter = /^\?\((.*)\)$/s.exec(body);
    if (filter) {
      const expr = filter[1].trim();
      const m = /^(@[^=!<>]*?)\s*(==|!=|<=|>=|<|>)\s*(.+)$/.exec(expr);
      if (!m) return { kind: 'filter', path: new Parser(expr).parse() };
      return { kind: 'filter', path: new Parser(m[1].trim()).parse(), op: m[2], value: literal(m[3].trim()) };
    }
    throw new JsonPathError(`unsupported array index or filter: [${body}]`);
  }

  private matching(open: number): number {
    let depth = 0;
    let quote = '';
    for (let j = open; j < this.s.length; j++) {
      const c = this.s[j];
      if (quote) {
        if (c === quote) quote = '';
      } else if (c === '"' || c === "'") quote = c;
      else if (c === '[') depth++;
      else if (c === ']' && --depth === 0) return j;
    }
    throw new JsonPathError(`unclosed array expect ]`);
  }
}

function literal(text: string): unknown {
  if (/^"(.*)"$|^'(.*)'$/.test(text)) return text.slice(1, -1);
  if (text === 'true' || text === 'false') return text === 'true';
  const n = Number(text);
  if (!Number.isNaN(n)) return n;
  throw new JsonPathError(`unrecognized filter value ${text}`);
}
