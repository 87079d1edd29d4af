/**
 * LNet fault injection, health/recovery and UDSP through /dev/lnet, as lctl
 * and lnetctl do it on every release (IOC_LIBCFS_LNET_FAULT with
 * lnet_fault_attr/lnet_fault_stat in the V1 inline buffers, SET_HEALHV,
 * GET_RECOVERY_QUEUE, ADD/DEL/GET_UDSP(_SIZE), GET_CONST_UDSP_INFO). Struct
 * layouts (x86_64) are those of lnetctl.h and lnet-dlc.h:
 *   lnet_fault_attr 104 bytes: fa_src@0 fa_dst@8 fa_local_nid@16 fa_ptl_mask@24
 *     fa_msg_mask@32 union@40 {drop: rate@40 interval@44 health_error_mask@48
 *     random@52 drop_all@53 | delay: rate@40 interval@44 latency@48};
 *   lnet_fault_stat 104 bytes: count@0 put@8 ack@16 get@24 reply@32 dropped|delayed@40;
 *   lnet_ioctl_reset_health_cfg 24: type@8 all(bit 0 of u16)@12 value(s16)@14 nid@16;
 *   lnet_ioctl_recovery_list 1040: type@8 count@12 nids[128]@16;
 *   lnet_ioctl_udsp 32: idx@8 action_type@12 bulk_size@16 priority@20 bulk*@24,
 *     then SRC/DST/RTE descriptors (16-byte header + range expressions);
 *   lnet_ioctl_construct_udsp_info 2080: peer@8 nid@16 net_prio@24 nid_prio@28.
 */
import { layouts, packV1 } from './abi.js';
import { LnetProtocolError } from './errors.js';
import { type IoctlTransport, type NidInput, nid4, nidString, untilEnoent } from './ioctl.js';

export const FAULT_OP = { DROP_ADD: 0, DROP_DEL: 1, DROP_RESET: 2, DROP_LIST: 3, DELAY_ADD: 4, DELAY_DEL: 5, DELAY_RESET: 6, DELAY_LIST: 7 } as const;
export const FAULT_MSG = { ack: 1, put: 2, get: 4, reply: 8 } as const;
export type FaultKind = 'drop' | 'delay';

export interface FaultRuleSpec {
  /** NID, `*` (any) or `*@net` */
  source: string;
  destination: string;
  localNid?: string;
  /** 1/rate of the matching messages (exclusive with interval) */
  rate?: number;
  /** seconds between hits (exclusive with rate) */
  interval?: number;
  /** delay rules: seconds */
  latency?: number;
  portals?: number[];
  messages?: Array<keyof typeof FAULT_MSG>;
  healthErrorMask?: number;
  random?: boolean;
  dropAll?: boolean;
}
export interface FaultRule {
  kind: FaultKind;
  source: string;
  destination: string;
  rate: number;
  interval: number;
  latency?: number;
  portalMask: string;
  messageMask: number;
  stats: { matched: number; hits: number; put: number; ack: number; get: number; reply: number };
}

const ATTR = 104;
const STAT = 104;

/** fault_attr_nid_parse(): `*@net` is the whole net (address 255.255.255.255), `*` any. */
export function faultNid(s: string): bigint {
  const t = s.trim();
  if (t === '*' || t === '<?>') return 0xffffffffffffffffn;
  const m = /^\*@(.+)$/.exec(t);
  if (m) return nid4(`255.255.255.255@${m[1]}`, 'fault rule NID');
  return nid4(t, 'fault rule NID');
}

