/**
 * How deeply a request may nest JSON or YAML values.
 *
 * Upstream's decoders stop at 10000 levels (Go's encoding/json maxNestingDepth, go-yaml's
 * max_flow_level and max_indents). Go grows a goroutine's stack as it needs; Node's is fixed (about
 * 1 MB), and the code that walks a decoded body recurses: the yaml library's composer runs out of
 * stack near 800 levels, our merge, strategic merge and JSON patch code near 3000. Running out is not
 * always a RangeError we can answer: when V8 compiles or tiers up a regular expression at the edge
 * of the stack, it aborts the whole process ("FATAL ERROR: RegExpCompiler Allocation failed -
 * process out of memory"). So the limit here is far below upstream's, and well below the shallowest
 * of those edges; no real manifest comes near it.
 */
import { Parser, type CST } from 'yaml';

export const MAX_NESTING_DEPTH = 500;

/**
 * Whether `value` nests objects and arrays more than `limit` levels deep (`{}` and `[]` are one
 * level, `{"a":[]}` two), without recursing. A value decoded from YAML may share nodes through
 * aliases or even contain itself: a node met again deeper than before is walked again, so a cycle
 * ends as "too deep".
 */
export function nestsDeeperThan(value: unknown, limit: number): boolean {
  const deepestVisit = new Map<object, number>();
  const stack: [unknown, number][] = [[value, 1]];
  while (stack.length > 0) {
    const [v, depth] = stack.pop()!;
    if (v === null || typeof v !== 'object') continue;
    if (depth > limit) return true;
    if ((deepestVisit.get(v) ?? 0) >= depth) continue;
    deepestVisit.set(v, depth);
    for (const child of Array.isArray(v) ? v : Object.values(v)) {
      if (child !== null && typeof child === 'object') stack.push([child, depth + 1]);
    }
  }
  return false;
}

/**
 * What in YAML text upstream's decoder would refuse before building values, or undefined: a
 * collection nested more than `limit` levels deep, or a collection used as a map key (go-yaml v2,
 * under sigs.k8s.io/yaml, fails with "invalid map key: <the key as Go's %#v>"; we name its type only).
 * Read from the yaml library's concrete syntax tree: its lexer and parser keep their own stacks, so
 * they do not recurse, unlike the composer that turns the tree into values (and that stringifies a
 * collection key, at a cost that grows with the cube of its depth).
 */
export function yamlDecodeProblem(text: string, limit: number): string | undefined {
  for (const token of new Parser().parse(text)) {
    const stack: [CST.Token | null | undefined, number][] = [[token, 0]];
    while (stack.length > 0) {
      const [t, depth] = stack.pop()!;
      if (!t) continue;
      if (t.type === 'document') stack.push([t.value, depth]);
      else if (isCollection(t)) {
        if (depth + 1 > limit) return `exceeded max depth of ${limit}`;
        // A pair in a flow sequence ("[a: [b: ...]]") is a map of its own, one level more.
        const inPair = t.type === 'flow-collection' && t.start.source === '[' ? 2 : 1;
        for (const item of t.items) {
          if (isCollection(item.key)) return `invalid map key: ${goTypeOf(item.key)}`;
          stack.push([item.value, depth + (item.sep ? inPair : 1)]);
        }
      }
    }
  }
  return undefined;
}

function isCollection(t: CST.Token | null | undefined): t is CST.BlockMap | CST.BlockSequence | CST.FlowCollection {
  return t?.type === 'block-map' || t?.type === 'block-seq' || t?.type === 'flow-collection';
}

function goTypeOf(t: CST.BlockMap | CST.BlockSequence | CST.FlowCollection): string {
  const isSeq = t.type === 'block-seq' || (t.type === 'flow-collection' && t.start.source === '[');
  return isSeq ? '[]interface {}' : 'map[interface {}]interface {}';
}
