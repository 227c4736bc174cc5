import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ApiError } from './errors.js';
import {
  everythingLabels,
  formatLabelSelector,
  formatLabels,
  labelSelectorFromObject,
  labelSelectorFromSet,
  labelSelectorToString,
  nothingLabels,
  parseFieldSelector,
  parseLabelSelector,
} from './selectors.js';
import { customResourceFieldGetters, fieldGetters } from './fields.js';

/** Asserts a 400 BadRequest with exactly upstream's message. */
function badRequest(fn: () => unknown, message: string) {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof ApiError, `not an ApiError: ${String(e)}`);
    assert.equal(e.code, 400);
    assert.equal(e.reason, 'BadRequest');
    assert.equal(e.message, message);
    return true;
  });
}

const KEY_NAME_MSG =
  "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character " +
  "(e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')";
const VALUE_MSG =
  "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character " +
  "(e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')";

test('label selector: every operator matches as upstream', () => {
  const ls = { app: 'web', tier: 'front', n: '5', empty: '' };
  const cases: [string, boolean][] = [
    ['app=web', true],
    ['app==web', true],
    ['app=db', false],
    ['app!=db', true],
    ['missing!=x', true], // != and notin match objects without the label
    ['app in (db,web)', true],
    ['app in (db)', false],
    ['app notin (db)', true],
    ['missing notin (x)', true],
    ['app notin (web,db)', false],
    ['app', true],
    ['missing', false],
    ['!missing', true],
    ['!app', false],
    ['n>4', true],
    ['n>5', false],
    ['n<6', true],
    ['app>1', false], // a non-integer label never satisfies gt/lt
    ['missing<9', false],
    ['empty=', true],
    ['empty in ()', true], // "()" is the set holding only ""
    ['app=web,tier=front', true],
    ['app=web,tier=back', false],
  ];
  for (const [sel, want] of cases) assert.equal(parseLabelSelector(sel).matches(ls), want, sel);
});

test('label selector: whitespace, keyword values, empty string, normalised String()', () => {
  const p = parseLabelSelector('  b = 1 ,\ta in ( z , y ) ,!c ,d notin(x)\n');
  assert.equal(p.toString(), 'a in (y,z),b=1,!c,d notin (x)');
  assert.deepEqual(
    p.requirements.map((r) => r.key),
    ['a', 'b', 'c', 'd'],
  );
  // "in" and "notin" are identifiers where a value is expected.
  assert.equal(parseLabelSelector('x in (in,notin)').matches({ x: 'notin' }), true);
  assert.equal(parseLabelSelector('x=in').toString(), 'x=in');
  assert.equal(parseLabelSelector('a==b').toString(), 'a==b');
  assert.equal(parseLabelSelector('a>10').toString(), 'a>10');
  // The example in upstream's Parse doc comment.
  assert.equal(parseLabelSelector('x in (foo,,baz),y,z notin ()').toString(), 'x in (,baz,foo),y,z notin ()');
  assert.equal(parseLabelSelector('x in (,,)').toString(), 'x in ()');

  const all = parseLabelSelector('');
  assert.equal(all.empty, true);
  assert.equal(all.matches(undefined), true);
  assert.equal(parseLabelSelector('a').matches(undefined), false);
  assert.equal(parseLabelSelector('!a').matches(null), true);
});

test('label selector: prototype members of a labels object are not labels', () => {
  assert.equal(parseLabelSelector('constructor').matches({}), false);
  assert.equal(parseLabelSelector('!toString').matches({ a: 'b' }), true);
});

test('label selector: requiresExactMatch', () => {
  const p = parseLabelSelector('app=web,tier in (front),env in (a,b),x!=y');
  assert.equal(p.requiresExactMatch('app'), 'web');
  assert.equal(p.requiresExactMatch('tier'), 'front');
  assert.equal(p.requiresExactMatch('env'), undefined);
  assert.equal(p.requiresExactMatch('x'), undefined);
  assert.equal(p.requiresExactMatch('nope'), undefined);
});