function encodeAttr(kind: FaultKind, r: Partial<FaultRuleSpec>): Buffer {
  const b = Buffer.alloc(ATTR);
  if (r.source !== undefined) b.writeBigUInt64LE(faultNid(r.source), 0);
  if (r.destination !== undefined) b.writeBigUInt64LE(faultNid(r.destination), 8);
  b.writeBigUInt64LE(r.localNid ? faultNid(r.localNid) : 0xffffffffffffffffn, 16);
  b.writeBigUInt64LE((r.portals ?? []).reduce((m, p) => m | (1n << BigInt(p)), 0n), 24);
  b.writeUInt32LE((r.messages ?? []).reduce((m, x) => m | FAULT_MSG[x], 0), 32);
  b.writeUInt32LE(r.rate ?? 0, 40);
  b.writeUInt32LE(r.interval ?? 0, 44);
  if (kind === 'drop') {
    b.writeUInt32LE(r.healthErrorMask ?? 0, 48);
    b[52] = r.random ? 1 : 0;
    b[53] = r.dropAll ? 1 : 0;
  } else b.writeUInt32LE(r.latency ?? 0, 48);
  return b;
}

export class LnetFeaturesIoctl {
  constructor(private readonly io: () => IoctlTransport) {}

  private async fault(op: number, attr?: Buffer, stat?: Buffer, count?: number): Promise<Buffer> {
    const { arg, patches } = packV1({ flags: op, ...(count !== undefined ? { count } : {}) }, attr, stat);
    await this.io().raw('LNET_FAULT', arg, patches);
    return arg.buf;
  }
  /** net_drop_add / net_delay_add. */
  async faultAdd(kind: FaultKind, r: FaultRuleSpec): Promise<void> {
    await this.fault(kind === 'drop' ? FAULT_OP.DROP_ADD : FAULT_OP.DELAY_ADD, encodeAttr(kind, r));
  }
  /** net_*_del: the rules from source to destination (every rule of the kind without them); resolves with the number removed. */
  async faultDel(kind: FaultKind, r?: { source: string; destination: string }): Promise<number> {
    const buf = await this.fault(kind === 'drop' ? FAULT_OP.DROP_DEL : FAULT_OP.DELAY_DEL, r ? encodeAttr(kind, r) : Buffer.alloc(ATTR));
    return buf.readUInt32LE(28);
  }
  /** net_*_reset: zero the statistics of every rule of the kind. */
  async faultReset(kind: FaultKind): Promise<void> {
    await this.fault(kind === 'drop' ? FAULT_OP.DROP_RESET : FAULT_OP.DELAY_RESET);
  }
  /** net_*_list: index 0, 1, ... until ENOENT. */
  faultList(kind: FaultKind): Promise<FaultRule[]> {
    return untilEnoent(async (i) => {
      const buf = await this.fault(kind === 'drop' ? FAULT_OP.DROP_LIST : FAULT_OP.DELAY_LIST, Buffer.alloc(ATTR), Buffer.alloc(STAT), i);
      const a = 128;
      const s = 128 + ATTR;
      const u = (o: number) => Number(buf.readBigUInt64LE(o));
      return {
        kind,
        source: nidString(buf.readBigUInt64LE(a)),
        destination: nidString(buf.readBigUInt64LE(a + 8)),
        rate: buf.readUInt32LE(a + 40),
        interval: buf.readUInt32LE(a + 44),
        ...(kind === 'delay' ? { latency: buf.readUInt32LE(a + 48) } : {}),
        portalMask: `0x${buf.readBigUInt64LE(a + 24).toString(16)}`,
        messageMask: buf.readUInt32LE(a + 32),
        stats: { matched: u(s), put: u(s + 8), ack: u(s + 16), get: u(s + 24), reply: u(s + 32), hits: u(s + 40) },
      };
    });
  }

