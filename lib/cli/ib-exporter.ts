/**
 * `hpcnet ib exporter`: Prometheus exporter of the fabric (port counters,
 * link state, width/speed, audit findings, collection metadata).
 *
 * Sources, one of:
 *   (default)       the live native source, when the lead's discovery is
 *                   registered through `registerIbExporter(ib, { live })`;
 *   --snapshot FILE a saved snapshot, re-read on every collection;
 *   --source tools  the INTERIM live collector through the infiniband-diags
 *                   tools (ibnetdiscover, iblinkinfo, perfquery, sminfo).
 *
 * Runs until SIGINT/SIGTERM, then closes cleanly (exit 0). Exit 2 when it
 * cannot start (bad option, address in use).
 */
import type { Command } from 'commander';
import { InvalidArgumentError } from '../errors.js';
import { auditOptionsFromText, prepareAudit, type AuditOptionsText, type LiveAuditSource } from '../ib/audit/index.js';
import {
  DEFAULT_INTERVAL_MS,
  DEFAULT_LISTEN,
  DiagToolsSource,
  IbExporter,
  WorkerLiveSource,
  SnapshotFileSource,
  parseDuration,
  parseListen,
  type DiagToolsSourceOptions,
  type ExporterSource,
} from '../ib/exporter/index.js';
import { action } from './util.js';

export interface IbExporterHooks {
  /** The live fabric source (native discovery + counter sweep + SMInfo); used when neither --snapshot nor --source is given. */
  live?: LiveAuditSource | ExporterSource;
}

interface ExporterCliOptions extends AuditOptionsText {
  listen: string;
  interval: string;
  timeout?: string;
  snapshot?: string;
  source?: string;
  concurrency?: string;
  toolTimeout?: string;
  ca?: string;
  port?: string;
  audit: boolean;
}

function positiveInt(name: string, v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError(`${name}: expected a whole number of at least 1, got '${v}'`);
  return n;
}

function isExporterSource(s: LiveAuditSource | ExporterSource): s is ExporterSource {
  return 'kind' in s || 'close' in s;
}

export function registerIbExporter(ib: Command, hooks: IbExporterHooks = {}): void {
  ib.command('exporter')
    .description('Prometheus exporter: port counters, link state, width/speed and audit findings, collected in the background; serves /metrics and /healthz')
    .option('--listen <addr>', 'HOST:PORT, [IPV6]:PORT or PORT (loopback); 0.0.0.0:PORT for every interface', DEFAULT_LISTEN)
    .option('--interval <duration>', 'time between collections (500ms, 30s, 5m, 1h)', `${DEFAULT_INTERVAL_MS / 1000}s`)
    .option('--timeout <duration>', 'abort a collection that runs longer (default: the interval)')
    .option('--snapshot <file>', 'serve a saved snapshot (JSON or ibnetdiscover file), re-read on every collection')
    .option('--source <source>', "'tools': INTERIM collector through the infiniband-diags tools (ibnetdiscover, iblinkinfo, perfquery, sminfo)")
    .option('--concurrency <n>', 'tools source: nodes whose counters are read at once (2 perfquery processes each)', '2')
    .option('--tool-timeout <duration>', 'tools source: kill a tool after this long', '60s')
    .option('--ca <name>', 'local CA to use (tools source: -C)')
    .option('--port <n>', 'local port to use (tools source: -P)')
    .option('--no-audit', 'do not audit the collections (no hpcnet_ib_audit_* metrics)')
    .option('--config <file>', 'YAML audit configuration (as for ib audit)')
    .option('--reference <topology>', 'reference topology for the audit')
    .option('--node-name-map <file>', 'opensm node-name map')
    .option('--expect-width <width>', 'expected width of every link (1X, 2X, 4X, 8X, 12X)')
    .option('--expect-speed <speed>', 'expected speed of every link (SDR ... NDR, XDR)')
    .option('--skip <rules>', 'comma-separated audit rule ids to skip')
    .option('--baseline <report>', 'JSON audit report to count findings against by state (hpcnet_ib_audit_findings_by_state)')
    .action(
      action(async (o: ExporterCliOptions) => {
        const listen = parseListen(o.listen);
        const intervalMs = parseDuration(o.interval, '--interval');
        const timeoutMs = o.timeout ? parseDuration(o.timeout, '--timeout') : undefined;
        const prep = prepareAudit(auditOptionsFromText(o));
        let source: ExporterSource;
        if (o.snapshot && o.source) throw new InvalidArgumentError('give either --snapshot or --source, not both');
        if (o.snapshot) {
          source = new SnapshotFileSource(o.snapshot, prep.nodeNameMap ? { nodeNameMap: prep.nodeNameMap } : {});
        } else if (o.source !== undefined) {
          if (o.source !== 'tools') throw new InvalidArgumentError(`--source: expected 'tools', got '${o.source}'`);
          const toolArgs = [...(o.ca ? ['-C', o.ca] : []), ...(o.port ? ['-P', String(positiveInt('--port', o.port))] : [])];
          const so: DiagToolsSourceOptions = {
            concurrency: positiveInt('--concurrency', o.concurrency ?? '2'),
            toolTimeoutMs: parseDuration(o.toolTimeout ?? '60s', '--tool-timeout'),
            toolArgs,
          };
          if (prep.nodeNameMap) so.nodeNameMap = prep.nodeNameMap;
          source = new DiagToolsSource(so);
        } else if (hooks.live && isExporterSource(hooks.live)) {
          source = hooks.live;
        } else {
          // The live source keeps one port open across collections (a
          // timed-out collection is cancelled, not closed under its MADs).
          source = new WorkerLiveSource({
            port: { ...(o.ca ? { ca: o.ca } : {}), ...(o.port ? { port: positiveInt('--port', o.port) } : {}) },
          });
        }
        const exporter = await IbExporter.start({
          source,
          listen,
          intervalMs,
          ...(timeoutMs !== undefined ? { timeoutMs } : {}),
          audit: o.audit === false ? false : { config: prep.config, ...(prep.reference ? { reference: prep.reference } : {}), ...(prep.nodeNameMap ? { nodeNameMap: prep.nodeNameMap } : {}), ...(prep.baseline ? { baseline: prep.baseline } : {}) },
          log: (line) => process.stderr.write(`hpcnet ib exporter: ${line}\n`),
        });
        process.stdout.write(
          `hpcnet ib exporter: listening on ${exporter.url}/metrics (source: ${source.kind ?? 'custom'}${source.kind === 'tools' ? ', interim infiniband-diags collector' : ''}, interval ${intervalMs / 1000}s)\n`,
        );
        await new Promise<void>((resolve) => {
          const stop = (sig: NodeJS.Signals) => {
            process.off('SIGINT', stop);
            process.off('SIGTERM', stop);
            process.stderr.write(`hpcnet ib exporter: ${sig}, closing\n`);
            exporter.close().then(resolve, (e: unknown) => {
              process.stderr.write(`hpcnet ib exporter: close failed: ${e instanceof Error ? e.message : String(e)}\n`);
              resolve();
            });
          };
          process.on('SIGINT', stop);
          process.on('SIGTERM', stop);
        });
      }),
    );
}
