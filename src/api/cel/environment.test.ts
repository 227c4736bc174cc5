import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { CostBudget, CostLimitExceeded, CelCompileError, CelEvaluationError, celEnvironment, compileExpression } from './environment.js';

const env = celEnvironment(['self']);
const run = (expr: string, self: unknown = {}) => compileExpression(env, expr).evaluate({ self });

describe('Kubernetes CEL libraries', () => {
  const cases: [string, unknown][] = [
    ["'hello'.charAt(1)", 'e'],
    ["'hello'.charAt(5)", ''],
    ["'hello'.replace('l', 'L')", 'heLLo'],
    ["'hello'.replace('l', 'L', 1)", 'heLlo'],
    ["'abc'.reverse()", 'cba'],
    ["'%s has %d items costing %.2f'.format(['cart', 3, 1.5])", 'cart has 3 items costing 1.50'],
    ["'%x'.format([255])", 'ff'],
    ["strings.quote('a\"b')", '"a\\"b"'],
    ["'a,b'.split(',')", ['a', 'b']],
    ["' x '.trim()", 'x'],
    ['[1, 2, 3].isSorted()', true],
    ['[3, 1].isSorted()', false],
    ['[1, 2, 3].sum()', 6n],
    ['[1.5, 2.5].sum()', 4],
    ['[1, 5, 3].max()', 5n],
    ["['b', 'a'].min()", 'a'],
    ['[1, 2, 2].indexOf(2)', 1n],
    ['[1, 2, 2].lastIndexOf(2)', 2n],
    ['sets.contains([1, 2, 3], [2])', true],
    ['sets.equivalent([1, 2], [2, 1])', true],
    ['sets.intersects([1], [2])', false],
    ["'abc123def'.find('[0-9]+')", '123'],
    ["'a1b22c333'.findAll('[0-9]+')", ['1', '22', '333']],
    ["'a1b22c333'.findAll('[0-9]+', 2)", ['1', '22']],
    ["url('https://example.com:8080/a?x=1').getHost()", 'example.com:8080'],
    ["url('https://example.com:8080/a').getHostname()", 'example.com'],
    ["url('https://[::1]:80/').getHostname()", '::1'],
    ["url('https://example.com:8080/a').getPort()", '8080'],
    ["url('https://example.com/a').getScheme()", 'https'],
    ["url('https://example.com/a%20b').getEscapedPath()", '/a%20b'],
    ["url('https://x.com/?a=1&a=2&b=').getQuery()", { a: ['1', '2'], b: [''] }],
    ["isURL('/absolute/path')", true],
    ["isURL('not a url')", false],
    ["ip('192.168.0.1').family()", 4n],
    ["ip('::1').isLoopback()", true],
    ["ip('10.0.0.1').isGlobalUnicast()", true],
    ["ip('169.254.1.1').isLinkLocalUnicast()", true],
    ["ip('0.0.0.0').isUnspecified()", true],
    ["isIP('1.2.3')", false],
    ["ip.isCanonical('2001:db8::1')", true],
    ["ip.isCanonical('2001:DB8::1')", false],
    ["string(ip('2001:db8:0:0:0:0:0:1'))", '2001:db8::1'],
    ["ip('1.2.3.4') == ip('1.2.3.4')", true],
    ["cidr('10.0.0.0/8').containsIP(ip('10.1.2.3'))", true],
    ["cidr('10.0.0.0/8').containsIP('11.1.2.3')", false],
    ["cidr('10.0.0.0/8').containsCIDR('10.1.0.0/16')", true],
    ["string(cidr('10.1.2.3/8').masked())", '10.0.0.0/8'],
    ["cidr('10.1.2.3/8').prefixLength()", 8n],
    ["string(cidr('10.1.2.3/8').ip())", '10.1.2.3'],
    ["isCIDR('10.0.0.0/33')", false],
    ["quantity('1Gi').compareTo(quantity('1024Mi'))", 0n],
    ["quantity('1Gi') == quantity('1024Mi')", true],
    ["quantity('500m').isInteger()", false],
    ["quantity('2k').asInteger()", 2000n],
    ["quantity('1.5').asApproximateFloat()", 1.5],
    ["quantity('1').add(quantity('500m')).isLessThan(quantity('2'))", true],
    ["quantity('1').sub(2).sign()", -1n],
    ["quantity('2').isGreaterThan(quantity('1500m'))", true],
    ["isQuantity('1Zi')", false],
    ["format.dns1123Label().validate('hello').hasValue()", false],
    ["format.dns1123Label().validate('Hello').value().size() > 0", true],
    ["format.named('uuid').value().validate('x').value()", ['does not match the UUID format']],
    ["format.named('nope').hasValue()", false],
    ['has(self.a)', true],
    ['has(self.z)', false],
    ['self.?z.orValue(3)', 3n],
    ["self.m.all(k, k == 'x')", true],
    ['cel.bind(x, 2, x * x)', 4n],
    ["timestamp('2024-01-01T00:00:00Z') < timestamp('2025-01-01T00:00:00Z')", true],
    ["duration('1h') > duration('30m')", true],
  ];
  for (const [expr, want] of cases) {
    test(expr, () => assert.deepEqual(run(expr, { a: 1n, m: { x: 1n } }), want));
  }

  test('runtime errors carry cel-go-like messages', () => {
    assert.throws(() => run('self.z', {}), (e: Error) => e instanceof CelEvaluationError && e.message === 'no such key: z');
    assert.throws(() => run("quantity('x')"), CelEvaluationError);
    assert.throws(() => run("ip('::ffff:1.2.3.4')"), /IPv4-mapped IPv6 address is not allowed/);
    assert.throws(() => run('[].min()'), /min called on empty list/);
  });

  test('compile errors point at the input', () => {
    assert.throws(
      () => compileExpression(env, 'self.x ==='),
      (e: Error) => e instanceof CelCompileError && e.message.startsWith('ERROR: <input>:1:'),
    );
    assert.throws(() => compileExpression(env, 'nope.x'), CelCompileError);
  });
});

describe('cost limits', () => {
  const big = { l: Array.from({ length: 1000 }, (_, i) => BigInt(i)) };

  test('a cubic comprehension stops at the per-call limit instead of running 10^9 steps', () => {
    const c = compileExpression(env, 'self.l.all(x, self.l.all(y, self.l.all(z, true)))');
    assert.throws(() => c.evaluate({ self: big }), (e: Error) => e instanceof CostLimitExceeded && e.perCall);
  });

  test('a shared budget runs out across evaluations', () => {
    const budget = new CostBudget(2_500_000);
    const c = compileExpression(env, 'self.l.all(x, self.l.exists(y, y == 999))');
    let ran = 0;
    assert.throws(() => {
      for (;;) {
        c.evaluate({ self: { l: big.l.slice(0, 400) } }, budget);
        ran++;
      }
    }, CostLimitExceeded);
    assert.ok(ran >= 1);
    assert.equal(budget.remaining, 0);
  });

  test('library functions charge for what they traverse', () => {
    const budget = new CostBudget();
    compileExpression(env, "self.s.replace('a', 'b') != ''").evaluate({ self: { s: 'a'.repeat(100_000) } }, budget);
    assert.ok(10_000_000 - budget.remaining > 10_000);
  });
});