  /** `lnetctl net|peer set --health V --nid NID | --all`. */
  async setHealth(type: 'local' | 'peer', target: { nid: NidInput } | 'all', value: number): Promise<void> {
    const b = Buffer.alloc(24);
    b.writeUInt32LE(24, 0);
    b.writeUInt32LE(layouts().version2, 4);
    b.writeUInt32LE(type === 'peer' ? 1 : 0, 8);
    b.writeUInt16LE(target === 'all' ? 1 : 0, 12);
    b.writeInt16LE(value, 14);
    b.writeBigUInt64LE(target === 'all' ? 0xffffffffffffffffn : nid4(target.nid), 16);
    await this.io().raw('SET_HEALHV', b);
  }
  /** `lnetctl debug recovery --local|--peer`: NIDs on the recovery queue. */
  async recoveryQueue(type: 'local' | 'peer'): Promise<string[]> {
    const b = Buffer.alloc(1040);
    b.writeUInt32LE(1040, 0);
    b.writeUInt32LE(layouts().version2, 4);
    b.writeUInt32LE(type === 'peer' ? 1 : 0, 8);
    await this.io().raw('GET_RECOVERY_QUEUE', b);
    const n = Math.min(128, Math.max(0, b.readInt32LE(12)));
    return Array.from({ length: n }, (_, i) => nidString(b.readBigUInt64LE(16 + i * 8)));
  }

  /** IOC_LIBCFS_ADD_UDSP: `bulk` = the marshalled SRC/DST/RTE descriptors. */
  async udspAdd(idx: number, action: number, priority: number, bulk: Buffer): Promise<void> {
    const b = Buffer.alloc(32 + bulk.length);
    b.writeUInt32LE(b.length, 0);
    b.writeUInt32LE(layouts().version2, 4);
    b.writeInt32LE(idx, 8);
    b.writeUInt32LE(action, 12);
    b.writeUInt32LE(bulk.length, 16);
    b.writeUInt32LE(priority >>> 0, 20);
    bulk.copy(b, 32);
    await this.io().raw('ADD_UDSP', b, [[24, 0, 32]]);
  }
  /** IOC_LIBCFS_DEL_UDSP (-1: every rule). */
  async udspDel(idx: number): Promise<void> {
    const b = Buffer.alloc(32);
    b.writeUInt32LE(32, 0);
    b.writeUInt32LE(layouts().version2, 4);
    b.writeInt32LE(idx, 8);
    await this.io().raw('DEL_UDSP', b);
  }
  /** Every rule: GET_UDSP_SIZE then GET_UDSP per index until ENOENT (lustre_lnet_show_udsp). */
  udspList(): Promise<Array<{ idx: number; action: number; priority: number; bulk: Buffer }>> {
    return untilEnoent(async (i) => {
      const sz = Buffer.alloc(32);
      sz.writeUInt32LE(32, 0);
      sz.writeUInt32LE(layouts().version2, 4);
      sz.writeInt32LE(i, 8);
      await this.io().raw('GET_UDSP_SIZE', sz);
      const total = sz.readUInt32LE(8);
      if (total < 32 || total > 1 << 20) throw new LnetProtocolError('IOC_LIBCFS_GET_UDSP_SIZE', 'ioctl', `implausible size ${total}`);
      const hdr = Buffer.alloc(32);
      hdr.writeUInt32LE(32, 0);
      hdr.writeUInt32LE(layouts().version2, 4);
      hdr.writeInt32LE(i, 8);
      hdr.writeUInt32LE(total - 32, 16);
      const { aux } = await this.io().raw('GET_UDSP', hdr, [[24, 1, 0]], [Buffer.alloc(total - 32)]);
      return { idx: hdr.readInt32LE(8), action: hdr.readUInt32LE(12), priority: hdr.readUInt32LE(20), bulk: aux[0]! };
    });
  }
  /** GET_CONST_UDSP_INFO: the priorities the rules give a local NI (peer false) or a peer NI. */
  async udspInfo(nid: NidInput, peer: boolean): Promise<{ netPriority: number; nidPriority: number }> {
    const b = Buffer.alloc(2080);
    b.writeUInt32LE(2080, 0);
    b.writeUInt32LE(layouts().version2, 4);
    b.writeUInt32LE(peer ? 1 : 0, 8);
    b.writeBigUInt64LE(nid4(nid), 16);
    await this.io().raw('GET_CONST_UDSP_INFO', b);
    return { netPriority: b.readInt32LE(24), nidPriority: b.readInt32LE(28) };
  }
}
