/** Audit configuration (YAML): what it sets, and errors that name the line. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AuditConfigError, defaultAuditConfig, parseAuditConfig, parseDuration, ERROR_COUNTERS } from '../../../lib/ib/audit/index.js';

function failsAt(text: string, line: number, re: RegExp): void {
  assert.throws(
    () => parseAuditConfig(text, 'audit.yaml'),
    (e: unknown) => e instanceof AuditConfigError && e.code === 'ERR_AUDIT_CONFIG' && e.line === line && e.message.startsWith(`audit.yaml:${line}: `) && re.test(e.message),
    `expected an error at line ${line} matching ${re}`,
  );
}

describe('audit configuration', () => {
  it('defaults: ibqueryerrors thresholds (0 for every error counter), no standby required', () => {
    const c = defaultAuditConfig();
    assert.deepEqual(Object.keys(c.thresholds), [...ERROR_COUNTERS]);
    assert.ok(Object.values(c.thresholds).every((v) => v === 0n));
    assert.equal(c.sm.minStandby, 0);
    assert.deepEqual(parseAuditConfig(''), c);
  });

  it('reads every section', () => {
    const c = parseAuditConfig(
      [
        'version: 1',
        'reference: ref.topo',
        'nodeNameMap: names.map',
        'skip: [counter-rate, duplicate-description]',
        'severities:',
        '  duplicate-description: info',
        '  link-degraded-speed: warning',
        'thresholds:',
        '  SymbolErrorCounter: 10',
        '  PortXmitWait: 1000',
        'rate:',
        '  interval: 30s',
        '  counters: { LinkDownedCounter: 0, SymbolErrorCounter: 5 }',
        'sm:',
        '  minStandby: 1',
        'expect:',
        '  width: 4x',
        '  speed: hdr',
        '  nodeTypes:',
        '    Switch: { speed: NDR }',
        '  fleets:',
        '    - { name: gpu, match: "^gpu[0-9]+", speed: NDR }',
        '  links:',
        '    - { node: "0x0002c90300a1b2c3", port: 3, width: 1X }',
      ].join('\n'),
      'audit.yaml',
    );
    assert.equal(c.referencePath, 'ref.topo');
    assert.equal(c.nodeNameMapPath, 'names.map');
    assert.deepEqual([...c.skip], ['counter-rate', 'duplicate-description']);
    assert.deepEqual(c.severities, { 'duplicate-description': 'info', 'link-degraded-speed': 'warning' });
    assert.equal(c.thresholds['SymbolErrorCounter'], 10n);
    assert.equal(c.thresholds['PortXmitWait'], 1000n);
    assert.equal(c.thresholds['LinkDownedCounter'], 0n);
    assert.equal(c.rate.intervalMs, 30_000);
    assert.deepEqual(c.rate.counters, { LinkDownedCounter: 0n, SymbolErrorCounter: 5n });
    assert.equal(c.sm.minStandby, 1);
    assert.equal(c.expect.width, '4X');
    assert.equal(c.expect.speed, 'HDR');
    assert.deepEqual(c.expect.byNodeType, { Switch: { speed: 'NDR' } });
    assert.equal(c.expect.fleets[0]!.name, 'gpu');
    assert.ok(c.expect.fleets[0]!.match.test('gpu12'));
    assert.deepEqual(c.expect.links, [{ node: '0x0002c90300a1b2c3', port: 3, width: '1X' }]);
  });

  it('rejects bad input naming the line', () => {
    failsAt('thresholds:\n  SymbolErrorCounter: 10\nbogus: 1\n', 3, /unknown key 'bogus'/);
    failsAt('skip:\n  - counter-rate\n  - no-such-rule\n', 3, /unknown rule 'no-such-rule'/);
    failsAt('severities:\n  duplicate-lid: fatal\n', 2, /expected error, warning or info/);
    failsAt('thresholds:\n  SymbolErrors: 10\n', 2, /unknown counter 'SymbolErrors'/);
    failsAt('thresholds:\n  SymbolErrorCounter: -1\n', 2, /whole number/);
    failsAt('expect:\n  width: 4X\n  nodeTypes:\n    CA: { width: 5X }\n', 4, /expected one of 1X/);
    failsAt('expect:\n  fleets:\n    - { name: x, match: "([" }\n', 3, /invalid regular expression/);
    failsAt('expect:\n  links:\n    - { port: 1, width: 1X }\n', 3, /'node' \(GUID or name\) is required/);
    failsAt('rate:\n  interval: soon\n', 2, /duration/);
    failsAt('sm:\n  minStandby: 1\nsm:\n  minStandby: 2\n', 3, /invalid YAML/);
    failsAt('thresholds: [1, 2\n', 2, /invalid YAML/);
    failsAt('- just\n- a list\n', 1, /expected a mapping/);
  });

  it('durations', () => {
    assert.equal(parseDuration('500ms'), 500);
    assert.equal(parseDuration('2m'), 120_000);
    assert.equal(parseDuration(250), 250);
    assert.equal(parseDuration('0s'), undefined);
  });
});
