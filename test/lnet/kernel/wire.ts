/**
 * The tests' own netlink codec, written from shared/reference/lnet.md 2.3
 * (not from the code under test, lib/lnet/kernel/netlink.ts): attributes,
 * nests, key tables as lnet_genl_send_scalar_list() sends them, whole
 * messages, error replies; and the reader the emulator's tests decode its
 * replies with (messages, attributes, key tables, dumps). The only netlink
 * codec under test/.
 */
export const F = { MULTI: 0x2, CREATE: 0x400, REPLACE: 0x100, ACK_TLVS: 0x200, CAPPED: 0x100 };

export function attr(type: number, data: Buffer): Buffer {
  const len = 4 + data.length;
  const h = Buffer.alloc(4);
  h.writeUInt16LE(len, 0);
  h.writeUInt16LE(type, 2);
  const pad = Buffer.alloc((4 - (len % 4)) % 4);
  return Buffer.concat([h, data, pad]);
}
export const nest = (type: number, ...children: Buffer[]): Buffer => attr(type | 0x8000, Buffer.concat(children));
export const str = (type: number, s: string): Buffer => attr(type, Buffer.from(s + '\0'));
export const u16 = (type: number, v: number): Buffer => {
  const b = Buffer.alloc(2);
  b.writeUInt16LE(v);
  return attr(type, b);
};
export const u32 = (type: number, v: number): Buffer => {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(v >>> 0);
  return attr(type, b);
};
export const s32 = (type: number, v: number): Buffer => {
  const b = Buffer.alloc(4);
  b.writeInt32LE(v);
  return attr(type, b);
};
export const s16 = (type: number, v: number): Buffer => {
  const b = Buffer.alloc(2);
  b.writeInt16LE(v);
  return attr(type, b);
};
export const u64 = (type: number, v: bigint): Buffer => {
  const b = Buffer.alloc(8);
  b.writeBigUInt64LE(v);
  return attr(type, b);
};

/** One key of a key table: [name, NLA type, key format, child keys for NESTED]. */
export type Key = [string, number, number?, Key[]?];

/** LN_SCALAR_ATTR_LIST (1) with nests 1..N: LIST_SIZE (2) in the first, INDEX (3), VALUE (5), KEY_FORMAT (7), NLA_TYPE (4), nested LIST. */
export function keyTable(keys: Key[]): Buffer {
  const children = keys.map(([name, type, fmt, child], i) => {
    const parts: Buffer[] = [];
    if (i === 0) parts.push(u16(2, keys.length));
    parts.push(u16(3, i + 1));
    if (name) parts.push(str(5, name));
    if (fmt) parts.push(u16(7, fmt));
    parts.push(u16(4, type));
    if (child) parts.push(keyTable(child));
    return nest(i + 1, ...parts);
  });
  return nest(1, ...children);
}

export function genlMsg(family: number, flags: number, cmd: number, version: number, attrs: Buffer, seq = 7, pid = 0): Buffer {
  const h = Buffer.alloc(20);
  h.writeUInt32LE(20 + attrs.length, 0);
  h.writeUInt16LE(family, 4);
  h.writeUInt16LE(flags, 6);
  h.writeUInt32LE(seq, 8);
  h.writeUInt32LE(pid, 12);
  h[16] = cmd;
  h[17] = version;
  return Buffer.concat([h, attrs]);
}

/** NLMSG_DONE, optionally carrying an error and an extack message. */
export function done(err = 0, msg?: string, seq = 7): Buffer {
  const tl = msg ? str(1, msg) : Buffer.alloc(0);
  const b = Buffer.alloc(20);
  b.writeUInt32LE(20 + tl.length, 0);
  b.writeUInt16LE(3, 4);
  b.writeUInt16LE(F.MULTI | (msg ? F.ACK_TLVS : 0), 6);
  b.writeUInt32LE(seq, 8);
  b.writeInt32LE(err, 16);
  return Buffer.concat([b, tl]);
}

