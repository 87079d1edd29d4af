/**
 * infiniband-diags equivalents: `hpcnet ib sa|perf|sminfo|addr|route|trace|portstate|dump`.
 * Flags as the diag tools: -C ca, -P port, -D directed route, -G port GUID,
 * -t timeout, --node-name-map file; --json everywhere.
 */
import type { Command } from 'commander';
import { parseAddress, type Address } from '../ib/address.js';
import { loadRoutesSnapshot } from '../ib/routing/load.js';
import { traceRoutes } from '../ib/routing/trace.js';
import { MGMT_CLASS } from '../ib/attributes.js';
import * as q from '../ib/queries/index.js';
import { InvalidArgumentError } from '../errors.js';
import { toJsonValue } from '../util/json.js';
import { loadNameMap, openPortFromFlags, parseGuid, parseNum, targetFromFlags, withToolFlags, type ToolFlags } from './ib-flags.js';
import { action, printJson } from './util.js';

const out = (s: string) => void process.stdout.write(s.endsWith('\n') ? s : s + '\n');
const json = (v: unknown) => printJson(toJsonValue(v));
const noRaw = <T extends object>(v: T) => ({ ...v, raw: undefined });

interface SaFlags extends ToolFlags {
  lid?: string;
  guid?: string;
  desc?: string;
  port?: string;
  toLid?: string;
  toPort?: string;
  slid?: string;
  dlid?: string;
  sgid?: string;
  dgid?: string;
  mlid?: string;
  mgid?: string;
  block?: string;
}

/** saquery's flags and positional key as the library's filter. */
function saFilter(name: q.SaRecordName, key: string | undefined, o: SaFlags): q.SaQueryFilter {
  // saquery's key: a LID (or with -G a GUID); for NodeRecords anything else is a node description.
  const keyGuid = o.G && key !== undefined ? parseGuid(key) : undefined;
  const lidKey = key !== undefined && !o.G && /^(0x[0-9a-f]+|\d+)$/i.test(key) ? String(Number(key)) : undefined;
  const guid = o.guid ? parseGuid(o.guid) : keyGuid;
  const desc = o.desc ?? (name === 'NodeRecord' && key !== undefined && lidKey === undefined && keyGuid === undefined ? key : undefined);
  return {
    lid: parseNum(o.lid ?? lidKey, '--lid', 0xffff),
    port: parseNum(o.port, '--port', 255),
    toLid: parseNum(o.toLid, '--to-lid', 0xffff),
    toPort: parseNum(o.toPort, '--to-port', 255),
    slid: parseNum(o.slid, '--slid', 0xffff),
    dlid: parseNum(o.dlid, '--dlid', 0xffff),
    mlid: parseNum(o.mlid, '--mlid', 0xffff),
    block: parseNum(o.block, '--block', 255),
    guid,
    nodeDescription: desc,
    sgid: o.sgid,
    dgid: o.dgid,
    mgid: o.mgid,
    nameMap: loadNameMap(o),
  };
}

