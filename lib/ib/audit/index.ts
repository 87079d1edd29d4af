/** Fabric audit (public entry): engine, rules, configuration, reports. */
import { readFileSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import { InvalidArgumentError } from '../../errors.js';
import { loadFabricFile, loadNodeNameMap, parseSpeed, parseWidth, type Fabric, type FabricSnapshot, type LinkSpeed, type LinkWidth, type NodeNameMap } from '../topology/index.js';
import { defaultAuditConfig, parseAuditConfig } from './config.js';
import { compareWithBaseline, loadAuditReport } from './baseline.js';
import { runAudit } from './engine.js';
import { RULE_IDS, type AuditConfig, type AuditReport, type RuleId } from './types.js';

export * from './types.js';
export * from './config.js';
export * from './engine.js';
export * from './rules.js';
export * from './report.js';
export * from './html.js';
export * from './counters.js';
export * from './baseline.js';

/** Where an audit gets a live snapshot from (the live discovery + counter sweep + SMInfo plug in here). */
export interface LiveAuditSource {
  /** Discover the fabric and read counters (`samples` readings `intervalMs` apart) and SM records. */
  snapshot(opts: { samples: number; intervalMs: number; routes?: boolean; extended?: boolean }): Promise<FabricSnapshot>;
}

export interface AuditOptions {
  configPath?: string;
  referencePath?: string;
  nodeNameMapPath?: string;
  expectWidth?: LinkWidth;
  expectSpeed?: LinkSpeed;
  skip?: RuleId[];
  /** Name of the fabric in the report (default: subnet prefix and master SM, see fabricName). */
  name?: string;
  /** A previous JSON report: findings are marked new / persisting / resolved against it. */
  baselinePath?: string;
}

/** The audit options as the CLI flags give them (text); `auditOptionsFromText` checks them. */
export interface AuditOptionsText {
  config?: string;
  reference?: string;
  nodeNameMap?: string;
  expectWidth?: string;
  expectSpeed?: string;
  /** Comma-separated rule ids. */
  skip?: string;
  /** Previous JSON report (--baseline). */
  baseline?: string;
  /** Name of the fabric (--name). */
  name?: string;
}

/** Audit options from their text forms (`--expect-width 4X`, `--skip a,b`); a bad value is an error naming the flag. */
export function auditOptionsFromText(o: AuditOptionsText): AuditOptions {
  const a: AuditOptions = {};
  if (o.config) a.configPath = o.config;
  if (o.reference) a.referencePath = o.reference;
  if (o.nodeNameMap) a.nodeNameMapPath = o.nodeNameMap;
  if (o.baseline) a.baselinePath = o.baseline;
  if (o.name !== undefined) {
    if (!o.name.trim()) throw new InvalidArgumentError('--name: empty name');
    a.name = o.name;
  }
  if (o.expectWidth) {
    const w = parseWidth(o.expectWidth);
    if (!w) throw new InvalidArgumentError(`--expect-width: expected 1X, 2X, 4X, 8X or 12X, got '${o.expectWidth}'`);
    a.expectWidth = w;
  }
  if (o.expectSpeed) {
    const s = parseSpeed(o.expectSpeed);
    if (!s) throw new InvalidArgumentError(`--expect-speed: expected SDR, DDR, QDR, FDR10, FDR, EDR, HDR, NDR or XDR, got '${o.expectSpeed}'`);
    a.expectSpeed = s;
  }
  if (o.skip) {
    a.skip = o.skip.split(',').map((s) => s.trim()).filter(Boolean).map((s) => {
      if (!RULE_IDS.includes(s as RuleId)) throw new InvalidArgumentError(`--skip: unknown rule '${s}'`);
      return s as RuleId;
    });
  }
  return a;
}

export interface PreparedAudit {
  config: AuditConfig;
  reference?: Fabric;
  nodeNameMap?: NodeNameMap;
  baseline?: AuditReport;
}

/** Load the configuration and the files it (or the options) name; options override the file. */
export function prepareAudit(o: AuditOptions): PreparedAudit {
  let config = defaultAuditConfig();
  let base = process.cwd();
  if (o.configPath) {
    let text: string;
    try {
      text = readFileSync(o.configPath, 'utf8');
    } catch (e) {
      throw new InvalidArgumentError(`cannot read configuration ${o.configPath}: ${(e as Error).message}`);
    }
    config = parseAuditConfig(text, o.configPath);
    base = dirname(resolve(o.configPath));
  }
  const rel = (p: string) => (isAbsolute(p) ? p : resolve(base, p));
  if (o.expectWidth) config.expect.width = o.expectWidth;
  if (o.expectSpeed) config.expect.speed = o.expectSpeed;
  for (const s of o.skip ?? []) config.skip.add(s);
  const out: PreparedAudit = { config };
  const mapPath = o.nodeNameMapPath ?? (config.nodeNameMapPath ? rel(config.nodeNameMapPath) : undefined);
  if (mapPath) out.nodeNameMap = loadNodeNameMap(mapPath);
  const refPath = o.referencePath ?? (config.referencePath ? rel(config.referencePath) : undefined);
  if (refPath) out.reference = loadFabricFile(refPath, out.nodeNameMap).fabric;
  if (o.baselinePath) out.baseline = loadAuditReport(o.baselinePath);
  return out;
}

/** Audit a snapshot with what prepareAudit loaded (and the options' name and baseline). */
export function auditPrepared(snapshot: FabricSnapshot, prep: PreparedAudit, o: AuditOptions = {}): AuditReport {
  const report = runAudit(
    {
      snapshot,
      ...(prep.reference ? { reference: prep.reference } : {}),
      ...(prep.nodeNameMap ? { nodeNameMap: prep.nodeNameMap } : {}),
      ...(o.name !== undefined ? { name: o.name } : {}),
    },
    prep.config,
  );
  return prep.baseline ? compareWithBaseline(report, prep.baseline, o.baselinePath) : report;
}

/** Audit a saved snapshot file. */
export function auditSnapshotFile(path: string, o: AuditOptions = {}): { report: AuditReport; snapshot: FabricSnapshot } {
  const prep = prepareAudit(o);
  const snapshot = loadFabricFile(path, prep.nodeNameMap);
  return { report: auditPrepared(snapshot, prep, o), snapshot };
}
