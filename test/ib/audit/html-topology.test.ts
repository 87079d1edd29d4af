/**
 * The HTML report's topology view in headless Chromium (DevTools protocol
 * over a pipe, 1,400 x 900 CSS pixels):
 * - a 648-host fat tree on ibsim + OpenSM audited live through the CLI
 *   (degraded host links in the net file, symbol errors on a host port and on
 *   a leaf-spine link, a leaf-spine cable unlinked, against a reference);
 * - a 2,048-host fat tree built as a model without a simulator (the report
 *   only needs the model), with the same kinds of faults;
 * - rings and meshes (not leveled): a graph without overlapping nodes, and a
 *   matrix beyond GRAPH_MAX_NODES.
 * Every planted fault's cell is in the DOM with its state and, after
 * following its finding's link, on screen (not hidden by a scroll container
 * or a sticky heading); its link leads back to the finding; the page never
 * overflows horizontally. Screenshots are kept in the test's temp folder,
 * removed at the end unless HPCNET_KEEP_ARTIFACTS is set.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { GRAPH_MAX_NODES, defaultAuditConfig, reportToHtml, runAudit, type AuditReport } from '../../../lib/ib/audit/index.js';
import { readSnapshot, writeSnapshot, type Fabric, type FabricSnapshot } from '../../../lib/ib/topology/index.js';
import type { IbSim } from '../../../lib/sim/ibsim.js';
import { generateFatTree } from '../../../lib/sim/netfile.js';
import { runCli } from '../../helpers/cli.js';
import { startSim } from '../topology/helpers/fabric-tools.js';
import { Browser } from './helpers/chromium.js';
import { fatTreeModel, switchGraphModel } from './helpers/fabric-models.js';

const WIDTH = 1400;
const HEIGHT = 900;

interface Planted {
  rule: string;
  /** Node description of the finding (omit: the only finding of the rule). */
  node?: string;
  port?: number;
  state: string;
}

interface Followed {
  id: string;
  state: string;
  hash: string;
  target: boolean;
  inViewport: boolean;
  inContainer: boolean;
  onTop: boolean;
  title: string;
  back: { hash: string; inViewport: boolean; onTop: boolean };
}

/** In the page: follow a finding row's "show" link, check the cell, follow the cell's link back to the table. */
const FOLLOW = `async (p) => {
  const frame = () => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)));
  const rows = [...document.querySelectorAll('#findings tbody tr')].filter((tr) => tr.dataset.rule === p.rule &&
    (p.node === undefined || tr.cells[2].textContent.startsWith(p.node)) && (p.port === undefined || tr.cells[3].textContent === String(p.port)) && tr.dataset.state !== 'resolved');
  if (rows.length !== 1) return { error: rows.length + ' rows for ' + JSON.stringify(p) };
  const link = rows[0].querySelector('a.tocell');
  if (!link) return { error: 'no link to a cell for ' + JSON.stringify(p) };
  link.click();
  await frame();
  const id = link.getAttribute('href').slice(1);
  const cell = document.getElementById(id);
  if (!cell) return { error: 'no element #' + id };
  const vis = (el) => {
    const r = el.getBoundingClientRect();
    let inContainer = true;
    for (let a = el.parentElement; a; a = a.parentElement) {
      const cs = getComputedStyle(a);
      if (/(auto|scroll|hidden)/.test(cs.overflow + cs.overflowX + cs.overflowY) && a !== document.body && a !== document.documentElement) {
        const c = a.getBoundingClientRect();
        if (r.top < c.top - 1 || r.bottom > c.bottom + 1 || r.left < c.left - 1 || r.right > c.right + 1) inContainer = false;
      }
    }
    const inViewport = r.top >= 0 && r.left >= 0 && r.bottom <= innerHeight && r.right <= innerWidth && r.width > 0 && r.height > 0;
    const top = document.elementFromPoint(r.left + r.width / 2, r.top + r.height / 2);
    const onTop = !!top && (top === el || el.contains(top) || top.contains(el) || (top.closest && top.closest('a') === el));
    return { inViewport, inContainer, onTop };
  };
  const v = vis(cell);
  const res = { id, state: cell.dataset.state, hash: location.hash, target: cell.matches(':target'), title: cell.getAttribute('title') || (cell.querySelector('title') || {}).textContent || '', ...v };
  cell.dispatchEvent(new MouseEvent('click', { bubbles: true, cancelable: true, view: window }));
  if (cell.closest('svg')) location.hash = cell.getAttribute('href');
  await frame();
  const row = document.getElementById(location.hash.slice(1));
  res.back = { hash: location.hash, ...(row ? vis(row) : { inViewport: false, onTop: false }), rowIsFinding: row === rows[0] || (row && row.dataset.rule !== undefined) };
  return res;
}`;