/** NLMSG_ERROR for a request header `req` (capped: header only), with an extack message. */
export function nlError(err: number, req: Buffer, msg?: string, seq = 7): Buffer {
  const tl = msg ? str(1, msg) : Buffer.alloc(0);
  const b = Buffer.alloc(20);
  b.writeUInt32LE(20 + 16 + tl.length, 0);
  b.writeUInt16LE(2, 4);
  b.writeUInt16LE(F.CAPPED | (msg ? F.ACK_TLVS : 0), 6);
  b.writeUInt32LE(seq, 8);
  b.writeInt32LE(err, 16);
  return Buffer.concat([b, req.subarray(0, 16), tl]);
}

/** A tree view of request attributes for comparison with the reference: VALUE -> string, INT_VALUE -> bigint, LIST -> array. */
export type Tree = string | bigint | Tree[];
export function tree(buf: Buffer): Tree[] {
  const out: Tree[] = [];
  let off = 0;
  while (off + 4 <= buf.length) {
    const len = buf.readUInt16LE(off);
    const type = buf.readUInt16LE(off + 2);
    const data = buf.subarray(off + 4, off + len);
    if (type === 0x8001) out.push(tree(data));
    else if (type === 5) out.push(data.toString('utf8', 0, data.indexOf(0)));
    else if (type === 6) out.push(data.readBigInt64LE(0));
    else throw new Error(`unexpected attribute type ${type}`);
    off += (len + 3) & ~3;
  }
  return out;
}

// ------------------------------------------------------------------ reading replies (and userspace requests)
const a4 = (n: number) => (n + 3) & ~3;
export const s64 = (type: number, v: number) => {
  const b = Buffer.alloc(8);
  b.writeBigInt64LE(BigInt(v));
  return attr(type, b);
};
/** Userspace LIST nest as lnetctl writes it (type 0x8001). */
export const list = (...children: Buffer[]) => attr(0x8001, Buffer.concat(children));
export function nlRequest(type: number, flags: number, cmd: number, version: number, attrs: Buffer[] = [], seq = 1): Buffer {
  const payload = Buffer.concat([Buffer.from([cmd, version, 0, 0]), ...attrs]);
  const b = Buffer.alloc(16 + payload.length);
  b.writeUInt32LE(16 + payload.length, 0);
  b.writeUInt16LE(type, 4);
  b.writeUInt16LE(flags, 6);
  b.writeUInt32LE(seq, 8);
  payload.copy(b, 16);
  return b;
}

export interface NlMsg {
  type: number;
  flags: number;
  seq: number;
  pid: number;
  body: Buffer;
}
export function splitMsgs(dgram: Buffer): NlMsg[] {
  const out: NlMsg[] = [];
  let off = 0;
  while (off + 16 <= dgram.length) {
    const len = dgram.readUInt32LE(off);
    if (len < 16 || off + len > dgram.length) throw new Error(`malformed netlink message at ${off}`);
    out.push({ type: dgram.readUInt16LE(off + 4), flags: dgram.readUInt16LE(off + 6), seq: dgram.readUInt32LE(off + 8), pid: dgram.readUInt32LE(off + 12), body: dgram.subarray(off + 16, off + len) });
    off += a4(len);
  }
  return out;
}
export interface RawAttr {
  type: number;
  nested: boolean;
  data: Buffer;
}
export function attrs(b: Buffer): RawAttr[] {
  const out: RawAttr[] = [];
  let off = 0;
  while (off + 4 <= b.length) {
    const len = b.readUInt16LE(off);
    const t = b.readUInt16LE(off + 2);
    if (len < 4 || off + len > b.length) throw new Error('malformed attribute');
    out.push({ type: t & 0x3fff, nested: (t & 0x8000) !== 0, data: b.subarray(off + 4, off + len) });
    off += a4(len);
  }
  return out;
}
export const cstr = (d: Buffer) => d.subarray(0, d.indexOf(0) < 0 ? d.length : d.indexOf(0)).toString('latin1');

