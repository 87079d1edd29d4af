/** `hpcnet ib discover`: directed-route discovery of the live fabric. */
import { writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import { parseAddress } from '../ib/address.js';
import type { DiscoveryProgress } from '../ib/discovery/discover.js';
import { FABRIC_FORMATS, type FabricFormat } from '../ib/topology/formats.js';
import { InvalidArgumentError } from '../errors.js';
import { openPortFromFlags, withPortFlags, type PortFlags } from './ib-flags.js';
import { renderTopology, slurmOptions, withSlurmFlags, type SlurmFlags } from './topology-output.js';
import { action, parseIntOption } from './util.js';

/** A one-line progress display on a TTY (stderr), nothing otherwise. */
export function progressLine(enabled = process.stderr.isTTY === true) {
  let last = '';
  return {
    update(p: DiscoveryProgress) {
      if (!enabled) return;
      const text = `discovering: ${p.nodes} nodes (${p.switches} switches), ${p.links} links, ${p.madsSent} MADs, ${p.inFlight} in flight, ${p.errors} errors`;
      if (text !== last) process.stderr.write('\r\x1b[K' + text);
      last = text;
      if (p.done) process.stderr.write('\n');
    },
  };
}

interface DiscoverFlags extends PortFlags, SlurmFlags {
  output?: string;
  format: string;
  window?: number;
  perDestination?: number;
  maxHops?: number;
  retries?: number;
  from?: string;
  nodeNameMap?: string;
  quiet?: boolean;
}

export function registerIbDiscover(ib: Command): void {
  withSlurmFlags(withPortFlags(
    ib
      .command('discover')
      .description('discover the fabric by directed route (like ibnetdiscover, with many SMPs in flight)')
      .option('-o, --output <file>', 'write to a file instead of stdout')
      .option('--format <format>', `output format: ${FABRIC_FORMATS.join(', ')}`, 'ibnetdiscover')
      .option('--window <n>', 'SMPs in flight on the port (default 16)', parseIntOption('--window'))
      .option('--per-destination <n>', 'SMPs in flight per node (default 2)', parseIntOption('--per-destination'))
      .option('--max-hops <n>', 'longest directed route followed (default 63)', parseIntOption('--max-hops'))
      .option('--retries <n>', 'retries per SMP (default 3)', parseIntOption('--retries'))
      .option('--from <route>', 'start at the node this directed route (0,1,3) leads to')
      .option('--node-name-map <file>', 'opensm node-name map: names for nodes')
      .option('-q, --quiet', 'no progress display'),
  )).action(
    action(async (o: DiscoverFlags) => {
      const format = (o.json ? 'json' : o.format) as FabricFormat;
      if (!FABRIC_FORMATS.includes(format)) throw new InvalidArgumentError(`--format: unknown format '${o.format}' (one of ${FABRIC_FORMATS.join(', ')})`);
      slurmOptions(format, o);
      // Discovery and the topology code load when the command runs, not for its --help.
      const [{ discover }, { applyNodeNameMap, loadNodeNameMap }] = await Promise.all([import('../ib/discovery/discover.js'), import('../ib/topology/index.js')]);
      const map = o.nodeNameMap ? loadNodeNameMap(o.nodeNameMap) : undefined;
      const from = o.from !== undefined ? parseAddress(o.from, { directed: true }).path : undefined;
      await using port = await openPortFromFlags(o, {
        ...(o.window !== undefined ? { window: o.window } : {}),
        ...(o.perDestination !== undefined ? { perDestination: o.perDestination } : {}),
      });
      const showProgress = !o.quiet && process.stderr.isTTY === true;
      const bar = progressLine(showProgress);
      const ac = new AbortController();
      const onSig = () => ac.abort(new Error('interrupted'));
      process.once('SIGINT', onSig);
      try {
        const r = await discover(port, {
          ...(o.maxHops !== undefined ? { maxHops: o.maxHops } : {}),
          ...(o.retries !== undefined ? { retries: o.retries } : {}),
          ...(from ? { from } : {}),
          signal: ac.signal,
          // Progress is built only for a display (it walks the fabric found so far).
          ...(showProgress ? { onProgress: (p: DiscoveryProgress) => bar.update(p) } : {}),
        });
        const fabric = map ? applyNodeNameMap(r.fabric, map) : r.fabric;
        const text = await renderTopology(fabric, format, o);
        if (o.output) writeFileSync(o.output, text);
        else process.stdout.write(text);
        for (const e of fabric.errors) process.stderr.write(`hpcnet: discovery: ${e.kind}: ${e.message}\n`);
        if (!o.quiet) {
          process.stderr.write(
            `discovered ${fabric.nodes.length} nodes, ${fabric.links.length} links in ${(r.stats.ms / 1000).toFixed(2)} s ` +
              `(${r.stats.madsSent} MADs, ${r.stats.retries} retries, ${fabric.errors.length} errors)\n`,
          );
        }
      } finally {
        process.removeListener('SIGINT', onSig);
      }
    }),
  );
}
