/**
 * The ibnetdiscover topology file format: reader and writer.
 *
 * Format facts (infiniband-diags ibnetdiscover.c and its man page,
 * ../shared/reference/infiniband.md sections 1 and 5.4):
 *   vendid=0x2c9 / devid=0xd2f0 / sysimgguid=0x...      apply to the next node
 *   switchguid=0x<node guid>(<port 0 guid, hex>)        or caguid=0x... / rtguid=0x...
 *   Switch  <nports> "S-<guid16>"   # "<desc>" enhanced|base port 0 lid <lid> lmc <lmc>
 *   [<p>]   "<remote id>"[<rp>](<remote port guid>)  # "<remote desc>" lid <rlid> <W>x<SPEED>
 *   Ca|Rt   <nports> "H-<guid16>"|"R-<guid16>"       # "<desc>"
 *   [<p>](<port guid>)  "<remote id>"[<rp>]           # lid <lid> lmc <lmc> "<remote desc>" lid <rlid> <W>x<SPEED>
 * (the remote port GUID in parentheses appears when the remote is not a
 * switch; `[ext N]` follows port numbers in grouped output). The same text
 * is an ibsim net file (ibsim reads the IDs as plain strings and takes width
 * and speed from the comment) and what ibswitches/ibhosts/ibnodes read.
 */
import { formatGuid } from '../../util/format.js';
import {
  FabricBuilder,
  TopologyParseError,
  parseSpeed,
  parseWidth,
  portGuidOf,
  type Fabric,
  type FabricNode,
  type FabricPort,
  type NodeType,
} from './model.js';
import { applyNodeNameMap, type NodeNameMap } from './nodenamemap.js';

export interface ReadTopologyOptions {
  /** File name for error messages and `meta.file`. */
  file?: string;
  /** opensm node-name map: sets `name` on nodes found in it. */
  nodeNameMap?: NodeNameMap;
}

const HEADER = /^(Switch|Ca|Hca|Rt)\s+(\d+)\s+"([^"]+)"\s*(.*)$/;
const PORT = /^\[(\d+)\](?:\[ext (\d+)\])?(?:\(([0-9a-fA-F]{1,16})\))?\s*"([^"]+)"\[(\d+)\](?:\[ext (\d+)\])?\s*(?:\(([0-9a-fA-F]{1,16})\))?\s*(.*)$/;
const ID_GUID = /^[SHR]-([0-9a-fA-F]{16})$/;
const SETTING = /^(vendid|devid|sysimgguid|switchguid|caguid|hcaguid|rtguid)\s*=\s*(\S.*)$/;

interface PendingPort {
  line: number;
  node: string;
  port: number;
  remoteId: string;
  remotePort: number;
  remotePortGuid?: bigint;
}

function hex(s: string, what: string, file: string | undefined, line: number, max = 64): bigint {
  const t = s.trim();
  const v = /^0x[0-9a-fA-F]+$/i.test(t) ? BigInt(t) : /^[0-9a-fA-F]+$/.test(t) ? BigInt('0x' + t) : undefined;
  if (v === undefined || v >= 1n << BigInt(max)) throw new TopologyParseError(`invalid ${what} '${t}'`, file, line);
  return v;
}