/** NLMSG_ERROR payload: errno, and the extack message if any. */
export function parseNlError(m: NlMsg): { errno: number; extack?: string } {
  const err = -m.body.readInt32LE(0) || 0;
  const origLen = m.flags & 0x100 ? 16 : m.body.readUInt32LE(4);
  const tlv = m.body.subarray(4 + a4(origLen));
  const msg = attrs(tlv).find((a) => a.type === 1);
  return { errno: err, ...(msg ? { extack: cstr(msg.data) } : {}) };
}

// ------------------------------------------------------------------ key tables (reference 2.3)
export interface KeyDef {
  name: string;
  type: number;
  format: number;
  children?: Map<number, KeyDef>;
}
/** A key table: LIST of nests 1..N, each {LIST_SIZE (first), INDEX, VALUE, KEY_FORMAT, NLA_TYPE, [LIST]}. */
export function parseKeyTable(listAttr: RawAttr): Map<number, KeyDef> {
  const table = new Map<number, KeyDef>();
  for (const key of attrs(listAttr.data)) {
    let index = 0;
    const def: KeyDef = { name: '', type: 0, format: 0 };
    for (const f of attrs(key.data)) {
      if (f.type === 3) index = f.data.readUInt16LE(0);
      else if (f.type === 5) def.name = cstr(f.data);
      else if (f.type === 7) def.format = f.data.readUInt16LE(0);
      else if (f.type === 4) def.type = f.data.readUInt16LE(0);
      else if (f.type === 1) def.children = parseKeyTable(f);
    }
    table.set(index, def);
  }
  return table;
}
export type Decoded = Record<string, unknown>;
export function decodeValues(as: RawAttr[], table: Map<number, KeyDef>): Decoded {
  const o: Decoded = {};
  for (const a of as) {
    const def = table.get(a.type);
    if (!def) throw new Error(`attribute ${a.type} not in the key table`);
    switch (def.type) {
      case 5:
      case 10:
        o[def.name] = cstr(a.data);
        break;
      case 2:
        o[def.name] = a.data.readUInt16LE(0);
        break;
      case 3:
        o[def.name] = a.data.readUInt32LE(0);
        break;
      case 4:
        o[def.name] = a.data.readBigUInt64LE(0);
        break;
      case 13:
        o[def.name] = a.data.readInt16LE(0);
        break;
      case 14:
        o[def.name] = a.data.readInt32LE(0);
        break;
      case 15:
        o[def.name] = a.data.readBigInt64LE(0);
        break;
      case 6:
        o[def.name] = true;
        break;
      case 8:
        o[def.name] = attrs(a.data).map((item) => decodeValues(attrs(item.data), def.children ?? new Map()));
        break;
      default:
        throw new Error(`unexpected NLA type ${def.type} for ${def.name}`);
    }
  }
  return o;
}

/** Decode a dump (all datagrams): key tables (with NLM_F_REPLACE updates) and value messages. */
export function decodeDump(dgrams: Buffer[]): { objects: Decoded[]; tables: number; replaced: number; done?: { errno: number; extack?: string }; error?: { errno: number; extack?: string } } {
  let table: Map<number, KeyDef> | undefined;
  const objects: Decoded[] = [];
  let tables = 0;
  let replaced = 0;
  const res: ReturnType<typeof decodeDump> = { objects, tables, replaced };
  for (const m of dgrams.flatMap(splitMsgs)) {
    if (m.type === 3) {
      const errno = m.body.length >= 4 ? -m.body.readInt32LE(0) || 0 : 0;
      const msg = attrs(m.body.subarray(4)).find((a) => a.type === 1);
      res.done = { errno, ...(msg ? { extack: cstr(msg.data) } : {}) };
      continue;
    }
    if (m.type === 2) {
      res.error = parseNlError(m);
      continue;
    }
    const as = attrs(m.body.subarray(4));
    if (m.flags & 0x400) {
      tables++;
      if (m.flags & 0x100) replaced++;
      table = parseKeyTable(as[0]!);
      continue;
    }
    if (!table) throw new Error('values before a key table');
    objects.push(decodeValues(as, table));
  }
  res.tables = tables;
  res.replaced = replaced;
  return res;
}
