/** `hpcnet ib ...`: InfiniBand commands. */
import type { Command } from 'commander';
import { caToJson, caToText, listCas } from '../ib/cas.js';
import { registerIbExporter } from './ib-exporter.js';
import { liveSource } from '../ib/discovery/live.js';
import { registerIbDiscover } from './ib-discover.js';
import { registerIbQuery } from './ib-query.js';
import { registerIbTools } from './ib-tools.js';
import { registerIbTopology } from './ib-topology.js';
import { action, printJson } from './util.js';

export function registerIb(program: Command): void {
  const ib = program.command('ib').description('InfiniBand fabric queries and audits');

  ib.command('cas')
    .description('local CAs and ports through libibumad (like ibstat)')
    .argument('[ca]', 'CA name (default: all)')
    .option('--json', 'JSON output')
    .action(
      action(async (ca: string | undefined, opts: { json?: boolean }) => {
        const cas = await listCas(ca === undefined ? {} : { ca });
        if (opts.json) printJson(cas.map(caToJson));
        else process.stdout.write(cas.map(caToText).join('\n\n') + '\n');
      }),
    );

  registerIbQuery(ib);
  registerIbTools(ib);
  registerIbDiscover(ib);
  registerIbTopology(ib, { live: liveSource() });
  registerIbExporter(ib, { live: liveSource() });
}
