/**
 * `hpcnet ib diff`, `hpcnet ib audit`, `hpcnet ib convert`: the offline
 * parts of topology and audit (saved snapshots and topology files). Live
 * discovery plugs in through `live`: without it, `diff` needs both files
 * and `audit` needs --snapshot.
 *
 * Exit status: audit 0 clean, 1 findings (errors, or warnings with
 * --strict; with --fail-on new only those new against --baseline), 2 the
 * audit itself failed; diff 0 equal, 1 different, 2 failed.
 */
import { writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import { InvalidArgumentError } from '../errors.js';
import {
  FAIL_ON,
  REPORT_FORMATS,
  RULE_IDS,
  auditExitCode,
  auditOptionsFromText,
  auditPrepared,
  type AuditOptionsText,
  prepareAudit,
  renderReport,
  type FailOn,
  type LiveAuditSource,
  type ReportFormat,
} from '../ib/audit/index.js';
import {
  FABRIC_FORMATS,
  diffToText,
  diffTopology,
  isEmptyDiff,
  loadFabricFile,
  loadNodeNameMap,
  type FabricFormat,
  type FabricSnapshot,
} from '../ib/topology/index.js';
import { renderTopology, withSlurmFlags, type SlurmFlags } from './topology-output.js';
import { EXIT_FINDINGS, EXIT_OK, action, printJson } from './util.js';

export interface IbTopologyHooks {
  /** Live fabric source (discovery, counters, SMInfo); when absent, only files are accepted. */
  live?: LiveAuditSource;
}

function output(text: string, file: string | undefined): void {
  if (file) writeFileSync(file, text);
  else process.stdout.write(text);
}

function choice<T extends string>(name: string, allowed: readonly T[]) {
  return (v: string): T => {
    if (!allowed.includes(v as T)) throw new InvalidArgumentError(`${name}: expected one of ${allowed.join(', ')}, got '${v}'`);
    return v as T;
  };
}

/** --samples: 1 or 2 live counter samples. */
function samplesOption(v: string): 1 | 2 {
  if (v !== '1' && v !== '2') throw new InvalidArgumentError(`--samples: expected 1 or 2, got '${v}'`);
  return Number(v) as 1 | 2;
}

async function liveSnapshot(hooks: IbTopologyHooks, what: string, samples: number, intervalMs: number, routes = false): Promise<FabricSnapshot> {
  if (!hooks.live) throw new InvalidArgumentError(`${what}: live discovery is not available in this build; give a saved file instead`);
  // The audit's rules read the PortCounters entries only: no PortCountersExtended (as ibqueryerrors; ~45% fewer PMA MADs).
  return hooks.live.snapshot({ samples, intervalMs, extended: false, ...(routes ? { routes } : {}) });
}

export function registerIbTopology(ib: Command, hooks: IbTopologyHooks = {}): void {
  ib.command('diff')
    .description('compare a reference topology with another one (or with the live fabric): missing/extra nodes and links, moved cables, width/speed and description changes')
    .argument('<reference>', 'reference topology: ibnetdiscover file or hpcnet JSON snapshot')
    .argument('[current]', 'current topology (same formats); default: discover the live fabric')
    .option('--node-name-map <file>', 'opensm node-name map applied to both sides')
    .option('--json', 'JSON output')
    .action(
      action(async (reference: string, current: string | undefined, o: { nodeNameMap?: string; json?: boolean }) => {
        const map = o.nodeNameMap ? loadNodeNameMap(o.nodeNameMap) : undefined;
        const ref = loadFabricFile(reference, map).fabric;
        const cur = current ? loadFabricFile(current, map).fabric : (await liveSnapshot(hooks, 'ib diff', 0, 0)).fabric;
        const d = diffTopology(ref, cur);
        if (o.json) printJson({ equal: isEmptyDiff(d), ...d });
        else process.stdout.write(isEmptyDiff(d) ? 'topologies are equal\n' : diffToText(d));
        process.exitCode = isEmptyDiff(d) ? EXIT_OK : EXIT_FINDINGS;
      }),
    );

  ib.command('audit')
    .description('audit the fabric (or a saved snapshot): GUIDs, LIDs, links, ports, counters, SMs, topology; exit 0 clean, 1 findings, 2 failure')
    .option('--config <file>', 'YAML audit configuration')
    .option('--reference <topology>', 'reference topology (ibnetdiscover file or JSON snapshot)')
    .option('--snapshot <file>', 'audit a saved snapshot (JSON, or an ibnetdiscover file) instead of the live fabric')
    .option('--node-name-map <file>', 'opensm node-name map')
    .option('--format <format>', `report format: ${REPORT_FORMATS.join(', ')}`, choice('--format', REPORT_FORMATS), 'text' as ReportFormat)
    .option('--json', 'same as --format json')
    .option('-o, --output <file>', 'write the report to a file')
    .option('--strict', 'warnings fail the audit too (exit 1)')
    .option('--expect-width <width>', 'expected width of every link (1X, 2X, 4X, 8X, 12X)')
    .option('--expect-speed <speed>', 'expected speed of every link (SDR ... NDR, XDR)')
    .option('--skip <rules>', `comma-separated rule ids to skip (${RULE_IDS.join(', ')})`)
    .option('--baseline <report>', 'previous JSON report (--format json): mark findings new, persisting or resolved')
    .option('--fail-on <which>', `findings that fail the audit (exit 1): ${FAIL_ON.join(' or ')} (new: only those not in the baseline)`, choice('--fail-on', FAIL_ON), 'any' as FailOn)
    .option('--name <name>', 'name of the fabric in the report (default: subnet prefix and master SM node description)')
    .option('--routing', 'also read every switch\'s forwarding tables and run the routing rules (route-*)')
    .option(
      '--samples <n>',
      'live counter samples: 2 (default; the counter-rate rule compares them) or 1 (discovery and one sweep, like ibqueryerrors; counter-rate is listed as not run)',
      samplesOption,
    )
    .action(
      action(
        async (
          o: AuditOptionsText & {
            routing?: boolean;
            snapshot?: string;
            format: ReportFormat;
            json?: boolean;
            output?: string;
            strict?: boolean;
            failOn: FailOn;
            samples?: 1 | 2;
          },
        ) => {
          const opts = auditOptionsFromText(o);
          const prep = prepareAudit(opts);
          if (o.routing) prep.config.routing = { ...prep.config.routing, enabled: true };
          const snapshot = o.snapshot
            ? loadFabricFile(o.snapshot, prep.nodeNameMap)
            : await liveSnapshot(
                hooks,
                'ib audit',
                o.samples ?? (prep.config.skip.has('counter-rate') ? 1 : 2),
                prep.config.rate.intervalMs,
                prep.config.routing?.enabled === true,
              );
          const report = auditPrepared(snapshot, prep, opts);
          const format: ReportFormat = o.json ? 'json' : o.format;
          output(renderReport(report, format, snapshot.fabric, o.strict ?? false, o.failOn), o.output);
          process.exitCode = auditExitCode(report, o.strict ?? false, o.failOn);
        },
      ),
    );

  const convert = ib
    .command('convert')
    .description('convert a topology between formats (ibnetdiscover file or JSON snapshot in; json, ibnetdiscover, links, dot, slurm out)')
    .argument('<input>', 'ibnetdiscover file or hpcnet JSON snapshot')
    .option('--format <format>', `output format: ${FABRIC_FORMATS.join(', ')}`, choice('--format', FABRIC_FORMATS), 'json' as FabricFormat)
    .option('--node-name-map <file>', 'opensm node-name map')
    .option('-o, --output <file>', 'write to a file');
  withSlurmFlags(convert).action(
    action(async (input: string, o: { format: FabricFormat; nodeNameMap?: string; output?: string } & SlurmFlags) => {
      const snap = loadFabricFile(input, o.nodeNameMap ? loadNodeNameMap(o.nodeNameMap) : undefined);
      output(await renderTopology(snap, o.format, o), o.output);
    }),
  );
}
