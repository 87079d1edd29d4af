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
}

function pad(n: number, total: number): string {
  return String(n).padStart(Math.max(2, String(total).length), '0');
}

function positiveInt(name: string, v: number, max: number): void {
  if (!Number.isInteger(v) || v < 1 || v > max) {
    throw new InvalidArgumentError(`fat-tree: --${name} must be a whole number from 1 to ${max}, got ${v}`);
  }
}

/**
 * A two-level leaf/spine fat tree. Hosts come first in the file, so a
 * simulator client attaches to the first host by default. Every link states
 * width and speed on both ends (ibsim requires the two ends to agree).
 */
export function generateFatTree(o: FatTreeOptions): string {
  positiveInt('leaves', o.leaves, 1024);
  positiveInt('spines', o.spines, 1024);
  positiveInt('hosts-per-leaf', o.hostsPerLeaf, 1024);
  const k = o.linksPerSpine ?? 1;
  positiveInt('links-per-spine', k, 64);
  const speed = o.speed ?? 'EDR';
  const width = o.width ?? '4x';
  if (!SPEEDS.includes(speed)) throw new InvalidArgumentError(`fat-tree: unknown speed '${speed}' (one of ${SPEEDS.join(', ')})`);
  if (!WIDTHS.includes(width)) throw new InvalidArgumentError(`fat-tree: unknown width '${width}' (one of ${WIDTHS.join(', ')})`);
  const nh = o.leaves * o.hostsPerLeaf;
  const leafPorts = o.hostsPerLeaf + o.spines * k;
  const spinePorts = o.leaves * k;
  if (leafPorts > 254 || spinePorts > 254) {
    throw new InvalidArgumentError(`fat-tree: switch radix ${Math.max(leafPorts, spinePorts)} exceeds 254 ports`);
  }
  const degraded = new Map<number, { width: Width; speed: Speed }>();
  for (const d of o.degraded ?? []) {
    positiveInt('degrade host', d.host, nh);
    degraded.set(d.host, { width: d.width ?? '1x', speed: d.speed ?? speed });
  }
  const hostId = (h: number) => `H-node${pad(h, nh)}`;
  const hostDesc = (h: number) => `node${pad(h, nh)} HCA-1`;
  const leafId = (l: number) => `S-leaf${pad(l, o.leaves)}`;
  const leafDesc = (l: number) => `leaf${pad(l, o.leaves)}`;
  const spineId = (s: number) => `S-spine${pad(s, o.spines)}`;
  const spineDesc = (s: number) => `spine${pad(s, o.spines)}`;
  const linkOf = (h: number) => degraded.get(h) ?? { width, speed };
  const out: string[] = [
    `# hpcnet fat tree: ${o.leaves} leaves, ${o.spines} spines, ${o.hostsPerLeaf} hosts per leaf, ` +
      `${k} link(s) per leaf-spine pair, ${width} ${speed}` +
      (degraded.size ? `; degraded: ${[...degraded].map(([h, d]) => `${hostDesc(h)} ${d.width} ${d.speed}`).join(', ')}` : ''),
    `# ${nh} hosts, ${o.leaves + o.spines} switches`,
    '',
  ];
  for (let h = 1; h <= nh; h++) {
    const l = Math.ceil(h / o.hostsPerLeaf);
    const lp = ((h - 1) % o.hostsPerLeaf) + 1;
    const lk = linkOf(h);
    out.push(
      `vendid=0x2c9`,
      `devid=0x1017`,
      `Hca 1 "${hostId(h)}" # "${hostDesc(h)}"`,
      `[1] "${leafId(l)}"[${lp}] # lid 0 lmc 0 "${leafDesc(l)}" lid 0 ${lk.width}${lk.speed}`,
      '',
    );
  }
  for (let l = 1; l <= o.leaves; l++) {
    out.push(`vendid=0x2c9`, `devid=0xd2f0`, `Switch ${leafPorts} "${leafId(l)}" # "${leafDesc(l)}" enhanced port 0 lid 0 lmc 0`);
    for (let p = 1; p <= o.hostsPerLeaf; p++) {
      const h = (l - 1) * o.hostsPerLeaf + p;
      const lk = linkOf(h);
      out.push(`[${p}] "${hostId(h)}"[1] # "${hostDesc(h)}" lid 0 ${lk.width}${lk.speed}`);
    }
    for (let s = 1; s <= o.spines; s++) {
      for (let j = 0; j < k; j++) {
        const p = o.hostsPerLeaf + (s - 1) * k + j + 1;
        const sp = (l - 1) * k + j + 1;
        out.push(`[${p}] "${spineId(s)}"[${sp}] # "${spineDesc(s)}" lid 0 ${width}${speed}`);
      }
    }
    out.push('');
  }
  for (let s = 1; s <= o.spines; s++) {
    out.push(`vendid=0x2c9`, `devid=0xd2f0`, `Switch ${spinePorts} "${spineId(s)}" # "${spineDesc(s)}" enhanced port 0 lid 0 lmc 0`);
    for (let l = 1; l <= o.leaves; l++) {
      for (let j = 0; j < k; j++) {
        const p = (l - 1) * k + j + 1;
        const lp = o.hostsPerLeaf + (s - 1) * k + j + 1;
        out.push(`[${p}] "${leafId(l)}"[${lp}] # "${leafDesc(l)}" lid 0 ${width}${speed}`);
      }
    }
    out.push('');
  }
  return out.join('\n');
}

/** The fabric that ships with hpcnet: 3 leaves, 2 spines, 12 hosts, node012's link degraded to 1x. */
export function defaultFabric(): string {
  return generateFatTree({ leaves: 3, spines: 2, hostsPerLeaf: 4, speed: 'EDR', width: '4x', degraded: [{ host: 12, width: '1x' }] });
}