test('label selector: syntax errors carry upstream text', () => {
  badRequest(() => parseLabelSelector('a b'), "unable to parse requirement: found 'b', expected: in, notin, =, ==, !=, gt, lt");
  badRequest(() => parseLabelSelector(',a'), "found ',', expected: !, identifier, or 'end of string'");
  badRequest(() => parseLabelSelector('a=b c'), "found 'c', expected: ',' or 'end of string'");
  badRequest(() => parseLabelSelector('a=b,'), "found '', expected: identifier after ','");
  badRequest(() => parseLabelSelector('a=b,,c'), "found ',', expected: identifier after ','");
  badRequest(() => parseLabelSelector('a in x'), "unable to parse requirement: found 'x' expected: '('");
  badRequest(() => parseLabelSelector('a in (x'), "unable to parse requirement: found '', expected: ',' or ')'");
  badRequest(() => parseLabelSelector('a in (x y)'), "unable to parse requirement: found 'y', expected: ',' or ')'");
  badRequest(() => parseLabelSelector('a in (=)'), "unable to parse requirement: found '=', expected: ',', ')' or identifier");
  badRequest(() => parseLabelSelector('a in (x,=)'), "unable to parse requirement: found '=', expected: ',', or identifier");
  badRequest(() => parseLabelSelector('a=('), "unable to parse requirement: found '(', expected: identifier");
  badRequest(() => parseLabelSelector('!=a'), "found '!=', expected: !, identifier, or 'end of string'");
  badRequest(() => parseLabelSelector('! =a'), "unable to parse requirement: found '=', expected: identifier");
  badRequest(() => parseLabelSelector('!a=b'), "found '=', expected: ',' or 'end of string'");
});

test('label selector: key and value validation errors carry upstream text', () => {
  badRequest(() => parseLabelSelector('-a=b'), `unable to parse requirement: <nil>: Invalid value: "-a": ${KEY_NAME_MSG}`);
  badRequest(() => parseLabelSelector('a=-b'), `unable to parse requirement: values[0][a]: Invalid value: "-b": ${VALUE_MSG}`);
  badRequest(
    () => parseLabelSelector('a in (-x,-y)'),
    `unable to parse requirement: [values[0][a]: Invalid value: "-x": ${VALUE_MSG}, values[1][a]: Invalid value: "-y": ${VALUE_MSG}]`,
  );
  badRequest(() => parseLabelSelector('a>b'), `unable to parse requirement: values[0]: Invalid value: "b": for 'Gt', 'Lt' operators, the value must be an integer`);
  badRequest(() => parseLabelSelector('a>-1'), `unable to parse requirement: values[0][a]: Invalid value: "-1": ${VALUE_MSG}`);
  badRequest(() => parseLabelSelector(`a=${'x'.repeat(64)}`), `unable to parse requirement: values[0][a]: Invalid value: "${'x'.repeat(64)}": must be no more than 63 bytes`);
  badRequest(
    () => parseLabelSelector('Example.com/a=b'),
    'unable to parse requirement: <nil>: Invalid value: "Example.com/a": prefix part a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, ' +
      "'-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is " +
      "'[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')",
  );
  badRequest(() => parseLabelSelector('/a'), 'unable to parse requirement: <nil>: Invalid value: "/a": prefix part must be non-empty');
  assert.equal(parseLabelSelector('example.com/app=x').matches({ 'example.com/app': 'x' }), true);
  assert.equal(parseLabelSelector('a>9223372036854775806').matches({ a: '9223372036854775807' }), true);
  badRequest(
    () => parseLabelSelector('a>9223372036854775808'),
    `unable to parse requirement: values[0]: Invalid value: "9223372036854775808": for 'Gt', 'Lt' operators, the value must be an integer`,
  );
});

