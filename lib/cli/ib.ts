/** `hpcnet ib ...`: InfiniBand commands. */
import type { Command } from 'commander';
import { action, printJson } from './util.js';

/**
 * The modules that register `ib` subcommands, with the subcommands each
 * registers: only the module of the subcommand being run is loaded
 * (`hpcnet ib discover` does not load the exporter or the audit). A
 * subcommand missing here still works: an unknown word loads every module.
 * test/unit/cli-lazy.test.ts checks this table against the modules.
 */
export const IB_MODULES: Array<{ commands: string[]; load: () => Promise<(ib: Command) => void> }> = [
  { commands: ['query'], load: async () => (await import('./ib-query.js')).registerIbQuery },
  {
    commands: ['sa', 'perf', 'sminfo', 'addr', 'route', 'trace', 'portstate', 'dump'],
    load: async () => (await import('./ib-tools.js')).registerIbTools,
  },
  { commands: ['discover'], load: async () => (await import('./ib-discover.js')).registerIbDiscover },
  { commands: ['routes', 'lft-set'], load: async () => (await import('./ib-routes.js')).registerIbRoutes },
  {
    commands: ['diff', 'audit', 'convert'],
    load: async () => {
      const [{ registerIbTopology }, { liveSource }] = await Promise.all([import('./ib-topology.js'), import('../ib/discovery/live.js')]);
      return (ib) => registerIbTopology(ib, { live: liveSource() });
    },
  },
  {
    commands: ['exporter'],
    load: async () => {
      const [{ registerIbExporter }, { liveSource }] = await Promise.all([import('./ib-exporter.js'), import('../ib/discovery/live.js')]);
      return (ib) => registerIbExporter(ib, { live: liveSource() });
    },
  },
];

/** `argv`: the words after `ib` (to load only the module of the subcommand named). */
export async function registerIb(program: Command, argv: string[] = []): Promise<void> {
  const ib = program.command('ib').description('InfiniBand fabric queries and audits');

  ib.command('cas')
    .description('local CAs and ports through libibumad (like ibstat)')
    .argument('[ca]', 'CA name (default: all)')
    .option('--json', 'JSON output')
    .action(
      action(async (ca: string | undefined, opts: { json?: boolean }) => {
        const { caToJson, caToText, listCas } = await import('../ib/cas.js');
        const cas = await listCas(ca === undefined ? {} : { ca });
        if (opts.json) printJson(cas.map(caToJson));
        else process.stdout.write(cas.map(caToText).join('\n\n') + '\n');
      }),
    );

  const word = argv.find((a) => !a.startsWith('-'));
  const named = IB_MODULES.find((m) => word !== undefined && m.commands.includes(word));
  const modules = word === 'cas' ? [] : named ? [named] : IB_MODULES;
  for (const register of await Promise.all(modules.map((m) => m.load()))) register(ib);
}
