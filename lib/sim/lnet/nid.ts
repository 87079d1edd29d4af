/**
 * NID and net numbers as the emulated kernel handles them (reference 3.1/3.2):
 * lnet_nid_t = net << 32 | addr, net = lnd type << 16 | number.
 */
export const LND = { SOCKLND: 2, O2IBLND: 5, LOLND: 9, GNILND: 13, KFILND: 16, EFALND: 18 } as const;
export const NID_ANY = 0xffffffffffffffffn;
export const NET_ANY = 0xffffffff;
export const PID_ANY = 0xffffffff;
export const PID_LUSTRE = 12345;
export const NID_LO_0 = 0x0009_0000_0000_0000n;

const NET_NAMES: Array<[string, number]> = [
  ['tcp', LND.SOCKLND],
  ['o2ib', LND.O2IBLND],
  ['lo', LND.LOLND],
  ['gni', LND.GNILND],
  ['kfi', LND.KFILND],
  ['efa', LND.EFALND],
];

/** LND module loaded on demand for a net type (libcfs_lnd2modname). */
export function lndModule(type: number): string | undefined {
  return type === LND.SOCKLND ? 'ksocklnd' : type === LND.O2IBLND ? 'ko2iblnd' : undefined;
}

export const mkNet = (type: number, num: number): number => ((type << 16) | num) >>> 0;
export const netType = (net: number): number => (net >>> 16) & 0xff;
export const netNum = (net: number): number => net & 0xffff;
export const mkNid = (net: number, addr: number): bigint => (BigInt(net >>> 0) << 32n) | BigInt(addr >>> 0);
export const nidNet = (nid: bigint): number => Number((nid >> 32n) & 0xffffffffn);
export const nidAddr = (nid: bigint): number => Number(nid & 0xffffffffn);

/** "tcp", "tcp1", "o2ib3", "lo"; undefined when not a known net name. */
export function str2net(s: string): number | undefined {
  const t = s.trim();
  for (const [name, type] of NET_NAMES) {
    if (!t.startsWith(name)) continue;
    const rest = t.slice(name.length);
    if (rest === '') return mkNet(type, 0);
    if (!/^\d+$/.test(rest)) continue;
    const n = Number(rest);
    if (type === LND.LOLND || n > 0xffff) return undefined;
    return mkNet(type, n);
  }
  return undefined;
}

export function net2str(net: number): string {
  const type = netType(net);
  const num = netNum(net);
  const e = NET_NAMES.find(([, t]) => t === type);
  if (!e) return `<${type}:${num}>`;
  return num === 0 ? e[0] : `${e[0]}${num}`;
}

export function ip2num(ip: string): number | undefined {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(ip.trim());
  if (!m) return undefined;
  const p = m.slice(1).map(Number);
  if (p.some((x) => x > 255)) return undefined;
  return ((p[0]! << 24) | (p[1]! << 16) | (p[2]! << 8) | p[3]!) >>> 0;
}
export const num2ip = (n: number): string => [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');

/** libcfs_str2nid for 4-byte NIDs; a NID without "@net" is @tcp. */
export function str2nid(s: string): bigint | undefined {
  const t = s.trim();
  if (t === '<?>') return NID_ANY;
  const at = t.lastIndexOf('@');
  const addrS = at < 0 ? t : t.slice(0, at);
  const net = at < 0 ? mkNet(LND.SOCKLND, 0) : str2net(t.slice(at + 1));
  if (net === undefined) return undefined;
  const type = netType(net);
  if (type === LND.LOLND) return addrS === '0' ? mkNid(net, 0) : undefined;
  if (type === LND.SOCKLND || type === LND.O2IBLND || type === LND.EFALND) {
    const a = ip2num(addrS);
    return a === undefined ? undefined : mkNid(net, a);
  }
  if (!/^\d+$/.test(addrS)) return undefined;
  return mkNid(net, Number(addrS) >>> 0);
}

export function nid2str(nid: bigint): string {
  if (nid === NID_ANY) return '<?>';
  const net = nidNet(nid);
  const addr = nidAddr(nid);
  const type = netType(net);
  const a = type === LND.SOCKLND || type === LND.O2IBLND || type === LND.EFALND ? num2ip(addr) : String(addr);
  return `${a}@${net2str(net)}`;
}
