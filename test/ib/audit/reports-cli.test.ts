/**
 * Audit reports (text, JSON, JUnit, HTML rendered in headless Chromium) and
 * the `ib audit` / `ib diff` / `ib convert` commands with their exit codes,
 * on snapshots of a simulated fabric with planted faults.
 */
import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { IbSim } from '../../../lib/sim/ibsim.js';
import { generateFatTree } from '../../../lib/sim/netfile.js';
import { packageRoot } from '../../../lib/util/paths.js';
import { RULES, defaultAuditConfig, reportToHtml, reportToJson, reportToJunit, reportToText, runAudit, type AuditReport } from '../../../lib/ib/audit/index.js';
import { readIbnetdiscover, writeSnapshot, type FabricSnapshot } from '../../../lib/ib/topology/index.js';
import { ibnetdiscover, startSim, tmpDir, toolSnapshot } from '../topology/helpers/fabric-tools.js';

const RUNNER = join(packageRoot(), 'dist', 'test', 'ib', 'topology', 'helpers', 'cli-runner.js');

function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [RUNNER, ...args], { maxBuffer: 32 << 20 }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : -1) : 0, stdout, stderr });
    });
  });
}

/** Tag balance of an XML document (no XML parser in the dependencies). */
function assertWellFormedXml(x: string): void {
  const stack: string[] = [];
  const body = x.replace(/^<\?xml[^>]*\?>/, '');
  for (const m of body.matchAll(/<(\/?)([A-Za-z][\w.-]*)([^>]*?)(\/?)>/g)) {
    if (m[4]) continue;
    if (m[1]) assert.equal(stack.pop(), m[2], `unbalanced </${m[2]}>`);
    else stack.push(m[2]!);
  }
  assert.deepEqual(stack, []);
  assert.ok(!/<[^>]*<|&(?!amp;|lt;|gt;|quot;|apos;)/.test(body.replace(/<!\[CDATA\[[\s\S]*?\]\]>/g, '')), 'escaped text');
}

