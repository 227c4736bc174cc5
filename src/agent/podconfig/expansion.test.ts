import assert from 'node:assert/strict';
import { test } from 'node:test';
import { expand, mappingFor } from './expansion.js';

const vars = mappingFor(new Map([
  ['VAR_A', 'A'],
  ['VAR_B', 'B'],
  ['VAR_C', 'C'],
  ['VAR_REF', '$(VAR_A)'],
  ['VAR_EMPTY', ''],
]));

// Cases after upstream's expansion tests (third_party/forked/golang/expansion).
const cases: [string, string][] = [
  ['$(VAR_A)', 'A'],
  ['___$(VAR_B)___', '___B___'],
  ['$(VAR_A)-$(VAR_A)', 'A-A'],
  ['$(VAR_A)$(VAR_B)$(VAR_C)', 'ABC'],
  ['$(VAR_REF)', '$(VAR_A)'],
  ['$(VAR_EMPTY)', ''],
  ['$(UNDEFINED)', '$(UNDEFINED)'],
  ['foo$(UNDEFINED)bar', 'foo$(UNDEFINED)bar'],
  ['$$(VAR_A)', '$(VAR_A)'],
  ['$$$(VAR_A)', '$A'],
  ['$$$$(VAR_A)', '$$(VAR_A)'],
  ['$$', '$'],
  ['$$$$', '$$'],
  ['$', '$'],
  ['foo$', 'foo$'],
  ['$VAR_A', '$VAR_A'],
  ['$(VAR_A', '$(VAR_A'],
  ['$(VAR_A)$(', 'A$('],
  ['$()', '$()'],
  ['$(VAR_A)))', 'A))'],
  ['(VAR_A)', '(VAR_A)'],
  ['$(VAR_A$(VAR_B))', '$(VAR_A$(VAR_B))'],
  ['$(VAR_A)$', 'A$'],
  ['é$(VAR_A)é', 'éAé'],
  ['no refs', 'no refs'],
];

test('$(VAR) expansion follows upstream, reference by reference', () => {
  for (const [input, want] of cases) assert.equal(expand(input, vars), want, `expand(${JSON.stringify(input)})`);
});

test('the first mapping source that has a name wins', () => {
  const m = mappingFor(new Map([['X', 'first']]), new Map([['X', 'second'], ['Y', 'y']]));
  assert.equal(expand('$(X) $(Y) $(Z)', m), 'first y $(Z)');
});