export function registerIbTools(ib: Command): void {
  // sa
  withToolFlags(
    ib
      .command('sa')
      .description('SA records, like saquery: NodeRecord (NR), PortInfoRecord (PIR), LinkRecord (LR), PathRecord (PR), SMInfoRecord (SMIR), MCMemberRecord (MCMR), ServiceRecord (SR), GUIDInfoRecord (GIR)')
      .argument('[record]', 'record name or alias (default NR)', 'NR')
      .argument('[key]', 'LID, or for NR a node description')
      .option('--lid <lid>', 'LID (NR, PIR, SMIR, GIR) or from-LID (LR)')
      .option('--guid <guid>', 'port or node GUID (NR)')
      .option('--desc <text>', 'node description (NR)')
      .option('--port <n>', 'port number (PIR) or from-port (LR)')
      .option('--to-lid <lid>', 'to-LID (LR)')
      .option('--to-port <n>', 'to-port (LR)')
      .option('--slid <lid>', 'source LID (PR)')
      .option('--dlid <lid>', 'destination LID (PR)')
      .option('--sgid <gid>', 'source GID (PR)')
      .option('--dgid <gid>', 'destination GID (PR)')
      .option('--mlid <lid>', 'multicast LID (MCMR)')
      .option('--mgid <gid>', 'multicast GID (MCMR)')
      .option('--block <n>', 'block number (GIR)'),
    { directed: false },
  ).action(
    action(async (record: string, key: string | undefined, o: SaFlags) => {
      const name = q.saRecordName(record);
      const filter = saFilter(name, key, o);
      await using port = await openPortFromFlags(o);
      const r = await q.saQuery(port, name, filter);
      if (o.json) return json({ record: name, truncated: r.truncated, records: r.records });
      if (r.truncated) process.stderr.write(`hpcnet: warning: the SA reply was cut short (no RMPP on this transport): ${r.records.length} complete record(s) shown\n`);
      if (r.text.length) out(r.text.join('\n'));
    }),
  );

  // perf
  withToolFlags(
    ib
      .command('perf')
      .description('PMA counters, like perfquery (default: the local port)')
      .argument('[address]', 'LID (or GUID with -G); default: the local port')
      .argument('[port]', 'port number (255: all ports)')
      .option('-x, --extended', 'PortCountersExtended (64-bit)')
      .option('-a, --all-ports', 'all ports: AllPortSelect where supported, else the sum over the ports')
      .option('--reset', 'reset the counters after reading (a write: needs --write)')
      .option('--mask <mask>', 'counter select mask for --reset (default all)')
      .option('--write', 'allow writes (counter reset)'),
    { directed: false },
  ).action(
    action(async (addrText: string | undefined, portText: string | undefined, o: ToolFlags & { extended?: boolean; allPorts?: boolean; reset?: boolean; mask?: string; write?: boolean }) => {
      await using port = await openPortFromFlags(o, { allowWrites: !!o.write });
      const addr: Address = addrText === undefined ? { lid: port.lid } : await targetFromFlags(port, addrText, o);
      const pn = parseNum(portText, 'port', 255) ?? (addrText === undefined ? port.portNum : 1);
      const mask = o.mask !== undefined ? parseNum(o.mask, '--mask', 0xffff) : undefined;
      if (o.reset && !o.write) {
        // Refuse before sending anything.
        const { WriteNotAllowedError } = await import('../ib/errors.js');
        throw new WriteNotAllowedError('perf --reset (PortCounters Set)');
      }
      const cpi = await q.pmaClassPortInfo(port, addr);
      const where = q.portidText(addr, port.lid);
      const all = o.allPorts || pn === 255;
      let result: { portSelect: number; allPortSelect?: boolean; counters: q.PortCounters | q.PortCountersExtended };
      if (all) {
        const ag = o.extended ? await q.aggregateCounters(port, addr, { extended: true, classPortInfo: cpi }) : await q.aggregateCounters(port, addr, { classPortInfo: cpi });
        result = { portSelect: 255, allPortSelect: ag.allPortSelect, counters: ag.counters };
      } else {
        result = { portSelect: pn, counters: o.extended ? await q.portCountersExtended(port, addr, pn) : await q.portCounters(port, addr, pn) };
      }
      if (o.reset) {
        const ports = all && !cpi.allPortSelect ? Array.from({ length: (await port.nodeInfo(addr)).numPorts }, (_, i) => i + 1) : [result.portSelect];
        for (const p of ports) await q.resetCounters(port, addr, p, { ...(o.extended ? { extended: true } : {}), ...(mask !== undefined ? { mask } : {}) });
      }
      if (o.json) return json({ lid: addr.lid, portSelect: result.portSelect, ...(all ? { allPortSelect: result.allPortSelect } : {}), capabilityMask: cpi.capabilityMask, extended: !!o.extended, counters: noRaw(result.counters), reset: !!o.reset });
      out(
        o.extended
          ? q.portCountersExtendedText(result.counters as q.PortCountersExtended, where, result.portSelect, cpi)
          : q.portCountersText(result.counters as q.PortCounters, where, result.portSelect, cpi.capabilityMask),
      );
    }),
  );

  // sminfo
  withToolFlags(ib.command('sminfo').description('SMInfo of the master SM, like sminfo').argument('[address]', 'SM LID (default: the SM LID of the local port)')).action(
    action(async (addrText: string | undefined, o: ToolFlags) => {
      await using port = await openPortFromFlags(o);
      const addr = addrText === undefined ? undefined : await targetFromFlags(port, addrText, o);
      const s = await q.smInfo(port, addr);
      if (o.json) return json({ smLid: s.smLid, guid: s.guid, smKey: s.smKey, actCount: s.actCount, priority: s.priority, state: s.state, stateCode: s.stateCode });
      out(q.smInfoText(s));
    }),
  );

  // addr
  withToolFlags(
    ib
      .command('addr')
      .description('GID and LID range of a port, like ibaddr')
      .argument('[address]', 'LID, -D route or -G GUID (default: the local port)')
      .option('-g, --gid-show', 'GID only')
      .option('-l, --lid-show', 'LID range only')
      .option('-L, --lid-show-decimal', 'LID range only, decimal'),
  ).action(
    action(async (addrText: string | undefined, o: ToolFlags & { gidShow?: boolean; lidShow?: boolean; lidShowDecimal?: boolean }) => {
      await using port = await openPortFromFlags(o);
      const addr: Address = addrText === undefined ? { path: [] } : await targetFromFlags(port, addrText, o);
      const ni = await port.nodeInfo(addr);
      const pi = await port.portInfo(addr, 0);
      const gid = q.gidText(pi.gidPrefix, ni.portGuid);
      const start = pi.lid;
      const end = pi.lid + (1 << pi.lmc) - 1;
      if (o.json) return json({ gid, gidPrefix: pi.gidPrefix, portGuid: ni.portGuid, lidStart: start, lidEnd: end, lmc: pi.lmc });
      out(q.addrText({ gid, lidStart: start, lidEnd: end }, { gid: !!o.gidShow, lid: !!o.lidShow, decimal: !!o.lidShowDecimal }));
    }),
  );

  // route
  withToolFlags(
    ib
      .command('route')
      .description("a switch's forwarding table, like ibroute")
      .argument('<switch-address>', 'switch LID, -D route or -G GUID')
      .option('-n, --no-dests', 'do not look up what each LID reaches')
      .option('-M, --multicast', 'the multicast forwarding table'),
  ).action(
    action(async (addrText: string, o: ToolFlags & { dests?: boolean; multicast?: boolean }) => {
      await using port = await openPortFromFlags(o);
      const addr = await targetFromFlags(port, addrText, o);
      const map = loadNameMap(o);
      const where = q.portidText(addr, port.lid);
      if (o.multicast) {
        const [mft, ni, description] = await Promise.all([q.multicastForwardingTable(port, addr), port.nodeInfo(addr), port.nodeDescription(addr)]);
        if (o.json) return json(mft);
        const { multicastFdbCap } = await port.switchInfo(addr);
        return out(q.multicastRouteText(mft, where, { nodeGuid: ni.nodeGuid, description, multicastFdbCap }, map));
      }
      const d = await q.routeDump(port, addr, { resolve: o.dests !== false });
      if (o.json) return json({ switchGuid: d.switchGuid, switchDescription: d.switchDescription, linearFdbTop: d.lft.top, entries: d.entries });
      out(q.routeText(d, where, map));
    }),
  );

  // trace
  withToolFlags(
    ib
      .command('trace')
      .description('hop-by-hop path between two ports through the forwarding tables, like ibtracert')
      .argument('<src>', 'source LID (or GUID with -G)')
      .argument('<dst>', 'destination LID (or GUID with -G)')
      .option('--snapshot <file>', 'trace through the forwarding tables saved in a snapshot (hpcnet ib routes --save), sending nothing'),
    { directed: false },
  ).action(
    action(async (srcText: string, dstText: string, o: ToolFlags & { snapshot?: string }) => {
      if (o.snapshot) {
        const { fabric, routes } = loadRoutesSnapshot(o.snapshot);
        // -G: GUIDs resolved from the saved fabric (no SA query).
        const r = new q.Resolver(undefined, { fabric });
        const lid = async (text: string) => (o.G ? r.guidToLid(parseGuid(text)) : parseAddress(text).lid!);
        const t = traceRoutes(fabric, routes, await lid(srcText), await lid(dstText));
        if (o.json) return json(t);
        return out(q.traceText(t, loadNameMap(o)));
      }
      await using port = await openPortFromFlags(o);
      const r = new q.Resolver(port);
      const src = await targetFromFlags(port, srcText, o, r);
      const dst = await targetFromFlags(port, dstText, o, r);
      const t = await q.trace(port, src.lid!, dst.lid!);
      if (o.json) return json(t);
      out(q.traceText(t, loadNameMap(o)));
    }),
  );

  // portstate
  withToolFlags(
    ib
      .command('portstate')
      .description('query or change a port (enable, disable, reset, speed/width enabled), like ibportstate; changes need --write')
      .argument('<address>', 'LID, -D route or -G GUID')
      .argument('<port>', 'port number')
      .argument('[op]', 'query | enable | disable | reset | down | arm | active', 'query')
      .option('--speed <bits>', 'LinkSpeedEnabled (1 SDR, 2 DDR, 4 QDR, 15 all)')
      .option('--espeed <bits>', 'LinkSpeedExtEnabled (1 FDR, 2 EDR, 4 HDR, 8 NDR, 16 XDR, 31 all)')
      .option('--width <bits>', 'LinkWidthEnabled (1 1X, 2 4X, 4 8X, 8 12X, 16 2X, 255 all)')
      .option('--write', 'allow the change'),
  ).action(
    action(async (addrText: string, portText: string, opText: string, o: ToolFlags & { speed?: string; espeed?: string; width?: string; write?: boolean }) => {
      const pn = parseNum(portText, 'port', 254)!;
      const op = opText.toLowerCase();
      const ops = ['query', 'enable', 'disable', 'reset', 'down', 'arm', 'active'];
      if (!ops.includes(op)) throw new InvalidArgumentError(`unknown operation '${opText}' (one of ${ops.join(', ')})`);
      const speed = parseNum(o.speed, '--speed', 15);
      const espeed = parseNum(o.espeed, '--espeed', 31);
      const width = parseNum(o.width, '--width', 255);
      const change = op !== 'query' || speed !== undefined || espeed !== undefined || width !== undefined;
      await using port = await openPortFromFlags(o, { allowWrites: !!o.write });
      const addr = await targetFromFlags(port, addrText, o);
      const where = q.portidText(addr, port.lid);
      if (!change) {
        const pi = await port.portInfo(addr, pn);
        if (o.json) return json({ port: pn, portInfo: noRaw(pi) });
        return out(`# Port info: ${where} port ${pn}\n` + q.portStateLines(pi));
      }
      const r = await q.setPortState(port, addr, pn, {
        ...(op !== 'query' ? { op: op as q.PortOperation } : {}),
        ...(speed !== undefined ? { speed } : {}),
        ...(espeed !== undefined ? { espeed } : {}),
        ...(width !== undefined ? { width } : {}),
      });
      if (o.json) return json({ port: pn, op, before: noRaw(r.before), after: noRaw(r.after) });
      out(`Initial PortInfo:\n# Port info: ${where} port ${pn}\n${q.portStateLines(r.before)}\n\nAfter PortInfo set:\n# Port info: ${where} port ${pn}\n${q.portStateLines(r.after)}`);
    }),
  );

  // dump
  withToolFlags(
    ib
      .command('dump')
      .description('raw SMP Get of any attribute, payload as hex, like smpdump')
      .argument('<attr-id>', 'attribute ID (decimal or 0x hex)')
      .argument('<address>', 'LID or -D route')
      .argument('[attr-mod]', 'attribute modifier', '0')
      .option('-s, --string', 'print the payload as a string'),
  ).action(
    action(async (attrText: string, addrText: string, modText: string, o: ToolFlags & { string?: boolean }) => {
      const attrId = Number(attrText);
      if (!Number.isInteger(attrId) || attrId < 0 || attrId > 0xffff) throw new InvalidArgumentError(`attribute ID '${attrText}' must be 0..0xffff`);
      const attrMod = Number(modText);
      if (!Number.isInteger(attrMod) || attrMod < 0 || attrMod > 0xffffffff) throw new InvalidArgumentError(`attribute modifier '${modText}' must be 0..0xffffffff`);
      await using port = await openPortFromFlags(o);
      const addr = await targetFromFlags(port, addrText, o);
      const res = await port.mad({ mgmtClass: MGMT_CLASS.SMI, method: 1, attrId, attrMod, addr });
      const data = res.data.subarray(0, 64);
      if (o.json) return json({ attrId, attrMod, status: res.status, data: data.toString('hex') });
      if (o.string) return out(data.toString('utf8').replace(/\0.*$/s, ''));
      out(q.hexDump(data) + (addr.path ? `\nSMP status: 0x${res.mad.readUInt16BE(4).toString(16).padStart(4, '0')}` : ''));
    }),
  );
}
