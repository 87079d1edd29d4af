/**
 * ibsim net files: a summary reader (what the simulator manager needs: node
 * IDs, descriptions, sizes for ibsim's -N/-S/-P limits) and a fat-tree
 * generator. Format facts: ../shared/reference/infiniband.md section 5.4.
 */
import { InvalidArgumentError } from '../errors.js';

export interface NetNode {
  kind: 'Switch' | 'Hca' | 'Rt';
  ports: number;
  id: string;
  description?: string;
  line: number;
}

export interface NetSummary {
  nodes: NetNode[];
  switches: number;
  cas: number;
  ports: number;
}

const HEADER = /^(Switch|Hca|Ca|Rt)\s+(\d+)\s+"([^"]+)"(?:\s*#\s*"([^"]*)")?/;

/** Node headers of a net file (port lines and globals are not interpreted). */
export function summarizeNetFile(text: string): NetSummary {
  const nodes: NetNode[] = [];
  text.split('\n').forEach((raw, i) => {
    const m = HEADER.exec(raw.trim());
    if (!m) return;
    const kind = m[1] === 'Ca' ? 'Hca' : (m[1] as NetNode['kind']);
    const node: NetNode = { kind, ports: Number(m[2]), id: m[3]!, line: i + 1 };
    if (m[4] !== undefined) node.description = m[4];
    nodes.push(node);
  });
  return {
    nodes,
    switches: nodes.filter((n) => n.kind === 'Switch').length,
    cas: nodes.filter((n) => n.kind !== 'Switch').length,
    ports: nodes.reduce((s, n) => s + n.ports + 1, 0),
  };
}

/** ibsim's built-in limits (sim.h) and the flags that raise them. */
export function ibsimLimitArgs(s: NetSummary): string[] {
  const args: string[] = [];
  if (s.nodes.length > 1800) args.push('-N', String(Math.ceil((s.nodes.length * 1.25) / 1024) * 1024));
  if (s.switches > 200) args.push('-S', String(Math.ceil((s.switches * 1.25) / 64) * 64));
  if (s.ports > 12000) args.push('-P', String(Math.ceil((s.ports * 1.25) / 1024) * 1024));
  return args;
}

export const SPEEDS = ['SDR', 'DDR', 'QDR', 'FDR10', 'FDR', 'EDR', 'HDR', 'NDR'] as const;
export type Speed = (typeof SPEEDS)[number];
export const WIDTHS = ['1x', '4x', '8x', '12x'] as const;
export type Width = (typeof WIDTHS)[number];

export interface FatTreeOptions {
  leaves: number;
  spines: number;
  hostsPerLeaf: number;
  /** Parallel links between each leaf and each spine (default 1). */
  linksPerSpine?: number;
  speed?: Speed;
  width?: Width;
  /** Host links run at a lower width/speed than the rest: by host index (1-based). */
  degraded?: Array<{ host: number; width?: Width; speed?: Speed }>;
  /**
   * Three levels: this many core switches above the spines, every spine
   * cabled once to every core. Without it the tree has two levels.
   */
  cores?: number;
  /** With `cores`: leaves and spines split into this many pods (default 1); a pod's leaves connect to its spines only. */
  pods?: number;
  /**
   * Dual-rail hosts: each host's second rail is cabled to the next leaf
   * (the last leaf's hosts to the first leaf), through a second port of
   * the same HCA ('port') or a second HCA described "nodeNN HCA-2" ('hca').
   */
  dualRail?: 'port' | 'hca';
}

function pad(n: number, total: number): string {
  return String(n).padStart(Math.max(2, String(total).length), '0');
}

function positiveInt(name: string, v: number, max: number): void {
  if (!Number.isInteger(v) || v < 1 || v > max) {
    throw new InvalidArgumentError(`fat-tree: --${name} must be a whole number from 1 to ${max}, got ${v}`);
  }
}

interface GenNode {
  kind: 'Hca' | 'Switch';
  id: string;
  desc: string;
  numPorts: number;
  ports: Map<number, { peer: GenNode; port: number; width: Width; speed: Speed }>;
}

/**
 * A leaf/spine fat tree (two levels, or three with `cores`). Hosts come
 * first in the file, so a simulator client attaches to the first host by
 * default. Every link states width and speed on both ends (ibsim requires
 * the two ends to agree).
 */
export function generateFatTree(o: FatTreeOptions): string {
  positiveInt('leaves', o.leaves, 1024);
  positiveInt('spines', o.spines, 1024);
  positiveInt('hosts-per-leaf', o.hostsPerLeaf, 1024);
  const k = o.linksPerSpine ?? 1;
  positiveInt('links-per-spine', k, 64);
  const cores = o.cores ?? 0;
  if (o.cores !== undefined) positiveInt('cores', o.cores, 1024);
  const pods = o.pods ?? 1;
  positiveInt('pods', pods, 1024);
  if (pods > 1 && !cores) throw new InvalidArgumentError('fat-tree: --pods needs --cores (pods are joined by core switches)');
  if (o.leaves % pods || o.spines % pods) {
    throw new InvalidArgumentError(`fat-tree: ${o.leaves} leaves and ${o.spines} spines do not split into ${pods} equal pods`);
  }
  if (o.dualRail !== undefined && o.dualRail !== 'port' && o.dualRail !== 'hca') {
    throw new InvalidArgumentError(`fat-tree: dual rail must be 'port' or 'hca', got '${String(o.dualRail)}'`);
  }
  if (o.dualRail && o.leaves < 2) throw new InvalidArgumentError('fat-tree: dual-rail hosts need at least 2 leaves');
  const speed = o.speed ?? 'EDR';
  const width = o.width ?? '4x';
  if (!SPEEDS.includes(speed)) throw new InvalidArgumentError(`fat-tree: unknown speed '${speed}' (one of ${SPEEDS.join(', ')})`);
  if (!WIDTHS.includes(width)) throw new InvalidArgumentError(`fat-tree: unknown width '${width}' (one of ${WIDTHS.join(', ')})`);
  const nh = o.leaves * o.hostsPerLeaf;
  const leavesPerPod = o.leaves / pods;
  const spinesPerPod = o.spines / pods;
  const hostPorts = o.hostsPerLeaf * (o.dualRail ? 2 : 1);
  const leafPorts = hostPorts + spinesPerPod * k;
  const spinePorts = leavesPerPod * k + cores;
  const radix = Math.max(leafPorts, spinePorts, cores ? o.spines : 0);
  if (radix > 254) throw new InvalidArgumentError(`fat-tree: switch radix ${radix} exceeds 254 ports`);
  const degraded = new Map<number, { width: Width; speed: Speed }>();
  for (const d of o.degraded ?? []) {
    positiveInt('degrade host', d.host, nh);
    degraded.set(d.host, { width: d.width ?? '1x', speed: d.speed ?? speed });
  }
  const node = (kind: GenNode['kind'], id: string, desc: string, numPorts: number): GenNode => ({ kind, id, desc, numPorts, ports: new Map() });
  const link = (a: GenNode, pa: number, b: GenNode, pb: number, lk = { width, speed }) => {
    a.ports.set(pa, { peer: b, port: pb, ...lk });
    b.ports.set(pb, { peer: a, port: pa, ...lk });
  };
  const hostName = (h: number) => `node${pad(h, nh)}`;
  const leaves = Array.from({ length: o.leaves }, (_, i) => node('Switch', `S-leaf${pad(i + 1, o.leaves)}`, `leaf${pad(i + 1, o.leaves)}`, leafPorts));
  const spines = Array.from({ length: o.spines }, (_, i) => node('Switch', `S-spine${pad(i + 1, o.spines)}`, `spine${pad(i + 1, o.spines)}`, spinePorts));
  const coreNodes = Array.from({ length: cores }, (_, i) => node('Switch', `S-core${pad(i + 1, cores)}`, `core${pad(i + 1, cores)}`, o.spines));
  const hosts: GenNode[] = [];
  for (let h = 1; h <= nh; h++) {
    const l = Math.ceil(h / o.hostsPerLeaf) - 1;
    const lp = ((h - 1) % o.hostsPerLeaf) + 1;
    const first = node('Hca', `H-${hostName(h)}`, `${hostName(h)} HCA-1`, o.dualRail === 'port' ? 2 : 1);
    hosts.push(first);
    link(first, 1, leaves[l]!, lp, degraded.get(h) ?? { width, speed });
    if (!o.dualRail) continue;
    const second = o.dualRail === 'port' ? first : node('Hca', `H-${hostName(h)}-2`, `${hostName(h)} HCA-2`, 1);
    if (second !== first) hosts.push(second);
    link(second, o.dualRail === 'port' ? 2 : 1, leaves[(l + 1) % o.leaves]!, o.hostsPerLeaf + lp);
  }
  for (let l = 0; l < o.leaves; l++) {
    const pod = Math.floor(l / leavesPerPod);
    for (let s = 0; s < spinesPerPod; s++) {
      for (let j = 0; j < k; j++) link(leaves[l]!, hostPorts + s * k + j + 1, spines[pod * spinesPerPod + s]!, (l % leavesPerPod) * k + j + 1);
    }
  }
  for (let s = 0; s < o.spines; s++) {
    for (let c = 0; c < cores; c++) link(spines[s]!, leavesPerPod * k + c + 1, coreNodes[c]!, s + 1);
  }
  const extra = [
    ...(cores ? [`3 levels: ${cores} core(s), ${pods} pod(s)`] : []),
    ...(o.dualRail ? [`dual-rail hosts (${o.dualRail === 'port' ? 'second HCA port' : 'second HCA'} on the next leaf)`] : []),
  ];
  const out: string[] = [
    `# hpcnet fat tree: ${o.leaves} leaves, ${o.spines} spines, ${o.hostsPerLeaf} hosts per leaf, ` +
      `${k} link(s) per leaf-spine pair, ${width} ${speed}` +
      (degraded.size ? `; degraded: ${[...degraded].map(([h, d]) => `${hostName(h)} HCA-1 ${d.width} ${d.speed}`).join(', ')}` : '') +
      extra.map((e) => `; ${e}`).join(''),
    `# ${nh} hosts, ${o.leaves + o.spines + cores} switches`,
    '',
  ];
  for (const n of [...hosts, ...leaves, ...spines, ...coreNodes]) {
    out.push(
      'vendid=0x2c9',
      n.kind === 'Hca' ? 'devid=0x1017' : 'devid=0xd2f0',
      n.kind === 'Hca' ? `Hca ${n.numPorts} "${n.id}" # "${n.desc}"` : `Switch ${n.numPorts} "${n.id}" # "${n.desc}" enhanced port 0 lid 0 lmc 0`,
    );
    for (const [p, r] of [...n.ports].sort((a, b) => a[0] - b[0])) {
      out.push(
        n.kind === 'Hca'
          ? `[${p}] "${r.peer.id}"[${r.port}] # lid 0 lmc 0 "${r.peer.desc}" lid 0 ${r.width}${r.speed}`
          : `[${p}] "${r.peer.id}"[${r.port}] # "${r.peer.desc}" lid 0 ${r.width}${r.speed}`,
      );
    }
    out.push('');
  }
  return out.join('\n');
}

/** The fabric that ships with hpcnet: 3 leaves, 2 spines, 12 hosts, node012's link degraded to 1x. */
export function defaultFabric(): string {
  return generateFatTree({ leaves: 3, spines: 2, hostsPerLeaf: 4, speed: 'EDR', width: '4x', degraded: [{ host: 12, width: '1x' }] });
}
