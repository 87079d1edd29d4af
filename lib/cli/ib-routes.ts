/**
 * `hpcnet ib routes`: the forwarding tables of every switch (dump_fts), and
 * `hpcnet ib lft-set`: write LFT entries (needs --write).
 */
import { closeSync, openSync, writeFileSync, writeSync } from 'node:fs';
import type { Command } from 'commander';
import { parseAddress } from '../ib/address.js';
import { ROUTES_FORMATS, renderRoutesChunks, type RoutesFormat } from '../ib/routing/formats.js';
import type { FabricSnapshot } from '../ib/topology/snapshot.js';
import { InvalidArgumentError } from '../errors.js';
import { WriteNotAllowedError } from '../ib/errors.js';
import { openPortFromFlags, targetFromFlags, withPortFlags, withToolFlags, type PortFlags, type ToolFlags } from './ib-flags.js';
import { action, parseIntOption, printJson } from './util.js';

interface RoutesFlags extends PortFlags {
  format: string;
  output?: string;
  multicast?: boolean;
  snapshot?: string;
  save?: string;
  nodeNameMap?: string;
  window?: number;
}

/**
 * Default window of `ib routes`: every LFT block is a separate SMP to a handful of switches, and with
 * 64 in flight (still at most 2 per switch, the engine's per-destination limit) the single-threaded
 * simulator is kept busy: discovery plus tables took about half as long as with 16 at 2,048 hosts.
 */
const ROUTES_WINDOW = 64;

/**
 * Write the output chunk by chunk (one per switch), so the text of a large fabric (dump_fts:
 * 1.6 M lines at 8,192 hosts) is never one string. Each chunk is written completely (to FILE,
 * or to stdout until its write callback) before the next is made: the chunks share memory.
 */
async function writeChunks(chunks: Iterable<Buffer | string>, file?: string): Promise<void> {
  if (file) {
    const fd = openSync(file, 'w');
    try {
      for (const c of chunks) writeSync(fd, typeof c === 'string' ? Buffer.from(c) : c);
    } finally {
      closeSync(fd);
    }
    return;
  }
  for (const c of chunks) await new Promise<void>((resolve, reject) => process.stdout.write(c, (e) => (e ? reject(e) : resolve())));
}

export function registerIbRoutes(ib: Command): void {
  withPortFlags(
    ib
      .command('routes')
      .description('forwarding tables of every switch (LFT up to LinearFDBTop, MFT with --multicast), read in one pass; --format dump_fts prints what dump_fts prints')
      .option('--format <format>', `output format: ${ROUTES_FORMATS.join(', ')}`, 'text')
      .option('-o, --output <file>', 'write to a file instead of stdout')
      .option('-M, --multicast', 'also read the multicast forwarding tables (dump_fts -M for --format dump_fts)')
      .option('--save <file>', 'also save a JSON fabric snapshot with the tables (for `hpcnet ib audit --snapshot`)')
      .option('--snapshot <file>', 'print the tables saved in a snapshot instead of reading the fabric')
      .option('--node-name-map <file>', 'opensm node-name map: names for switches and destinations')
      .option('--window <n>', `SMPs in flight on the port (default ${ROUTES_WINDOW}; at most 2 per switch either way)`, parseIntOption('--window')),
  ).action(
    action(async (o: RoutesFlags) => {
      const format = (o.json ? 'json' : o.format) as RoutesFormat;
      if (!ROUTES_FORMATS.includes(format)) throw new InvalidArgumentError(`--format: unknown format '${o.format}' (one of ${ROUTES_FORMATS.join(', ')})`);
      // Modules load as the path taken needs them (a live read: the port, discovery and the reader only).
      const map = o.nodeNameMap ? (await import('../ib/topology/index.js')).loadNodeNameMap(o.nodeNameMap) : undefined;
      let snap: FabricSnapshot;
      if (o.snapshot) {
        snap = { ...(await import('../ib/routing/load.js')).loadRoutesSnapshot(o.snapshot, map), counters: [] };
      } else {
        const [{ discover }, { readRoutes }, { applyNodeNameMap }] = await Promise.all([import('../ib/discovery/discover.js'), import('../ib/routing/reader.js'), import('../ib/topology/nodenamemap.js')]);
        await using port = await openPortFromFlags(o, { window: o.window ?? ROUTES_WINDOW });
        const { fabric } = await discover(port);
        if (map) applyNodeNameMap(fabric, map);
        const routes = await readRoutes(port, fabric, { multicast: o.multicast === true });
        snap = { fabric, counters: [], routes };
        if (o.save) writeFileSync(o.save, (await import('../ib/topology/snapshot.js')).writeSnapshot(snap));
      }
      await writeChunks(renderRoutesChunks(snap.fabric, snap.routes!, format, { multicast: o.multicast === true, reuse: true }), o.output);
      for (const e of snap.routes!.errors) process.stderr.write(`hpcnet: routes: ${e.node}: ${e.message}\n`);
      if (snap.routes!.errors.length > 0) process.exitCode = 1;
    }),
  );

  withToolFlags(
    ib
      .command('lft-set')
      .description('write entries of a switch\'s linear forwarding table (LID:PORT, 255 = no route); refused without --write')
      .argument('<switch>', 'switch address: LID, or directed route with -D')
      .argument('<entries...>', 'LID:PORT pairs, e.g. 12:3 13:255')
      .option('--write', 'really write to the fabric'),
  ).action(
    action(async (sw: string, entries: string[], o: ToolFlags & { write?: boolean }) => {
      const { parseLftChanges, setLftEntries } = await import('../ib/routing/write.js');
      const changes = parseLftChanges(entries);
      if (!o.write) throw new WriteNotAllowedError(`LinearForwardingTable Set to ${o.D ? 'DR path ' : 'LID '}${sw} (nothing was sent)`);
      await using port = await openPortFromFlags(o, { allowWrites: true });
      const addr = o.G ? await targetFromFlags(port, sw, o) : parseAddress(sw, { directed: !!o.D });
      const r = await setLftEntries(port, addr, changes);
      if (o.json) printJson(r);
      else for (const c of r.changes) process.stdout.write(`${r.address}: LID ${c.lid} port ${c.before} -> ${c.port}\n`);
    }),
  );
}