describe('HTML report topology view in headless Chromium', () => {
  let dir: string;
  let browser: Browser;
  let shot = 0;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'hpcnet-html-'));
    browser = await Browser.launch({ width: WIDTH, height: HEIGHT, tmp: dir });
  });
  after(async () => {
    await browser?.close();
    if (process.env['HPCNET_KEEP_ARTIFACTS']) process.stderr.write(`report test artifacts kept in ${dir}\n`);
    else rmSync(dir, { recursive: true, force: true });
  });

  async function save(name: string, full = false): Promise<string> {
    const file = join(dir, `${String(++shot).padStart(2, '0')}-${name}.png`);
    const png = await browser.screenshot(full);
    assert.equal(png.subarray(1, 4).toString(), 'PNG');
    writeFileSync(file, png);
    return file;
  }

  /** Load a report and check the page and every planted fault. */
  async function check(file: string, planted: Planted[], name: string, diag: (s: string) => void): Promise<void> {
    await browser.goto(`file://${file}`);
    const page = await browser.eval<{ scrollWidth: number; innerWidth: number; load: number; cells: number; kind: string }>(
      `({ scrollWidth: document.documentElement.scrollWidth, innerWidth, load: Math.round(performance.getEntriesByType('navigation')[0].loadEventEnd), cells: document.querySelectorAll('.mx a, .strip a, .gnode, .edge').length, kind: document.getElementById('topology-view').dataset.kind })`,
    );
    diag(`${name}: ${(statSync(file).size / 1024).toFixed(0)} KiB, ${page.cells} cells, loaded in ${page.load} ms, view ${page.kind}`);
    assert.ok(page.scrollWidth <= page.innerWidth, `no horizontal overflow at ${WIDTH} px: page is ${page.scrollWidth} px wide`);
    await save(`${name}-top`);
    for (const [i, p] of planted.entries()) {
      const r = await browser.eval<Followed & { error?: string }>(`(${FOLLOW})(${JSON.stringify(p)})`);
      assert.equal(r.error, undefined, r.error);
      const what = `${name}: ${JSON.stringify(p)}`;
      assert.equal(r.state, p.state, `${what}: cell state`);
      assert.equal(r.hash, `#${r.id}`, what);
      assert.ok(r.target, `${what}: the cell is the :target`);
      assert.ok(r.inViewport && r.inContainer, `${what}: cell ${r.id} on screen after following the link (${JSON.stringify(r)})`);
      assert.ok(r.onTop, `${what}: cell ${r.id} not covered by a sticky heading`);
      assert.ok(r.back.hash.startsWith('#f'), `${what}: the cell links back to a finding (${r.back.hash})`);
      assert.ok(r.back.inViewport, `${what}: the finding row is on screen after following the cell's link`);
      if (i === 0) {
        await browser.eval(`location.hash = '#${r.id}'`);
        await save(`${name}-followed`);
      }
    }
    const after = await browser.eval<number>('document.documentElement.scrollWidth');
    assert.ok(after <= WIDTH, `no horizontal overflow after following links (${after} px)`);
    await save(`${name}-full`, true);
  }

  describe('648 hosts, live through the simulator', () => {
    let sim: IbSim;
    let html: string;
    before(async () => {
      sim = await startSim(
        generateFatTree({ leaves: 36, spines: 18, hostsPerLeaf: 18, degraded: [{ host: 5, width: '1x' }, { host: 100, width: '4x', speed: 'SDR' }, { host: 333, width: '1x' }] }),
      );
      const ref = join(dir, 'ref648.json');
      const d = await runCli(['--sim-name', sim.name, 'ib', 'discover', '--format', 'json', '-o', ref]);
      assert.equal(d.code, 0, d.stderr);
      await sim.console('PerformanceSet "S-leaf10"[3] PortCounters.SymbolErrorCounter=9');
      await sim.console('PerformanceSet "S-leaf20"[25] PortCounters.SymbolErrorCounter=4');
      await sim.console('Unlink "S-leaf30"[21]');
      html = join(dir, 'audit648.html');
      const a = await runCli(['--sim-name', sim.name, 'ib', 'audit', '--format', 'html', '-o', html, '--expect-width', '4X', '--expect-speed', 'EDR', '--reference', ref]);
      assert.equal(a.code, 1, a.stderr);
    });
    after(async () => {
      await sim?.stop();
    });

    it('leaves x spines matrix and host rows: every planted fault on screen after its link, and back', async (t) => {
      await check(
        html,
        [
          { rule: 'link-degraded-width', node: 'node005 HCA-1', port: 1, state: 'degraded' },
          { rule: 'link-degraded-speed', node: 'node100 HCA-1', port: 1, state: 'degraded' },
          { rule: 'link-degraded-width', node: 'node333 HCA-1', port: 1, state: 'degraded' },
          { rule: 'counter-threshold', node: 'leaf10', port: 3, state: 'errors' },
          { rule: 'counter-threshold', node: 'leaf20', port: 25, state: 'errors' },
          { rule: 'topology-missing-link', state: 'missing' },
        ],
        '648',
        (s) => t.diagnostic(s),
      );
      const info = await browser.eval<{ kind: string; dims: string; leaf20: string; spineTitle: string; host: string; okHost: string; okLink: string }>(`(() => {
        const mx = document.querySelector('.mx');
        const f = (sel) => document.querySelector(sel);
        const row = [...document.querySelectorAll('.hr')].find((r) => r.querySelector('.hn').textContent === 'leaf01');
        const okHost = row.querySelectorAll('.strip a:not(.hdr)')[0];
        okHost.dispatchEvent(new MouseEvent('mouseover', { bubbles: true }));
        const r1 = mx.querySelector('.r');
        const okLink = r1.children[1];
        okLink.dispatchEvent(new MouseEvent('mouseover', { bubbles: true }));
        const h100 = [...document.querySelectorAll('.strip a.hit')].find((a) => a.title.includes('node100 HCA-1'));
        return { kind: f('#topology-view').dataset.kind, dims: f('h3').textContent, leaf20: '', spineTitle: '', host: h100 ? h100.title : '', okHost: okHost.title, okLink: okLink.title };
      })()`);
      assert.equal(info.kind, 'leveled');
      assert.match(info.dims, /leaves × spines: 36 × 18, 1 link\(s\) per pair expected/);
      assert.match(info.host, /^leaf06 port 10 ↔ node100 HCA-1 port 1 \(0x[0-9a-f]{16}\) 4X SDR Active/);
      assert.match(info.okHost, /^leaf01 port 1 ↔ node001 HCA-1 port 1 \(0x[0-9a-f]{16}\) 4X EDR Active$/);
      assert.match(info.okLink, /^leaf01 port 19 ↔ spine01 port 1$/);
      const missing = await browser.eval<string>(`document.querySelector('.mx a[data-state="missing"]').title`);
      assert.match(missing, /no link between leaf30 and spine03/);
      assert.match(missing, /topology-missing-link/);
    });
  });

  describe('2,048 hosts, from a model (no simulator)', () => {
    let html: string;
    let report: AuditReport;
    before(() => {
      const m = fatTreeModel({ leaves: 64, spines: 32, hostsPerLeaf: 32 });
      const reference = readSnapshot(writeSnapshot(m.snapshot)).fabric;
      const f = m.snapshot.fabric;
      const node = (id: string) => f.nodes.find((n) => n.id === id)!;
      const port = (id: string, p: number) => node(id).ports.find((x) => x.portNum === p)!;
      const leafPortOfHost = (h: number) => port(m.hostId(h), 1).remote!;
      const unlink = (a: { node: string; port: number }) => {
        const pa = port(a.node, a.port);
        const b = pa.remote!;
        const pb = port(b.node, b.port);
        f.links = f.links.filter((l) => !((l.a.node === a.node && l.a.port === a.port) || (l.b.node === a.node && l.b.port === a.port)));
        for (const p of [pa, pb]) {
          delete p.remote;
          p.state = 'Down';
          p.physState = 'Polling';
          p.width.active = undefined;
          p.speed.active = undefined;
        }
        const keep = (x: { node: string; port: number }) => !((x.node === a.node && x.port === a.port) || (x.node === b.node && x.port === b.port));
        m.snapshot.counters[0]!.ports = m.snapshot.counters[0]!.ports.filter((c) => keep(c));
      };
      // host 77 at 1X, host 1500 at SDR (both ends)
      for (const p of [port(m.hostId(77), 1), port(leafPortOfHost(77).node, leafPortOfHost(77).port)]) p.width.active = '1X';
      for (const p of [port(m.hostId(1500), 1), port(leafPortOfHost(1500).node, leafPortOfHost(1500).port)]) p.speed.active = 'SDR';
      // host 2000's cable and leaf40-spine17's cable gone
      unlink({ node: m.hostId(2000), port: 1 });
      unlink({ node: m.leafId(40), port: 32 + 17 });
      // symbol errors on leaf12's host port 5, link downs on leaf50's uplink to spine09
      const counter = (id: string, p: number, name: string, v: bigint) => {
        m.snapshot.counters[0]!.ports.find((c) => c.node === id && c.port === p)!.counters[name] = v;
      };
      counter(m.leafId(12), 5, 'SymbolErrorCounter', 12n);
      counter(m.leafId(50), 32 + 9, 'LinkDownedCounter', 2n);
      const cfg = defaultAuditConfig();
      cfg.expect.width = '4X';
      cfg.expect.speed = 'EDR';
      report = runAudit({ snapshot: m.snapshot, reference }, cfg);
      html = join(dir, 'audit2048.html');
      writeFileSync(html, reportToHtml(report, f));
    });

    it('the report holds the planted faults, named by subnet prefix and master SM', () => {
      assert.equal(report.fabric.name, 'subnet 0xfe80000000000000, master SM "node0001 HCA-1"');
      const rules = report.findings.map((x) => x.rule).sort();
      assert.deepEqual([...new Set(rules)], ['counter-threshold', 'link-degraded-speed', 'link-degraded-width', 'port-polling', 'topology-missing-link']);
    });

    it('every planted fault on screen after its link, and back; no horizontal overflow', async (t) => {
      await check(
        html,
        [
          { rule: 'link-degraded-width', node: 'node0077 HCA-1', port: 1, state: 'degraded' },
          { rule: 'link-degraded-speed', node: 'node1500 HCA-1', port: 1, state: 'degraded' },
          { rule: 'topology-missing-link', node: 'node2000 HCA-1', state: 'missing' },
          { rule: 'topology-missing-link', node: 'leaf40', state: 'missing' },
          { rule: 'counter-threshold', node: 'leaf12', port: 5, state: 'errors' },
          { rule: 'counter-threshold', node: 'leaf50', port: 41, state: 'errors' },
        ],
        '2048',
        (s) => t.diagnostic(s),
      );
    });

    it('findings filter by severity and rule, sort by a column; search finds a node by name or GUID', async () => {
      await browser.goto(`file://${html}`);
      const r = await browser.eval<{ all: number; errors: number; rule: number; ports: string[]; found: string; foundGuid: string; inView: boolean }>(`(async () => {
        const frame = () => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)));
        const visible = () => [...document.querySelectorAll('#findings tbody tr')].filter((tr) => !tr.hidden);
        const all = visible().length;
        const sev = document.getElementById('fsev'); sev.value = 'error'; sev.dispatchEvent(new Event('change'));
        const errors = visible().length;
        const rule = document.getElementById('frule'); rule.value = 'counter-threshold'; rule.dispatchEvent(new Event('change'));
        const ruleN = visible().length;
        sev.value = ''; sev.dispatchEvent(new Event('change')); rule.value = ''; rule.dispatchEvent(new Event('change'));
        const th = document.querySelectorAll('#findings th')[3]; th.click();
        const ports = visible().map((tr) => tr.cells[3].textContent);
        const q = document.getElementById('search');
        q.value = 'node1234'; q.dispatchEvent(new Event('input')); await frame();
        const el = document.querySelector('.found');
        const r = el.getBoundingClientRect();
        const found = el.title || (el.dispatchEvent(new MouseEvent('mouseover', { bubbles: true })), el.title);
        q.value = '0x0002c90300100064'; q.dispatchEvent(new Event('input')); await frame();
        const el2 = document.querySelector('.found');
        el2.dispatchEvent(new MouseEvent('mouseover', { bubbles: true }));
        return { all, errors, rule: ruleN, ports, found, foundGuid: el2.title, inView: r.top >= 0 && r.bottom <= innerHeight };
      })()`);
      assert.equal(r.all, report.findings.length);
      assert.equal(r.errors, report.findings.filter((x) => x.severity === 'error').length);
      assert.equal(r.rule, report.findings.filter((x) => x.rule === 'counter-threshold').length);
      const nums = r.ports.map((p) => (p === '' ? -1 : Number(p)));
      assert.deepEqual(nums, [...nums].sort((a, b) => a - b), 'sorted by port');
      assert.match(r.found, /node1234 HCA-1/);
      assert.ok(r.inView, 'the found node is scrolled into view');
      assert.match(r.foundGuid, /node0100 HCA-1 port 1 \(0x0002c90300100064\)/);
      await save('2048-search');
    });
  });

  it('a 3-level fat tree in 2 pods (ibsim): one matrix per adjacent level pair, an unlinked leaf-spine cable marked missing without a reference, no pair across pods', async (t) => {
    const sim = await startSim(generateFatTree({ leaves: 8, spines: 4, hostsPerLeaf: 4, cores: 2, pods: 2, linksPerSpine: 2 }));
    try {
      // one of the two parallel cables leaf03-spine02 (leaf03's ports 5, 6 go to spine01, 7 and 8 to spine02)
      await sim.console('Unlink "S-leaf03"[7]');
      const html = join(dir, 'pods.html');
      const a = await runCli(['--sim-name', sim.name, 'ib', 'audit', '--format', 'html', '-o', html]);
      assert.ok(a.code === 0 || a.code === 1, a.stderr);
      await browser.goto(`file://${html}`);
      const r = await browser.eval<{ heads: string[]; missing: Array<{ text: string; title: string }>; cells: number }>(`({
        heads: [...document.querySelectorAll('#topology-view h3')].map((h) => h.textContent),
        missing: [...document.querySelectorAll('.mx a.missing')].map((a) => ({ text: a.textContent, title: a.title })),
        cells: document.querySelectorAll('.mx a').length,
      })`);
      t.diagnostic(JSON.stringify(r.heads));
      assert.deepEqual(r.heads.slice(0, 2), [
        'level 1 × level 2 switches: 8 × 4 in 2 groups (pods), 2 link(s) per pair of a group expected',
        'level 2 × level 3 switches: 4 × 2, 1 link(s) per pair expected',
      ]);
      assert.equal(r.missing.length, 1, JSON.stringify(r.missing));
      assert.equal(r.missing[0]!.text, '1');
      assert.match(r.missing[0]!.title, /^leaf03 port 8 ↔ spine02 port \d+\n1 link\(s\) fewer than most pairs \(2\)/);
      assert.equal(r.cells, 8 * 2 + 4 * 2, 'only pairs within a pod, and every spine-core pair');
      await save('pods');
    } finally {
      await sim.stop();
    }
  });

  describe('fabrics that are not leveled', () => {
    function render(snapshot: FabricSnapshot, name: string, tweak?: (f: Fabric) => void): { file: string; report: AuditReport } {
      tweak?.(snapshot.fabric);
      const cfg = defaultAuditConfig();
      cfg.expect.width = '4X';
      const report = runAudit({ snapshot }, cfg);
      const file = join(dir, `${name}.html`);
      writeFileSync(file, reportToHtml(report, snapshot.fabric));
      return { file, report };
    }
    const degradeFirstSwitchLink = (f: Fabric) => {
      const l = f.links.find((x) => f.nodes.find((n) => n.id === x.a.node)!.type === 'Switch' && f.nodes.find((n) => n.id === x.b.node)!.type === 'Switch')!;
      for (const e of [l.a, l.b]) f.nodes.find((n) => n.id === e.node)!.ports.find((p) => p.portNum === e.port)!.width.active = '1X';
    };
    const overlaps = `(() => {
      const rs = [...document.querySelectorAll('.gnode circle')].map((c) => c.getBoundingClientRect());
      let n = 0;
      for (let i = 0; i < rs.length; i++) for (let j = i + 1; j < rs.length; j++) {
        const a = rs[i], b = rs[j];
        if (a.left < b.right && b.left < a.right && a.top < b.bottom && b.top < a.bottom) n++;
      }
      return { nodes: rs.length, overlaps: n };
    })()`;

    it('a ring of 12 switches: a graph with no overlapping nodes, the degraded ring link on screen after its link', async (t) => {
      const { file } = render(switchGraphModel({ kind: 'ring', switches: 12, hosts: 2 }), 'ring12', degradeFirstSwitchLink);
      await check(file, [{ rule: 'link-degraded-width', state: 'degraded' }], 'ring12', (s) => t.diagnostic(s));
      assert.equal(await browser.eval<string>(`document.getElementById('topology-view').dataset.kind`), 'graph');
      assert.deepEqual(await browser.eval(overlaps), { nodes: 12, overlaps: 0 });
    });

    it(`a 15 x 15 mesh (225 switches): still a graph, no overlap; a ${GRAPH_MAX_NODES + 100}-switch mesh falls back to the matrix`, async (t) => {
      const { file } = render(switchGraphModel({ kind: 'mesh', switches: 225, hosts: 1 }), 'mesh225', degradeFirstSwitchLink);
      await check(file, [{ rule: 'link-degraded-width', state: 'degraded' }], 'mesh225', (s) => t.diagnostic(s));
      assert.deepEqual(await browser.eval(overlaps), { nodes: 225, overlaps: 0 });
      const big = render(switchGraphModel({ kind: 'mesh', switches: GRAPH_MAX_NODES + 100, hosts: 1 }), 'mesh-big', degradeFirstSwitchLink);
      await check(big.file, [{ rule: 'link-degraded-width', state: 'degraded' }], 'mesh-big', (s) => t.diagnostic(s));
      assert.equal(await browser.eval<string>(`document.getElementById('topology-view').dataset.kind`), 'matrix');
    });
  });
});
