/**
 * `$(VAR)` expansion as the kubelet does it for env values, command, args and subPathExpr
 * (third_party/forked/golang/expansion): `$(NAME)` is replaced when NAME is known and left as
 * written when it is not; `$$` is an escaped `$`; a `$` before anything else, an unterminated
 * `$(`, or a trailing `$` stay literal.
 */

/** Looks a name up; undefined leaves the reference as written. */
export type Mapping = (name: string) => string | undefined;

/** A mapping over several sources, the first that has the name winning. */
export function mappingFor(...sources: (ReadonlyMap<string, string> | undefined)[]): Mapping {
  return (name) => {
    for (const s of sources) {
      const v = s?.get(name);
      if (v !== undefined) return v;
    }
    return undefined;
  };
}

export function expand(input: string, mapping: Mapping): string {
  if (!input.includes('$')) return input;
  let out = '';
  let checkpoint = 0;
  for (let cursor = 0; cursor < input.length; cursor++) {
    if (input[cursor] !== '$' || cursor + 1 >= input.length) continue;
    out += input.slice(checkpoint, cursor);
    const next = input[cursor + 1];
    let advance = 1;
    if (next === '$') {
      out += '$';
    } else if (next === '(') {
      const close = input.indexOf(')', cursor + 2);
      if (close < 0) {
        out += '$(';
      } else {
        const name = input.slice(cursor + 2, close);
        const v = mapping(name);
        out += v === undefined ? `$(${name})` : v;
        advance = close - cursor;
      }
    } else {
      out += '$' + next;
    }
    cursor += advance;
    checkpoint = cursor + 1;
  }
  return out + input.slice(checkpoint);
}
