/** `hpcnet ib query <attribute> <address> [port]`: SMP queries like smpquery. */
import type { Command } from 'commander';
import { parseAddress, type Address } from '../ib/address.js';
import { dumpGroup } from '../ib/fields.js';
import { openPort, type Port } from '../ib/port.js';
import { InvalidArgumentError } from '../errors.js';
import { toJsonValue } from '../util/json.js';
import { action, parseIntOption, printJson } from './util.js';

export interface PortFlags {
  C?: string;
  P?: number;
  t?: number;
  D?: boolean;
  json?: boolean;
}

/** Open the port the diag-tool flags select (-C ca, -P port, -t timeout). */
export function openPortFromFlags(o: PortFlags, extra: { allowWrites?: boolean; window?: number; perDestination?: number } = {}): Promise<Port> {
  return openPort({
    ...(o.C !== undefined ? { ca: o.C } : {}),
    ...(o.P !== undefined ? { port: o.P } : {}),
    ...(o.t !== undefined ? { timeoutMs: o.t } : {}),
    ...extra,
  });
}

/** Add the diag tools' common flags to a command. */
export function withPortFlags(cmd: Command): Command {
  return cmd
    .option('-C <ca>', 'CA name')
    .option('-P <port>', 'CA port number', parseIntOption('-P'))
    .option('-t <ms>', 'timeout per attempt in ms', parseIntOption('-t'))
    .option('--json', 'JSON output');
}

/** How smpquery names a destination in its "# ... info:" header. */
export function portidText(a: Address, selfLid: number): string {
  if (a.path) return `DR path slid ${a.lid !== undefined ? selfLid : 65535}; dlid 65535; 0${a.path.map((p) => ',' + p).join('')}`;
  return `Lid ${a.lid}`;
}

const QUERIES = ['nodeinfo', 'nodedesc', 'portinfo', 'switchinfo'] as const;
type QueryName = (typeof QUERIES)[number];

export function registerIbQuery(ib: Command): void {
  withPortFlags(
    ib
      .command('query')
      .description(`SMP Get of one attribute, like smpquery (${QUERIES.join(', ')})`)
      .argument('<attribute>', QUERIES.join(' | '))
      .argument('<address>', 'LID (5, 0x5), or with -D a directed route from the local port (0,1,3)')
      .argument('[port]', 'port number (portinfo)')
      .option('-D', 'the address is a directed route'),
  ).action(
    action(async (attr: string, addrText: string, portText: string | undefined, o: PortFlags) => {
      const name = attr.toLowerCase() as QueryName;
      if (!QUERIES.includes(name)) throw new InvalidArgumentError(`unknown attribute '${attr}' (one of ${QUERIES.join(', ')})`);
      const addr = parseAddress(addrText, { directed: !!o.D });
      let portNum = 0;
      if (portText !== undefined) {
        portNum = Number(portText);
        if (!Number.isInteger(portNum) || portNum < 0 || portNum > 254) throw new InvalidArgumentError(`port '${portText}' must be 0..254`);
      }
      await using port = await openPortFromFlags(o);
      const where = portidText(addr, port.lid);
      switch (name) {
        case 'nodeinfo': {
          const ni = await port.nodeInfo(addr);
          if (o.json) return printJson(toJsonValue(ni));
          const raw = await port.getFields('NodeInfo', { mgmtClass: 1, attrId: 0x11, addr });
          return void process.stdout.write(`# Node info: ${where}\n${dumpGroup('NodeInfo', raw)}\n`);
        }
        case 'nodedesc': {
          const desc = await port.nodeDescription(addr);
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
      }
    }),
  );
}
