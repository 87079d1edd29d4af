/** `hpcnet ib query <attribute> <address> [port]`: SMP queries like smpquery. */
import type { Command } from 'commander';
import { dumpGroup } from '../ib/fields.js';
import { InvalidArgumentError } from '../errors.js';
import * as q from '../ib/queries/index.js';
import { toJsonValue } from '../util/json.js';
import { loadNameMap, openPortFromFlags, targetFromFlags, withPortFlags, type ToolFlags } from './ib-flags.js';
import { action, printJson } from './util.js';

const QUERIES = ['nodeinfo', 'nodedesc', 'portinfo', 'switchinfo', 'pkeys', 'sl2vl', 'vlarb', 'guids', 'lft', 'mft', 'sminfo'] as const;
type QueryName = (typeof QUERIES)[number];
/** smpquery's names and aliases. */
const ALIASES: Record<string, QueryName> = {
  ni: 'nodeinfo',
  nd: 'nodedesc',
  pi: 'portinfo',
  si: 'switchinfo',
  pkeytable: 'pkeys',
  pkey: 'pkeys',
  sl2vltable: 'sl2vl',
  slvl: 'sl2vl',
  vlarbitration: 'vlarb',
  guidinfo: 'guids',
  gi: 'guids',
  linearforwardingtable: 'lft',
  multicastforwardingtable: 'mft',
  smi: 'sminfo',
};

export function registerIbQuery(ib: Command): void {
  withPortFlags(
    ib
      .command('query')
      .description(`SMP Get of one attribute, like smpquery (${QUERIES.join(', ')})`)
      .argument('<attribute>', QUERIES.join(' | ') + ' (or smpquery aliases: ni, nd, pi, si, pkeytable, gi, ...)')
      .argument('<address>', 'LID (5, 0x5), with -D a directed route from the local port (0,1,3), with -G a port GUID')
      .argument('[port]', 'port number (portinfo, pkeys, sl2vl, vlarb), LFT/MFT block (lft, mft)')
      .option('-D', 'the address is a directed route')
      .option('-G', 'the address is a port GUID (resolved through the SA)')
      .option('--node-name-map <file>', 'node name map (opensm format)'),
  ).action(
    action(async (attr: string, addrText: string, portText: string | undefined, o: ToolFlags) => {
      const lower = attr.toLowerCase();
      const name = (ALIASES[lower] ?? lower) as QueryName;
      if (!QUERIES.includes(name)) throw new InvalidArgumentError(`unknown attribute '${attr}' (one of ${QUERIES.join(', ')})`);
      let portNum = 0;
      if (portText !== undefined) {
        portNum = Number(portText);
        if (!Number.isInteger(portNum) || portNum < 0 || portNum > 767) throw new InvalidArgumentError(`port/block '${portText}' must be a whole number`);
        if (name !== 'lft' && name !== 'mft' && portNum > 254) throw new InvalidArgumentError(`port '${portText}' must be 0..254`);
      }
      await using port = await openPortFromFlags(o);
      const addr = await targetFromFlags(port, addrText, o);
      const where = q.portidText(addr, port.lid);
      switch (name) {
        case 'nodeinfo': {
          const ni = await port.nodeInfo(addr);
          if (o.json) return printJson(toJsonValue(ni));
          const raw = await port.getFields('NodeInfo', { mgmtClass: 1, attrId: 0x11, addr });
          return void process.stdout.write(`# Node info: ${where}\n${dumpGroup('NodeInfo', raw)}\n`);
        }
        case 'nodedesc': {
          let desc = await port.nodeDescription(addr);
          if (o.nodeNameMap) {
            // The name map's name for this node GUID, as the diag tools print it.
            desc = loadNameMap(o)?.get((await port.nodeInfo(addr)).nodeGuid) ?? desc;
          }
          if (o.json) return printJson({ nodeDescription: desc });
          return void process.stdout.write('Node Description:'.padEnd(43, '.') + desc + '\n');
        }
        case 'portinfo': {
          const pi = await port.portInfo(addr, portNum);
          if (o.json) return printJson(toJsonValue({ ...pi, raw: undefined }));
          return void process.stdout.write(`# Port info: ${where} port ${portNum}\n${dumpGroup('PortInfo', pi.raw)}\n`);
        }
        case 'switchinfo': {
          const si = await port.switchInfo(addr);
          if (o.json) return printJson(toJsonValue({ ...si, raw: undefined }));
          return void process.stdout.write(`# Switch info: ${where}\n${dumpGroup('SwitchInfo', si.raw)}\n`);
        }
        case 'pkeys': {
          const t = await q.pkeyTable(port, addr, portNum);
          if (o.json) return printJson(toJsonValue(t));
          return void process.stdout.write(q.pkeyTableText(t) + '\n');
        }
        case 'sl2vl': {
          const t = await q.slToVlTables(port, addr, portNum);
          if (o.json) return printJson(toJsonValue(t));
          return void process.stdout.write(q.slToVlText(t, where) + '\n');
        }
        case 'vlarb': {
          const t = await q.vlArbitration(port, addr, portNum);
          if (o.json) return printJson(toJsonValue(t));
          return void process.stdout.write(q.vlArbText(t, where) + '\n');
        }
        case 'guids': {
          const t = await q.guidTable(port, addr);
          if (o.json) return printJson(toJsonValue(t));
          return void process.stdout.write(q.guidTableText(t) + '\n');
        }
        case 'lft': {
          const ports = await q.lftBlock(port, addr, portNum);
          if (o.json) return printJson({ block: portNum, ports });
          return void process.stdout.write(q.lftBlockText(portNum, ports, where) + '\n');
        }
        case 'mft': {
          const masks = await q.mftBlock(port, addr, portNum);
          if (o.json) return printJson({ block: portNum, portMasks: masks });
          return void process.stdout.write(q.mftBlockText(portNum, masks, where) + '\n');
        }
        case 'sminfo': {
          const s = await q.smInfo(port, addr);
          if (o.json) return printJson(toJsonValue(s));
          return void process.stdout.write(q.smInfoText(s) + '\n');
        }
      }
    }),
  );
}