test('metav1.LabelSelector: null selects nothing, {} selects everything', () => {
  assert.equal(labelSelectorFromObject(null), nothingLabels);
  assert.equal(labelSelectorFromObject(undefined).matches({ a: 'b' }), false);
  assert.equal(labelSelectorFromObject({}), everythingLabels);
  assert.equal(labelSelectorFromObject({ matchLabels: {}, matchExpressions: [] }).matches(undefined), true);

  const sel = labelSelectorFromObject({
    matchLabels: { b: '2', a: '1' },
    matchExpressions: [
      { key: 'c', operator: 'In', values: ['y', 'x'] },
      { key: 'd', operator: 'NotIn', values: ['z'] },
      { key: 'e', operator: 'Exists' },
      { key: 'f', operator: 'DoesNotExist', values: [] },
    ],
  });
  assert.equal(sel.toString(), 'a=1,b=2,c in (x,y),d notin (z),e,!f');
  assert.equal(sel.matches({ a: '1', b: '2', c: 'x', e: '' }), true);
  assert.equal(sel.matches({ a: '1', b: '2', c: 'x', e: '', f: '' }), false);
  assert.equal(sel.matches({ a: '1', b: '2', c: 'q', e: '' }), false);
});

test('metav1.LabelSelector: invalid selectors are 400 with upstream text', () => {
  badRequest(() => labelSelectorFromObject({ matchExpressions: [{ key: 'a', operator: 'Bogus' }] }), '"Bogus" is not a valid label selector operator');
  badRequest(
    () => labelSelectorFromObject({ matchExpressions: [{ key: 'a', operator: 'In', values: [] }] }),
    "values: Invalid value: null: for 'in', 'notin' operators, values set can't be empty",
  );
  badRequest(
    () => labelSelectorFromObject({ matchExpressions: [{ key: 'a', operator: 'Exists', values: ['x'] }] }),
    'values: Invalid value: ["x"]: values set must be empty for exists and does not exist',
  );
  badRequest(() => labelSelectorFromObject({ matchLabels: { 'a b': 'c' } }), `key: Invalid value: "a b": ${KEY_NAME_MSG}`);
});

test('selector strings and formatting helpers', () => {
  assert.equal(labelSelectorToString({ matchLabels: { app: 'web' } }), 'app=web');
  assert.equal(labelSelectorToString(null), '');
  assert.equal(labelSelectorToString({}), '');
  assert.equal(formatLabelSelector(null), '<none>');
  assert.equal(formatLabelSelector({}), '<none>');
  assert.equal(formatLabelSelector({ matchExpressions: [{ key: 'a', operator: 'Nope' }] }), '<error>');
  assert.equal(formatLabelSelector({ matchLabels: { z: '1', a: '2' } }), 'a=2,z=1');
  assert.equal(formatLabels({ z: '1', a: '2' }), 'a=2,z=1');
  assert.equal(formatLabels({}), '<none>');
  assert.equal(formatLabels(undefined), '<none>');

  const set = labelSelectorFromSet({ app: 'web' });
  assert.equal(set.matches({ app: 'web', x: 'y' }), true);
  assert.equal(set.matches({ app: 'db' }), false);
  assert.equal(labelSelectorFromSet(undefined).matches({}), true);
});

// ───────────── field selectors ─────────────

const pod = {
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name: 'web-0', namespace: 'prod' },
  spec: { nodeName: 'node-1', restartPolicy: 'Always', schedulerName: 'default-scheduler', serviceAccountName: 'default' },
  status: { phase: 'Running', podIPs: [{ ip: '10.0.0.7' }] },
};

test('field selector: =, ==, != and AND', () => {
  const g = fieldGetters('Pod');
  assert.equal(parseFieldSelector('spec.nodeName=node-1', g).matches(pod), true);
  assert.equal(parseFieldSelector('spec.nodeName==node-1', g).matches(pod), true);
  assert.equal(parseFieldSelector('spec.nodeName!=node-1', g).matches(pod), false);
  assert.equal(parseFieldSelector('status.phase!=Succeeded,status.phase!=Failed', g).matches(pod), true);
  assert.equal(parseFieldSelector('status.phase=Running,spec.nodeName=node-2', g).matches(pod), false);
  assert.equal(parseFieldSelector('status.podIP=10.0.0.7,spec.hostNetwork=false', g).matches(pod), true);
  // An absent field reads as "".
  assert.equal(parseFieldSelector('status.nominatedNodeName=', g).matches(pod), true);
  assert.equal(parseFieldSelector('spec.nodeName=', g).matches({ metadata: { name: 'x' } }), true);
});

