/**
 * NID and net numbers as the emulated kernel handles them (reference 3.1/3.2):
 * lnet_nid_t = net << 32 | addr, net = lnd type << 16 | number. Parsing and
 * formatting are the library's (lib/lnet/nid.ts); this file only adapts them
 * to the numeric values the ioctl and netlink front ends carry.
 */
import { LND, NetId, Nid, lndModule } from '../../lnet/nid.js';

export { LND, lndModule };
export const NID_ANY = 0xffffffffffffffffn;
export const NET_ANY = 0xffffffff;
export const PID_ANY = 0xffffffff;
export const PID_LUSTRE = 12345;
export const NID_LO_0 = 0x0009_0000_0000_0000n;

export const mkNet = (type: number, num: number): number => ((type << 16) | num) >>> 0;
export const netType = (net: number): number => (net >>> 16) & 0xff;
export const mkNid = (net: number, addr: number): bigint => (BigInt(net >>> 0) << 32n) | BigInt(addr >>> 0);
export const nidNet = (nid: bigint): number => Number((nid >> 32n) & 0xffffffffn);
export const nidAddr = (nid: bigint): number => Number(nid & 0xffffffffn);

/** "tcp", "tcp1", "o2ib3", "lo"; undefined when not a valid net name. */
export function str2net(s: string): number | undefined {
  try {
    return NetId.parse(s.trim()).value >>> 0;
  } catch {
    return undefined;
  }
}

export const net2str = (net: number): string => NetId.fromValue(net).toString();

export function ip2num(ip: string): number | undefined {
  try {
    const n = Nid.parse(ip.trim());
    return n.isLarge ? undefined : n.addr4;
  } catch {
    return undefined;
  }
}

/** libcfs_str2nid for 4-byte NIDs; a NID without "@net" is @tcp; undefined when invalid or large. */
export function str2nid(s: string): bigint | undefined {
  const t = s.trim();
  if (t === '<?>') return NID_ANY;
  try {
    const n = Nid.parse(t);
    return n.isLarge ? undefined : n.toNid4();
  } catch {
    return undefined;
  }
}

export const nid2str = (nid: bigint): string => (nid === NID_ANY ? '<?>' : Nid.fromNid4(nid).toString());