/** Read an ibnetdiscover topology file. Throws TopologyParseError naming the line of the first problem. */
export function readIbnetdiscover(text: string, opts: ReadTopologyOptions = {}): Fabric {
  const file = opts.file;
  const fail = (line: number, msg: string): never => {
    throw new TopologyParseError(msg, file, line);
  };
  const b = new FabricBuilder({ source: 'ibnetdiscover-file', ...(file ? { file } : {}) });
  const idToNode = new Map<string, { id: string; line: number }>();
  const ports: PendingPort[] = [];
  let pending: { vendid?: number; devid?: number; sysimgguid?: bigint; guid?: bigint; guidKind?: NodeType; portGuid?: bigint } = {};
  let current: { id: string; type: NodeType; numPorts: number } | undefined;
  const seenPort = new Map<string, number>();

  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const ln = i + 1;
    const line = lines[i]!.replace(/\r$/, '').trim();
    if (line === '') {
      current = undefined;
      continue;
    }
    if (line.startsWith('#')) {
      const m = /^#\s*Initiated from node ([0-9a-fA-F]{16}) port ([0-9a-fA-F]{16})/.exec(line);
      if (m) {
        b.meta.fromNode = BigInt('0x' + m[1]);
        b.meta.fromPort = BigInt('0x' + m[2]);
      }
      continue;
    }
    if (/^Chassis \d+/.test(line) || /^Hostname:/.test(line)) continue; // grouped (-g) output
    const set = SETTING.exec(line);
    if (set) {
      const key = set[1]!;
      const val = set[2]!.split('#')[0]!.trim();
      if (key === 'vendid') pending.vendid = Number(hex(val, 'vendid', file, ln, 24));
      else if (key === 'devid') pending.devid = Number(hex(val, 'devid', file, ln, 16));
      else if (key === 'sysimgguid') pending.sysimgguid = hex(val, 'sysimgguid', file, ln);
      else {
        const m = /^(0x[0-9a-fA-F]+)(?:\(([0-9a-fA-F]+)\))?$/.exec(val);
        if (!m) fail(ln, `invalid ${key} '${val}'`);
        pending.guid = hex(m![1]!, key, file, ln);
        if (m![2] !== undefined) pending.portGuid = hex(m![2], `${key} port GUID`, file, ln);
        pending.guidKind = key === 'switchguid' ? 'Switch' : key === 'rtguid' ? 'Router' : 'CA';
      }
      continue;
    }
    const h = HEADER.exec(line);
    if (h) {
      const type: NodeType = h[1] === 'Switch' ? 'Switch' : h[1] === 'Rt' ? 'Router' : 'CA';
      const numPorts = Number(h[2]);
      if (numPorts < 1 || numPorts > 254) fail(ln, `invalid number of ports ${numPorts}`);
      const fileId = h[3]!;
      if (idToNode.has(fileId)) fail(ln, `node "${fileId}" already declared at line ${idToNode.get(fileId)!.line}`);
      const idGuid = ID_GUID.exec(fileId);
      let guid = pending.guid;
      if (idGuid) {
        const g = BigInt('0x' + idGuid[1]);
        if (guid !== undefined && guid !== g) fail(ln, `node "${fileId}" does not match the GUID ${formatGuid(guid)} given before it`);
        guid = g;
      }
      if (guid === undefined) fail(ln, `no GUID for node "${fileId}" (expected an "S-/H-/R-<16 hex digits>" id or a switchguid=/caguid=/rtguid= line before it)`);
      if (pending.guidKind && pending.guidKind !== type) fail(ln, `${h[1]} declared after a ${pending.guidKind === 'Switch' ? 'switchguid' : pending.guidKind === 'Router' ? 'rtguid' : 'caguid'}= line`);
      const rest = h[4]!;
      let description = '';
      let lid: number | undefined;
      let lmc: number | undefined;
      let enhanced: boolean | undefined;
      if (rest !== '') {
        if (!rest.startsWith('#')) fail(ln, `unexpected text after the node id: '${rest}'`);
        const c = rest.slice(1).trim();
        if (type === 'Switch') {
          const m = /^"(.*)"\s+(enhanced|base)\s+port 0\s+lid\s+(\d+)\s+lmc\s+(\d+)/.exec(c) ?? /^"(.*)"\s*$/.exec(c);
          if (!m) fail(ln, `malformed switch comment '${c}' (expected "desc" enhanced|base port 0 lid N lmc M)`);
          description = m![1]!;
          if (m![2] !== undefined) {
            enhanced = m![2] === 'enhanced';
            lid = Number(m![3]);
            lmc = Number(m![4]);
            if (lid > 0xffff || lmc > 7) fail(ln, `invalid lid ${lid} / lmc ${lmc}`);
          }
        } else {
          const m = /^"(.*)"(\s*\(scp\))?\s*$/.exec(c);
          if (!m) fail(ln, `malformed node comment '${c}' (expected "desc")`);
          description = m![1]!;
        }
      }
      const id = b.addNode({
        type,
        guid: guid!,
        numPorts,
        description,
        ...(pending.sysimgguid !== undefined ? { systemImageGuid: pending.sysimgguid } : {}),
        ...(pending.vendid !== undefined ? { vendorId: pending.vendid } : {}),
        ...(pending.devid !== undefined ? { deviceId: pending.devid } : {}),
        ...(pending.portGuid !== undefined ? { portGuid: pending.portGuid } : {}),
        ...(enhanced !== undefined ? { switchInfo: { enhancedPort0: enhanced } } : {}),
        source: { ...(file ? { file } : {}), line: ln },
      });
      if (type === 'Switch') {
        b.setPort(id, 0, {
          ...(pending.portGuid !== undefined ? { guid: pending.portGuid } : {}),
          ...(lid !== undefined ? { lid } : {}),
          ...(lmc !== undefined ? { lmc } : {}),
        });
      }
      idToNode.set(fileId, { id, line: ln });
      current = { id, type, numPorts };
      pending = {};
      continue;
    }
    if (line.startsWith('[')) {
      if (!current) fail(ln, 'port line outside a node (no Switch/Ca/Rt line before it)');
      const m = PORT.exec(line);
      if (!m) fail(ln, `malformed port line '${line}'`);
      const port = Number(m![1]);
      if (port < 1 || port > current!.numPorts) fail(ln, `port ${port} out of range 1..${current!.numPorts}`);
      const key = `${current!.id}/${port}`;
      if (seenPort.has(key)) fail(ln, `port ${port} already declared at line ${seenPort.get(key)}`);
      seenPort.set(key, ln);
      const remotePort = Number(m![5]);
      if (remotePort < 1 || remotePort > 254) fail(ln, `invalid remote port ${remotePort}`);
      const comment = m![8]!.trim();
      let lid: number | undefined;
      let lmc: number | undefined;
      let width: ReturnType<typeof parseWidth>;
      let speed: ReturnType<typeof parseSpeed>;
      if (comment !== '') {
        if (!comment.startsWith('#')) fail(ln, `unexpected text '${comment}'`);
        const c = comment.slice(1).trim();
        const lm = /^lid\s+(\d+)\s+lmc\s+(\d+)\s+/.exec(c);
        const body = lm ? c.slice(lm[0].length) : c;
        if (lm) {
          lid = Number(lm[1]);
          lmc = Number(lm[2]);
          if (lid > 0xffff || lmc > 7) fail(ln, `invalid lid ${lid} / lmc ${lmc}`);
        }
        const r = /^"(.*)"\s+lid\s+(\d+)\s+(\d+x|\?\?)(\S+)/i.exec(body);
        if (!r) fail(ln, `malformed port comment '${c}' (expected [lid N lmc M] "desc" lid N <W>x<SPEED>)`);
        if (r![3] !== '??') {
          width = parseWidth(r![3]!.slice(0, -1));
          if (!width) fail(ln, `unknown link width '${r![3]}'`);
        }
        if (r![4] !== '???') {
          speed = parseSpeed(r![4]!);
          if (!speed) fail(ln, `unknown link speed '${r![4]}'`);
        }
      }
      if (current!.type === 'Switch' && lid !== undefined) fail(ln, 'switch port lines carry no "lid N lmc M" of their own');
      const localGuid = m![3] !== undefined ? hex(m![3], 'port GUID', file, ln) : undefined;
      b.setPort(current!.id, port, {
        ...(localGuid !== undefined ? { guid: localGuid } : {}),
        ...(lid !== undefined ? { lid } : {}),
        ...(lmc !== undefined ? { lmc } : {}),
        ...(m![2] !== undefined ? { extPortNum: Number(m![2]) } : {}),
        ...(width || speed ? { width: width ? { active: width } : {}, speed: speed ? { active: speed } : {} } : {}),
      });
      const pp: PendingPort = { line: ln, node: current!.id, port, remoteId: m![4]!, remotePort };
      if (m![7] !== undefined) pp.remotePortGuid = hex(m![7], 'remote port GUID', file, ln);
      ports.push(pp);
      continue;
    }
    fail(ln, `unrecognised line '${line}'`);
  }

  // Resolve links now that every node is known; both ends must agree.
  const declared = new Map<string, PendingPort>();
  for (const p of ports) declared.set(`${p.node}/${p.port}`, p);
  const fab = b.build();
  const byId = new Map(fab.nodes.map((n) => [n.id, n]));
  for (const p of ports) {
    if (!idToNode.has(p.remoteId)) fail(p.line, `link to "${p.remoteId}", which is not declared in the file`);
  }
  for (const p of ports) {
    const remote = idToNode.get(p.remoteId);
    const rnode = byId.get(remote!.id)!;
    if (p.remotePort > rnode.numPorts) fail(p.line, `"${p.remoteId}" has ${rnode.numPorts} ports, no port ${p.remotePort}`);
    const back = declared.get(`${remote!.id}/${p.remotePort}`);
    if (back) {
      const backTarget = idToNode.get(back.remoteId);
      if (!backTarget || backTarget.id !== p.node || back.remotePort !== p.port) {
        fail(p.line, `link to "${p.remoteId}"[${p.remotePort}] disagrees with line ${back.line}, where that port links to "${back.remoteId}"[${back.remotePort}]`);
      }
    }
    if (p.remotePortGuid !== undefined) {
      const rp = rnode.ports.find((x) => x.portNum === p.remotePort);
      if (rp?.guid !== undefined && rp.guid !== p.remotePortGuid) {
        fail(p.line, `remote port GUID ${formatGuid(p.remotePortGuid)} disagrees with ${formatGuid(rp.guid)} declared for "${p.remoteId}"[${p.remotePort}]`);
      }
      if (rp?.guid === undefined) b.setPort(remote!.id, p.remotePort, { guid: p.remotePortGuid });
    }
    b.addLink({ node: p.node, port: p.port }, { node: remote!.id, port: p.remotePort });
  }
  const out = b.build();
  if (opts.nodeNameMap) applyNodeNameMap(out, opts.nodeNameMap);
  return out;
}