test('field selector: empty selects everything; name and namespace pins are exposed', () => {
  const g = fieldGetters('Pod');
  for (const s of ['', ',', ',,']) {
    const p = parseFieldSelector(s, g);
    assert.equal(p.empty, true, JSON.stringify(s));
    assert.equal(p.matches({}), true);
  }
  const p = parseFieldSelector('metadata.namespace=prod,metadata.name=web-0', g);
  assert.equal(p.exactName, 'web-0');
  assert.equal(p.exactNamespace, 'prod');
  assert.equal(p.toString(), 'metadata.name=web-0,metadata.namespace=prod');
  assert.equal(p.matches(pod), true);
  assert.equal(parseFieldSelector('metadata.name!=web-0', g).exactName, undefined);
});

test('field selector: backslash escaping as upstream', () => {
  const g = fieldGetters('ConfigMap');
  const p = parseFieldSelector('metadata.name=a\\,b\\=c\\\\d', g);
  assert.equal(p.exactName, 'a,b=c\\d');
  assert.equal(p.toString(), 'metadata.name=a\\,b\\=c\\\\d');
  assert.equal(p.matches({ metadata: { name: 'a,b=c\\d' } }), true);
  badRequest(() => parseFieldSelector('metadata.name=a\\x', g), 'invalid field selector: invalid escape sequence: \\x');
  badRequest(() => parseFieldSelector('metadata.name=a\\', g), 'invalid field selector: invalid escape sequence: \\');
  badRequest(() => parseFieldSelector('metadata.name=a=b', g), 'invalid field selector: unescaped character in value: 61');
});

test('field selector: syntax errors and unsupported fields', () => {
  const g = fieldGetters('Pod');
  badRequest(() => parseFieldSelector('spec.nodeName', g), "invalid selector: 'spec.nodeName'; can't understand 'spec.nodeName'");
  // Terms are sorted before parsing, so upstream reports this term first.
  badRequest(() => parseFieldSelector('status.phase=x,a', g), "invalid selector: 'status.phase=x,a'; can't understand 'a'");
  badRequest(() => parseFieldSelector('spec.bogus=1', g), 'field label not supported: spec.bogus');
  badRequest(() => parseFieldSelector('zzz=1,aaa=2', g), 'field label not supported: aaa');
  // Syntax is checked before fields.
  badRequest(() => parseFieldSelector('aaa=1,zzz', g), "invalid selector: 'aaa=1,zzz'; can't understand 'zzz'");
  badRequest(
    () => parseFieldSelector('status.replicas=1', fieldGetters('ReplicaSet.apps')),
    '"status.replicas" is not a known field selector: only "metadata.name", "metadata.namespace"',
  );
  badRequest(() => parseFieldSelector('status.failed=1', fieldGetters('Job.batch')), 'field label "status.failed" not supported for batchv1.Job');
  badRequest(() => parseFieldSelector('metadata.namespace=x', fieldGetters('Node')), 'field label not supported: metadata.namespace');
  badRequest(() => parseFieldSelector('metadata.namespace=x', customResourceFieldGetters(false)), 'field label not supported: metadata.namespace');
});

test('field selector: legacy spec.host is converted to spec.nodeName', () => {
  const p = parseFieldSelector('spec.host=node-1', fieldGetters('Pod'));
  assert.deepEqual(p.requirements, [{ field: 'spec.nodeName', operator: '=', value: 'node-1' }]);
  assert.equal(p.requiresExactMatch('spec.nodeName'), 'node-1');
  assert.equal(p.matches(pod), true);
});

test('field selector: hand-made getters work with the common error text', () => {
  const g = { 'metadata.name': (o: { metadata?: { name?: string } }) => o.metadata?.name };
  assert.equal(parseFieldSelector('metadata.name=a', g).matches({ metadata: { name: 'a' } }), true);
  badRequest(() => parseFieldSelector('x=1', g), 'field label not supported: x');
  badRequest(() => parseFieldSelector('toString=1', g), 'field label not supported: toString');
});