describe('audit reports and CLI', () => {
  let sim: IbSim;
  let dir: string;
  let clean: FabricSnapshot;
  let warnOnly: FabricSnapshot;
  let faulty: FabricSnapshot;
  let report: AuditReport;
  let refFile: string;

  before(async () => {
    dir = tmpDir('hpcnet-audit-');
    sim = await startSim(generateFatTree({ leaves: 2, spines: 2, hostsPerLeaf: 3, degraded: [{ host: 4, width: '1x' }] }));
    const { text } = await ibnetdiscover(sim);
    refFile = join(dir, 'ref.topo');
    writeFileSync(refFile, text.replace(/1xEDR/g, '4xEDR'));
    clean = await toolSnapshot(sim);
    await sim.console('PerformanceSet "S-spine01"[2] PortCounters.PortXmitData=4294967295');
    warnOnly = await toolSnapshot(sim);
    await sim.console('PerformanceSet "S-leaf01"[1] PortCounters.SymbolErrorCounter=7');
    faulty = await toolSnapshot(sim);
    writeFileSync(join(dir, 'clean.json'), writeSnapshot(clean));
    writeFileSync(join(dir, 'warn.json'), writeSnapshot(warnOnly));
    writeFileSync(join(dir, 'faulty.json'), writeSnapshot(faulty));
    const cfg = defaultAuditConfig();
    cfg.expect.width = '4X';
    report = runAudit({ snapshot: faulty }, cfg);
  });
  after(async () => {
    await sim?.stop();
  });

  it('the planted faults are what the report holds', () => {
    assert.deepEqual(
      report.findings.map((f) => `${f.severity} ${f.rule} ${f.node?.description}[${f.port}]`),
      ['error link-degraded-width node04 HCA-1[1]', 'error counter-threshold leaf01[1]', 'warning counter-saturated spine01[2]'],
    );
    assert.deepEqual(report.summary, { errors: 2, warnings: 1, info: 0, byRule: { 'link-degraded-width': 1, 'counter-threshold': 1, 'counter-saturated': 1 } });
  });

  it('text: grouped by severity, errors first, with the totals', () => {
    const t = reportToText(report);
    const e = t.indexOf('ERRORS (2)');
    const w = t.indexOf('WARNINGS (1)');
    assert.ok(e > 0 && w > e, t);
    assert.match(t, /\[link-degraded-width\] "node04 HCA-1" \(0x[0-9a-f]{16}\) port 1: link .* runs at 1X, expected 4X/);
    assert.match(t, /Not checked: .*counter-rate \(needs two counter samples/);
    assert.match(t, /Result: 2 error\(s\), 1 warning\(s\), 0 info\n$/);
  });

  it('JSON: the documented schema', () => {
    const j = JSON.parse(reportToJson(report)) as Record<string, unknown> & { findings: Array<Record<string, unknown>>; fabric: Record<string, unknown> };
    assert.equal(j['schema'], 'hpcnet.audit');
    assert.equal(j['version'], 1);
    assert.deepEqual(Object.keys(j).sort(), ['errors', 'fabric', 'findings', 'generatedAt', 'notRun', 'schema', 'skipped', 'summary', 'version']);
    assert.equal(j.fabric['nodes'], 10);
    assert.equal(j.fabric['links'], 10);
    for (const f of j.findings) {
      assert.deepEqual(Object.keys(f).filter((k) => k !== 'remote').sort(), ['message', 'node', 'port', 'rule', 'severity']);
      assert.match((f['node'] as { guid: string }).guid, /^0x[0-9a-f]{16}$/);
    }
  });

  it('JUnit XML: one test case per rule, failures for error findings, skipped rules that could not run', () => {
    const x = reportToJunit(report);
    assertWellFormedXml(x);
    assert.equal((x.match(/<testcase /g) ?? []).length, RULES.length);
    assert.match(x, /<testsuites name="hpcnet audit" tests="\d+" failures="2" errors="0" skipped="\d+">/);
    assert.match(x, /<testcase classname="hpcnet.audit" name="link-degraded-width" time="0">\n\s+<failure message="1 finding\(s\)/);
    assert.match(x, /name="counter-rate" time="0">\n\s+<skipped message="needs two counter samples/);
    assert.match(x, /name="counter-saturated" time="0">\n\s+<system-out>warning: /);
    assert.match(reportToJunit(report, true), /failures="3"/);
  });

  it('HTML: one self-contained file that headless Chromium renders, the faulty ports marked in the topology view', () => {
    const html = reportToHtml(report, faulty.fabric);
    assert.ok(!/<link |src=|https?:\/\//i.test(html), 'no external resources');
    const file = join(dir, 'report.html');
    writeFileSync(file, html);
    const chrome = ['chromium', 'chromium-browser', 'google-chrome'].find((c) => {
      try {
        execFileSync('which', [c], { stdio: 'ignore' });
        return true;
      } catch {
        return false;
      }
    });
    assert.ok(chrome, 'chromium is installed by scripts/setup');
    const flags = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', `--user-data-dir=${join(dir, 'chrome')}`];
    const dom = execFileSync(chrome, [...flags, '--dump-dom', `file://${file}`], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], timeout: 60_000 });
    assert.match(dom, /<section id="topology-view" data-kind="leveled">/);
    // 2 leaves x 2 spines, one link each; 3 host ports per leaf
    assert.equal((dom.match(/<div class="r" data-r=/g) ?? []).length, 2);
    assert.equal((dom.match(/<div class="hr" data-h=/g) ?? []).length, 2);
    // the degraded host link, and the two counter findings (leaf01's host port 1, spine01's port 2 to a leaf)
    assert.equal((dom.match(/data-state="degraded"/g) ?? []).length, 1);
    assert.equal((dom.match(/data-state="errors"/g) ?? []).length, 2);
    assert.equal((dom.match(/<tr id="f\d+" class="(error|warning|info)/g) ?? []).length, report.findings.length);
    assert.match(dom, /id="status">FAIL</);
    const png = join(dir, 'report.png');
    execFileSync(chrome, [...flags, `--screenshot=${png}`, '--window-size=1200,900', `file://${file}`], { stdio: 'ignore', timeout: 60_000 });
    const buf = readFileSync(png);
    assert.ok(buf.length > 5000 && buf.subarray(1, 4).toString() === 'PNG', 'a rendered screenshot');
  });

  it('ib audit: exit 0 clean, 1 on errors, warnings fail only with --strict, 2 when the audit itself fails', async () => {
    const ok = await cli(['ib', 'audit', '--snapshot', join(dir, 'clean.json')]);
    assert.equal(ok.code, 0, ok.stderr);
    assert.match(ok.stdout, /Result: 0 error\(s\), 0 warning\(s\)/);
    const deg = await cli(['ib', 'audit', '--snapshot', join(dir, 'clean.json'), '--expect-width', '4x']);
    assert.equal(deg.code, 1);
    assert.match(deg.stdout, /link-degraded-width/);
    const ref = await cli(['ib', 'audit', '--snapshot', join(dir, 'clean.json'), '--reference', refFile, '--json']);
    assert.equal(ref.code, 1);
    assert.deepEqual((JSON.parse(ref.stdout) as AuditReport).findings.map((f) => f.rule), ['link-degraded-width']);
    assert.equal((await cli(['ib', 'audit', '--snapshot', join(dir, 'warn.json')])).code, 0);
    assert.equal((await cli(['ib', 'audit', '--snapshot', join(dir, 'warn.json'), '--strict'])).code, 1);
    assert.equal((await cli(['ib', 'audit', '--snapshot', join(dir, 'faulty.json')])).code, 1);
    const skipped = await cli(['ib', 'audit', '--snapshot', join(dir, 'faulty.json'), '--skip', 'counter-threshold,counter-saturated', '--strict']);
    assert.equal(skipped.code, 0, skipped.stdout);
    const cfg = join(dir, 'bad.yaml');
    writeFileSync(cfg, 'thresholds:\n  SymbolErrorCounter: 10\nexpect:\n  width: 5X\n');
    const bad = await cli(['ib', 'audit', '--snapshot', join(dir, 'clean.json'), '--config', cfg]);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /bad\.yaml:4: expect\.width: expected one of/);
    const nolive = await cli(['ib', 'audit']);
    assert.equal(nolive.code, 2);
    assert.match(nolive.stderr, /live discovery is not available/);
    const missing = await cli(['ib', 'audit', '--snapshot', join(dir, 'nope.json')]);
    assert.equal(missing.code, 2);
    for (const format of ['json', 'junit', 'html']) {
      const out = join(dir, `r.${format}`);
      const r = await cli(['ib', 'audit', '--snapshot', join(dir, 'faulty.json'), '--format', format, '-o', out]);
      assert.equal(r.code, 1);
      assert.ok(existsSync(out) && readFileSync(out, 'utf8').length > 100);
    }
    const cfgOk = join(dir, 'good.yaml');
    writeFileSync(cfgOk, `reference: ${refFile}\nseverities:\n  link-degraded-width: warning\n`);
    const viaCfg = await cli(['ib', 'audit', '--snapshot', join(dir, 'clean.json'), '--config', cfgOk]);
    assert.equal(viaCfg.code, 0, viaCfg.stdout);
    assert.match(viaCfg.stdout, /WARNINGS \(1\)\n\s+\[link-degraded-width\]/);
  });

  it('ib diff: exit 0 equal, 1 different, 2 on a bad file; ib convert between formats', async () => {
    const cur = join(dir, 'cur.topo');
    writeFileSync(cur, (await cli(['ib', 'convert', join(dir, 'clean.json'), '--format', 'ibnetdiscover'])).stdout);
    const same = await cli(['ib', 'diff', join(dir, 'clean.json'), cur]);
    assert.equal(same.code, 0, same.stderr);
    assert.match(same.stdout, /topologies are equal/);
    const d = await cli(['ib', 'diff', refFile, cur]);
    assert.equal(d.code, 1);
    assert.match(d.stdout, /^width changed .*"node04 HCA-1".*: 4X -> 1X$/m);
    const j = await cli(['ib', 'diff', refFile, cur, '--json']);
    assert.equal((JSON.parse(j.stdout) as { equal: boolean; widthChanges: unknown[] }).widthChanges.length, 1);
    const broken = join(dir, 'broken.topo');
    writeFileSync(broken, readFileSync(cur, 'utf8').replace(/^(Switch\t\d+ "S-[0-9a-f]+")/m, '$1 junk'));
    const b = await cli(['ib', 'diff', refFile, broken]);
    assert.equal(b.code, 2);
    assert.match(b.stderr, /broken\.topo:\d+: unexpected text after the node id/);
    const links = await cli(['ib', 'convert', cur, '--format', 'links']);
    assert.equal(links.code, 0);
    assert.equal(links.stdout.split('\n').filter((l) => l.includes('==>')).length, 20);
    const dot = await cli(['ib', 'convert', cur, '--format', 'dot']);
    assert.match(dot.stdout, /^graph "fabric"/);
    assert.equal(readIbnetdiscover(readFileSync(cur, 'utf8')).links.length, clean.fabric.links.length);
  });
});