// ---------------------------------------------------------------------------
// Writer

export interface WriteTopologyOptions {
  /** Use node-name-map names (node.name) where ibnetdiscover would (switch headers, remote names). Default true. */
  useNames?: boolean;
  /** Header date; default now. */
  date?: Date;
}

/** The id ibnetdiscover gives a node ("S-"/"H-"/"R-" + 16 hex digits); duplicates get "-2", "-3", ... */
export function topologyId(n: FabricNode): string {
  const prefix = n.type === 'Switch' ? 'S' : n.type === 'Router' ? 'R' : n.type === 'CA' ? 'H' : '?';
  const base = `${prefix}-${n.guid.toString(16).padStart(16, '0')}`;
  const dup = /#(\d+)$/.exec(n.id);
  return dup ? `${base}-${dup[1]}` : base;
}

function widthSpeed(p: FabricPort): string {
  const w = p.width.active ? p.width.active.toLowerCase() : '??';
  const s = p.speed.active ?? '???';
  return `${w}${s}`;
}

function clean(s: string): string {
  // The format cannot carry a newline inside a description.
  return s.replace(/[\r\n]/g, ' ');
}

/** Write the ibnetdiscover topology format (switches first, then CAs, then routers, as ibnetdiscover does). */
export function writeIbnetdiscover(fabric: Fabric, opts: WriteTopologyOptions = {}): string {
  const useNames = opts.useNames ?? true;
  // What every link line says about its remote end, computed once per node
  // (not once per line: a switch is the remote end of dozens of lines).
  interface NodeText {
    node: FabricNode;
    id: string;
    name: string;
    /** Ports by number. */
    ports: Array<FabricPort | undefined>;
  }
  const texts = new Map<string, NodeText>();
  for (const n of fabric.nodes) {
    const ports: Array<FabricPort | undefined> = [];
    for (const p of n.ports) ports[p.portNum] ??= p;
    texts.set(n.id, { node: n, id: topologyId(n), name: clean(useNames && n.name !== undefined ? n.name : n.description), ports });
  }
  const lidOf = (t: NodeText, port: number) => (t.node.type === 'Switch' ? t.ports[0]?.lid : t.ports[port]?.lid) ?? 0;
  const out: string[] = ['#', `# Topology file: generated by hpcnet on ${(opts.date ?? new Date()).toUTCString()}`, '#'];
  if (fabric.meta.fromNode !== undefined) {
    out.push(
      `# Initiated from node ${fabric.meta.fromNode.toString(16).padStart(16, '0')} port ${(fabric.meta.fromPort ?? 0n).toString(16).padStart(16, '0')}`,
    );
  }
  const order: NodeType[] = ['Switch', 'CA', 'Router'];
  for (const type of order) {
    for (const n of fabric.nodes) {
      if (n.type !== type) continue;
      const self = texts.get(n.id)!;
      out.push('');
      out.push(`vendid=0x${(n.vendorId ?? 0).toString(16)}`);
      out.push(`devid=0x${(n.deviceId ?? 0).toString(16)}`);
      if (n.systemImageGuid) out.push(`sysimgguid=${formatHex(n.systemImageGuid)}`);
      if (type === 'Switch') {
        const p0 = portGuidOf(n, 0) ?? n.guid;
        out.push(`switchguid=${formatHex(n.guid)}(${p0.toString(16)})`);
        const p0port = self.ports[0];
        const enh = n.switchInfo?.enhancedPort0 === false ? 'base' : 'enhanced';
        out.push(`Switch\t${n.numPorts} "${self.id}"\t\t# "${self.name}" ${enh} port 0 lid ${p0port?.lid ?? 0} lmc ${p0port?.lmc ?? 0}`);
      } else {
        out.push(`${type === 'Router' ? 'rt' : 'ca'}guid=${formatHex(n.guid)}`);
        out.push(`${type === 'Router' ? 'Rt' : 'Ca'}\t${n.numPorts} "${self.id}"\t\t# "${clean(n.description)}"`);
      }
      for (const p of n.ports) {
        if (p.portNum === 0 || !p.remote) continue;
        const r = texts.get(p.remote.node);
        if (!r) continue;
        const rp = r.ports[p.remote.port];
        const rGuid = r.node.type !== 'Switch' ? (rp?.guid ?? 0n) : undefined;
        const ext = p.extPortNum ? `[ext ${p.extPortNum}]` : '';
        const rext = rp?.extPortNum ? `[ext ${rp.extPortNum}]` : '';
        if (type === 'Switch') {
          out.push(
            `[${p.portNum}]${ext}\t"${r.id}"[${p.remote.port}]${rext}` +
              (rGuid !== undefined ? `(${rGuid.toString(16)}) ` : '') +
              `\t\t# "${r.name}" lid ${lidOf(r, p.remote.port)} ${widthSpeed(p)}`,
          );
        } else {
          out.push(
            `[${p.portNum}](${(p.guid ?? 0n).toString(16)}) \t"${r.id}"[${p.remote.port}]${rext}` +
              (rGuid !== undefined ? ` (${rGuid.toString(16)}) ` : '') +
              `\t\t# lid ${p.lid ?? 0} lmc ${p.lmc ?? 0} "${r.name}" lid ${lidOf(r, p.remote.port)} ${widthSpeed(p)}`,
          );
        }
      }
    }
  }
  return out.join('\n') + '\n';
}

function formatHex(v: bigint): string {
  return '0x' + v.toString(16);
}
