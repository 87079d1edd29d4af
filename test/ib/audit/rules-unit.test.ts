/**
 * Rules ibsim cannot plant (it refuses links whose ends disagree, and runs
 * one SM per fabric here), on models made with the builder the live
 * discovery uses; and fuzzing of every decoder: malformed input must give
 * an HpcnetError, never another exception.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { HpcnetError } from '../../../lib/errors.js';
import { parseAuditConfig, runAudit, type AuditReport } from '../../../lib/ib/audit/index.js';
import {
  FabricBuilder,
  parseLinkTable,
  parseNodeNameMap,
  readIbnetdiscover,
  readSnapshot,
  writeIbnetdiscover,
  writeLinkTable,
  writeSnapshot,
  type Fabric,
} from '../../../lib/ib/topology/index.js';
import { fuzzing } from '../../helpers/fuzz.js';

function smallFabric(): { f: Fabric; b: FabricBuilder } {
  const b = new FabricBuilder({ source: 'builder' });
  const sw = b.addNode({ type: 'Switch', guid: 0x200000n, numPorts: 4, description: 'sw1', drPath: [1] });
  b.setPort(sw, 0, { guid: 0x200000n, lid: 1, lmc: 0, state: 'Active', physState: 'LinkUp' });
  const hosts = [1, 2].map((i) => {
    const h = b.addNode({ type: 'CA', guid: 0x100000n + BigInt(i * 2), numPorts: 1, description: `host${i}`, drPath: i === 1 ? [] : [1, 2] });
    b.setPort(h, 1, { guid: 0x100001n + BigInt(i * 2), lid: 1 + i, lmc: 0, state: 'Active', physState: 'LinkUp', width: { active: '4X', enabled: ['1X', '4X'] }, speed: { active: 'HDR', enabled: ['HDR'] } });
    b.setPort(sw, i, { state: 'Active', physState: 'LinkUp', width: { active: '4X', enabled: ['1X', '4X'] }, speed: { active: 'HDR', enabled: ['HDR'] } });
    b.addLink({ node: sw, port: i }, { node: h, port: 1 });
    return h;
  });
  return { f: b.build(), b: Object.assign(b, { hosts }) };
}

function brief(r: AuditReport): string[] {
  return r.findings.map((f) => `${f.rule} ${f.severity} ${f.node?.description ?? '-'}${f.port !== null ? `[${f.port}]` : ''}`).sort();
}

describe('rules on builder-made models', () => {
  it('the builder refuses a port linked twice, unknown nodes and bad port numbers', () => {
    const { b } = smallFabric();
    assert.throws(() => b.addLink({ node: '0x0000000000200000', port: 1 }, { node: '0x0000000000100006', port: 1 }), /unknown node id/);
    assert.throws(() => b.addLink({ node: '0x0000000000200000', port: 1 }, { node: '0x0000000000200000', port: 3 }), /already linked/);
    assert.throws(() => b.setPort('0x0000000000100002', 0), /no port 0/);
    const dup = b.addNode({ type: 'CA', guid: 0x100002n, numPorts: 1, description: 'clone' });
    assert.equal(dup, '0x0000000000100002#2');
    assert.equal(b.nodesWithGuid(0x100002n).length, 2);
  });

  it('link-mismatch: the two ends report different widths', () => {
    const { f } = smallFabric();
    const clean = runAudit({ snapshot: { fabric: f, counters: [] } });
    assert.deepEqual(brief(clean), []);
    f.nodes.find((n) => n.description === 'host2')!.ports[0]!.width.active = '1X';
    const r = runAudit({ snapshot: { fabric: f, counters: [] } });
    assert.deepEqual(brief(r), ['link-degraded-width error host2[1]', 'link-mismatch error host2[1]']);
    assert.match(r.findings.find((x) => x.rule === 'link-mismatch')!.message, /disagree: width 4X vs 1X|disagree: width 1X vs 4X/);
  });

  it('sm-master with two masters; discovery errors become findings; severities from the configuration', () => {
    const { f } = smallFabric();
    f.errors.push({ kind: 'timeout', message: 'NodeInfo timed out after 3 retries', drPath: [1, 3] });
    const r = runAudit(
      { snapshot: { fabric: f, counters: [], subnetManagers: [{ guid: 0x100003n, state: 'master', lid: 2 }, { guid: 0x100005n, state: 'master', lid: 3 }] } },
      parseAuditConfig('severities:\n  discovery-error: error\n'),
    );
    assert.deepEqual(brief(r), ['discovery-error error -', 'sm-master error host1']);
    assert.match(r.findings.find((x) => x.rule === 'sm-master')!.message, /^2 master subnet managers/);
    assert.match(r.findings.find((x) => x.rule === 'discovery-error')!.message, /\(DR path 0,1,3\)$/);
    assert.deepEqual(r.errors, [{ kind: 'timeout', message: 'NodeInfo timed out after 3 retries' }]);
  });

  it('topology-description: a renamed node against the reference (info)', () => {
    const ref = smallFabric().f;
    const cur = smallFabric().f;
    cur.nodes.find((n) => n.description === 'host2')!.description = 'host2-new';
    const r = runAudit({ snapshot: { fabric: cur, counters: [] }, reference: ref });
    assert.deepEqual(brief(r), ['topology-description info host2-new']);
  });
});


function mutate(text: string, r: () => number): string {
  const chars = ['"', '[', ']', '(', ')', '#', '\n', ' ', '0', 'x', 'f', '{', '}', ',', ':', '-', '9', '\t', 'é', '\u0000'];
  let s = text;
  const n = 1 + Math.floor(r() * 4);
  for (let i = 0; i < n; i++) {
    const at = Math.floor(r() * (s.length + 1));
    const op = r();
    if (op < 0.4) s = s.slice(0, at) + chars[Math.floor(r() * chars.length)] + s.slice(at);
    else if (op < 0.8) s = s.slice(0, at) + s.slice(at + 1 + Math.floor(r() * 5));
    else s = s.slice(0, at) + s.slice(at, at + 40) + s.slice(at);
  }
  return s;
}

function fuzz(name: string, valid: string, parse: (s: string) => unknown, rounds = 400): void {
  fuzzing(name.length * 7919, ({ next: r }) => {
    let ok = 0;
    for (let i = 0; i < rounds; i++) {
      const input = mutate(valid, r);
      try {
        parse(input);
        ok++;
      } catch (e) {
        assert.ok(e instanceof HpcnetError, `${name}: ${String(e)} on input ${JSON.stringify(input).slice(0, 300)}`);
      }
    }
    assert.ok(ok < rounds, `${name}: some mutations must be rejected`);
  });
}

describe('decoders never crash on malformed input', () => {
  // valid inputs to mutate: formats written by hpcnet for a small leaf with two hosts
  const model = (() => {
    const b = new FabricBuilder({ source: 'fuzz' });
    const sw = b.addNode({ type: 'Switch', guid: 0x200000n, numPorts: 3, description: 'leaf01' });
    b.setPort(sw, 0, { guid: 0x200000n, lid: 1 });
    for (let i = 1; i <= 2; i++) {
      const h = b.addNode({ type: 'CA', guid: BigInt(0x100000 + 2 * i), numPorts: 1, description: `node0${i} HCA-1` });
      b.setPort(h, 1, { guid: BigInt(0x100001 + 2 * i), lid: 1 + i, width: { active: '4X' }, speed: { active: 'EDR' } });
      b.setPort(sw, i, { width: { active: '4X' }, speed: { active: 'EDR' } });
      b.addLink({ node: sw, port: i }, { node: h, port: 1 });
    }
    return b.build();
  })();

  it('ibnetdiscover reader', () => fuzz('ibnetdiscover', writeIbnetdiscover(model), (s) => readIbnetdiscover(s)));
  it('snapshot reader', () => fuzz('snapshot', writeSnapshot(model), (s) => readSnapshot(s)));
  it('node-name map', () => fuzz('map', '# x\n0x200000 "leaf one"\n0x100002 "n2" # c\n', (s) => parseNodeNameMap(s)));
  it('audit configuration', () =>
    fuzz('config', 'skip: [counter-rate]\nthresholds:\n  SymbolErrorCounter: 10\nexpect:\n  width: 4X\n  fleets:\n    - { name: a, match: "^n" }\n', (s) => parseAuditConfig(s)));
  it('link table', () => fuzz('links', writeLinkTable(model), (s) => parseLinkTable(s)));
});
