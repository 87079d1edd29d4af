/**
 * Night-over-night change through the live CLI on the bundled simulated
 * fabric: two audits with one fault fixed and another planted in between,
 * the second against the first (`--baseline`), in every report format and
 * with `--fail-on new`; the report's fabric name against sminfo/smpquery;
 * the exporter's findings-by-state gauge on the same fabric.
 */
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { IbSim } from '../../../lib/sim/ibsim.js';
import { defaultAuditConfig, findingKey, loadAuditReport, parseAuditReport, type AuditReport, type Finding } from '../../../lib/ib/audit/index.js';
import { renderCollection } from '../../../lib/ib/exporter/render.js';
import { runCli } from '../../helpers/cli.js';
import { parsePromText, value } from '../exporter/helpers/prom-text.js';
import { tmpDir, toolSnapshot } from '../topology/helpers/fabric-tools.js';

const key = (f: Finding) => `${f.rule} ${f.node?.description}[${f.port}]`;

describe('audit against a baseline (live, bundled fabric)', () => {
  let sim: IbSim;
  let dir: string;
  let day1: AuditReport;
  let day2: AuditReport;
  const audit = async (extra: string[]) => runCli(['--sim-name', sim.name, 'ib', 'audit', '--expect-width', '4X', ...extra]);

  before(async () => {
    dir = tmpDir('hpcnet-baseline-');
    sim = await IbSim.start({ name: 'baseline' });
    // night 1: two counter faults (plus node12's 1X link, a link finding with a peer, under --expect-width 4X)
    await sim.console('PerformanceSet "S-leaf02"[2] PortCounters.SymbolErrorCounter=7');
    await sim.console('PerformanceSet "H-node09"[1] PortCounters.LinkDownedCounter=3');
    const r1 = await audit(['--format', 'json', '-o', join(dir, 'day1.json')]);
    assert.equal(r1.code, 1, r1.stderr);
    day1 = loadAuditReport(join(dir, 'day1.json'));
    // during the day: leaf02 port 2 fixed, spine01 port 3 starts failing
    await sim.console('PerformanceSet "S-leaf02"[2] PortCounters.SymbolErrorCounter=0');
    await sim.console('PerformanceSet "S-spine01"[3] PortCounters.PortRcvErrors=5');
    const r2 = await audit(['--format', 'json', '--baseline', join(dir, 'day1.json'), '-o', join(dir, 'day2.json')]);
    assert.equal(r2.code, 1, r2.stderr);
    day2 = JSON.parse(readFileSync(join(dir, 'day2.json'), 'utf8')) as AuditReport;
  });
  after(async () => {
    await sim?.stop();
  });

  it('night 1 holds the planted faults, without states', () => {
    assert.deepEqual(day1.findings.map(key).sort(), ['counter-threshold leaf02[2]', 'counter-threshold node09 HCA-1[1]', 'link-degraded-width node12 HCA-1[1]']);
    assert.ok(day1.findings.every((f) => f.state === undefined));
    assert.equal(day1.baseline, undefined);
  });

  it('night 2: exactly one resolved, one new, the rest persisting (JSON)', () => {
    const by = (s: string) => [...day2.findings, ...(day2.resolved ?? [])].filter((f) => f.state === s).map(key).sort();
    assert.deepEqual(by('resolved'), ['counter-threshold leaf02[2]']);
    assert.deepEqual(by('new'), ['counter-threshold spine01[3]']);
    assert.deepEqual(by('persisting'), ['counter-threshold node09 HCA-1[1]', 'link-degraded-width node12 HCA-1[1]']);
    assert.deepEqual(day2.summary.byState, { new: 1, persisting: 2, resolved: 1 });
    assert.equal(day2.baseline?.generatedAt, day1.generatedAt);
    assert.equal(day2.baseline?.findings, 3);
    // the link finding's identity includes the peer (the leaf port), order-free
    const link = day2.findings.find((f) => f.rule === 'link-degraded-width')!;
    assert.ok(link.remote);
    assert.equal(findingKey(link), findingKey({ ...link, node: { guid: link.remote.guid, description: '' }, port: link.remote.port, remote: { ...link.node!, port: link.port! } }));
  });

  it('night 2 in text, JUnit and HTML', async () => {
    const base = ['--baseline', join(dir, 'day1.json')];
    const text = (await audit(base)).stdout;
    assert.match(text, /baseline: .* 1 new, 2 persisting, 1 resolved/);
    const sec = (name: string) => new RegExp(`^${name} \\((\\d+)\\)\\n((?:  .*\\n)*)`, 'm').exec(text);
    assert.equal(sec('NEW')?.[1], '1');
    assert.match(sec('NEW')![2]!, /\[counter-threshold\] "spine01" .* port 3: PortRcvErrors = 5/);
    assert.equal(sec('PERSISTING')?.[1], '2');
    assert.equal(sec('RESOLVED')?.[1], '1');
    assert.match(sec('RESOLVED')![2]!, /\[counter-threshold\] "leaf02" .* port 2: SymbolErrorCounter = 7/);
    const junit = (await audit([...base, '--format', 'junit'])).stdout;
    assert.match(junit, /error \(new\): &quot;spine01&quot;/);
    assert.match(junit, /error \(persisting\): &quot;node09 HCA-1&quot;/);
    assert.match(junit, /error \(resolved\): &quot;leaf02&quot;/);
    // with --fail-on new only the new finding fails its test case
    const junitNew = (await audit([...base, '--format', 'junit', '--fail-on', 'new'])).stdout;
    assert.match(junitNew, /failures="1"/);
    const html = (await audit([...base, '--format', 'html'])).stdout;
    const badges = [...html.matchAll(/<td><span class="sev \w+">\w+<\/span> <span class="badge (new|persisting|resolved)">/g)].map((m) => m[1]).sort();
    assert.deepEqual(badges, ['new', 'persisting', 'persisting', 'resolved']);
    assert.match(html, /id="bystate"><span class="badge new">new<\/span> 1 <span class="badge persisting">persisting<\/span> 2 <span class="badge resolved">resolved<\/span> 1/);
  });

  it('--fail-on new: exit 0 when nothing is new, 1 when something is; --fail-on any (default) fails on persisting errors', async () => {
    const again = await audit(['--baseline', join(dir, 'day2.json'), '--fail-on', 'new']);
    assert.equal(again.code, 0, again.stdout);
    assert.match(again.stdout, /0 new, 3 persisting, 0 resolved/);
    assert.equal((await audit(['--baseline', join(dir, 'day2.json')])).code, 1);
    assert.equal((await audit(['--baseline', join(dir, 'day1.json'), '--fail-on', 'new'])).code, 1);
    const bad = await audit(['--fail-on', 'sometimes']);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /--fail-on: expected one of any, new/);
    writeFileSync(join(dir, 'notreport.json'), '{"schema":"hpcnet.fabric","version":1}');
    const wrong = await audit(['--baseline', join(dir, 'notreport.json')]);
    assert.equal(wrong.code, 2);
    assert.match(wrong.stderr, /notreport\.json: \$\.schema: expected "hpcnet\.audit"/);
    assert.throws(() => parseAuditReport('{"schema":"hpcnet.audit","version":1,"fabric":{},"findings":[{"rule":"x","severity":"bad"}]}', 'f.json'), /f\.json: \$\.findings\[0\]\.severity/);
  });

  it('the report names the fabric by subnet prefix and master SM (sminfo, smpquery), or --name', async () => {
    const sm = (await sim.exec('sminfo')).stdout;
    const lid = /sm lid (\d+)/.exec(sm)![1]!;
    const desc = /^Node Description:\.+(.*)$/m.exec((await sim.exec('smpquery', ['nodedesc', lid])).stdout)?.[1] ?? /^Desc:\.+(.*)$/m.exec((await sim.exec('smpquery', ['nodedesc', lid])).stdout)![1]!;
    const prefix = /^GidPrefix:\.+(0x[0-9a-f]+)$/m.exec((await sim.exec('smpquery', ['portinfo', lid, '1'])).stdout)![1]!;
    assert.equal(day2.fabric.name, `subnet 0x${BigInt(prefix).toString(16).padStart(16, '0')}, master SM "${desc.trim()}"`);
    const named = await audit(['--name', 'cluster-a', '--format', 'junit']);
    assert.match(named.stdout, /<testsuite name="fabric cluster-a"/);
    const text = await audit(['--name', 'cluster-a']);
    assert.match(text.stdout, /^hpcnet fabric audit of cluster-a: 17 nodes/);
  });

  it('the exporter counts findings by state against the baseline', async () => {
    const snapshot = await toolSnapshot(sim);
    const config = defaultAuditConfig();
    config.expect.width = '4X';
    const { body } = await renderCollection({ snapshot, audit: { config, baseline: day1 } });
    const fams = parsePromText(new TextDecoder().decode(body));
    const v = (state: string, severity: string) => value(fams, 'hpcnet_ib_audit_findings_by_state', { state, severity });
    assert.equal(v('new', 'error'), 1);
    assert.equal(v('persisting', 'error'), 2);
    assert.equal(v('resolved', 'error'), 1);
    assert.equal(v('new', 'warning'), 0);
    const { body: plain } = await renderCollection({ snapshot, audit: { config } });
    assert.doesNotMatch(new TextDecoder().decode(plain), /audit_findings_by_state/);
  });
});
