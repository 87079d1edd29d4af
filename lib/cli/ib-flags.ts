/**
 * The diag tools' common flags for the `hpcnet ib` commands: -C ca, -P port,
 * -t timeout, -D directed route, -G port GUID, --node-name-map, --json; and
 * the parsing of addresses and numbers they take.
 */
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { parseAddress, type Address } from '../ib/address.js';
import type { Port } from '../ib/port.js';
import type { Resolver } from '../ib/queries/resolve.js';
import { parseNodeNameMap, type NodeNameMap } from '../ib/topology/nodenamemap.js';
import { InvalidArgumentError } from '../errors.js';
import { parseIntOption } from './util.js';

export interface PortFlags {
  C?: string;
  P?: number;
  t?: number;
  D?: boolean;
  json?: boolean;
}

export interface ToolFlags extends PortFlags {
  G?: boolean;
  nodeNameMap?: string;
}

/** Open the port the diag-tool flags select (-C ca, -P port, -t timeout). */
export async function openPortFromFlags(o: PortFlags, extra: { allowWrites?: boolean; window?: number; perDestination?: number } = {}): Promise<Port> {
  // The MAD layer loads when a port is opened (a command's --help does not need it).
  const { openPort } = await import('../ib/port.js');
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

/** Add -D, -G and --node-name-map to the common flags. */
export function withToolFlags(cmd: Command, opts: { directed?: boolean } = {}): Command {
  withPortFlags(cmd);
  if (opts.directed !== false) cmd.option('-D', 'the address is a directed route (0,1,3)');
  return cmd.option('-G', 'the address is a port GUID (resolved through the SA)').option('--node-name-map <file>', 'node name map (opensm format)');
}

export function loadNameMap(o: ToolFlags): NodeNameMap | undefined {
  if (!o.nodeNameMap) return undefined;
  return parseNodeNameMap(readFileSync(o.nodeNameMap, 'utf8'), o.nodeNameMap);
}

export function parseGuid(text: string): bigint {
  const t = text.trim();
  if (!/^(0x)?[0-9a-f]{1,16}$/i.test(t)) throw new InvalidArgumentError(`'${text}' is not a GUID (hex, up to 16 digits)`);
  return BigInt(/^0x/i.test(t) ? t : '0x' + t);
}

/** A whole number 0..max given as text (undefined stays undefined). */
export function parseNum(text: string | undefined, what: string, max: number): number | undefined {
  if (text === undefined) return undefined;
  const n = Number(text);
  if (!Number.isInteger(n) || n < 0 || n > max) throw new InvalidArgumentError(`${what} '${text}' must be a whole number 0..${max}`);
  return n;
}

/** The destination the flags describe: -D route, -G GUID (SA lookup), else a LID. */
export async function targetFromFlags(port: Port, text: string, o: ToolFlags, resolver?: Resolver): Promise<Address> {
  if (o.D && o.G) throw new InvalidArgumentError('-D and -G cannot be combined');
  if (o.G) return { lid: await (resolver ?? new (await import('../ib/queries/resolve.js')).Resolver(port)).guidToLid(parseGuid(text)) };
  return parseAddress(text, { directed: !!o.D });
}
