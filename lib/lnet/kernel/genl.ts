/**
 * The generic-netlink transport (family "lnet", reference lnet.md 2): family
 * and multicast-group lookup through the controller, requests encoded as
 * lnetctl encodes its YAML (netlink.ts), the operation selected by
 * NLM_F_CREATE/EXCL/REPLACE/APPEND, show requests carrying the verbosity in
 * the version byte, dump replies decoded by their key tables, and kernel
 * errors (with extack text) as LnetError.
 */
import type { LnetNativeHandle } from '../../native/loader.js';
import { LnetError, LnetProtocolError } from './errors.js';
import {
  CTRL_CMD_GETFAMILY,
  DumpParser,
  GENL_ID_CTRL,
  LNET_CMD,
  LNET_GENL_NAME,
  LNET_GENL_VERSION,
  NLM_F,
  bodyToItems,
  checkReplies,
  encodeItems,
  familyRequest,
  parseFamily,
  type DumpObject,
  type DumpResult,
  type GenlFamily,
  type LnetCmdName,
  type NlMessage,
  type ReqItem,
  type YamlValue,
} from './netlink.js';

export interface NetlinkRequest {
  /** Version byte: LNET_GENL_VERSION for add/del/set, the verbosity (0-4) for show. Default LNET_GENL_VERSION. */
  version?: number;
  /** Request body as YAML-shaped data (the value of the top-level key), encoded as lnetctl does. */
  body?: YamlValue;
  /** Or the attribute items directly. */
  items?: ReqItem[];
  /** Multicast group to join first (lnetctl joins the group named by the top-level YAML key). */
  group?: string;
  timeoutMs?: number;
}

export interface NetlinkReply {
  /** The request exactly as sent (nlmsghdr + genlmsghdr + attributes). */
  request: Buffer;
  /** Data messages (status messages removed). */
  messages: NlMessage[];
  /** Decoded dump (empty when the reply carried no key table). */
  dump: DumpResult;
}

export interface NetAddSpec {
  net: string;
  /** One NI per interface (the kernel's netlink parser takes NIs by interface only). */
  interfaces?: string[];
  tunables?: Partial<Record<'peer_timeout' | 'peer_credits' | 'peer_buffer_credits' | 'credits', number>>;
  lndTunables?: Record<string, number>;
  cpts?: number[];
}

export class NetlinkTransport {
  private fam: GenlFamily | null | undefined;
  private famAt = 0;
  /** How long a family lookup is reused (modules loaded or removed by other processes show up after this). */
  static readonly FAMILY_TTL_MS = 1000;

  constructor(
    private readonly handle: () => LnetNativeHandle,
    private readonly defaultTimeoutMs = 30000,
  ) {}

  /** Forget the cached family (after modules were loaded or removed). */
  invalidate(): void {
    this.fam = undefined;
  }

  /**
   * The "lnet" family (id, version, ops, multicast groups) as the
   * controller reports it, or undefined when no such family exists (no
   * lnet.ko, or a 2.15 kernel). A lookup is reused for FAMILY_TTL_MS (the
   * id changes when lnet.ko is reloaded); `refresh` forces a new one.
   */
  async family(refresh = false): Promise<GenlFamily | undefined> {
    if (this.fam !== undefined && !refresh && Date.now() - this.famAt < NetlinkTransport.FAMILY_TTL_MS) return this.fam ?? undefined;
    const op = 'CTRL_CMD_GETFAMILY';
    let r;
    try {
      r = await this.handle().nlRequest(GENL_ID_CTRL, CTRL_CMD_GETFAMILY, 1, 0, familyRequest(LNET_GENL_NAME), { timeoutMs: this.defaultTimeoutMs });
    } catch (e) {
      throw LnetError.fromNative(e, op, 'netlink');
    }
    let msgs: NlMessage[];
    try {
      msgs = checkReplies(r.replies, op);
    } catch (e) {
      if (e instanceof LnetError && (e.code === 'ENOENT' || e.code === 'EOPNOTSUPP')) {
        this.fam = null;
        this.famAt = Date.now();
        return undefined;
      }
      throw e;
    }
    const m = msgs[0];
    if (!m) throw new LnetProtocolError(op, 'netlink', 'no family in the controller reply');
    this.fam = parseFamily(m, op);
    this.famAt = Date.now();
    return this.fam;
  }

  private async requireFamily(op: string): Promise<GenlFamily> {
    const f = await this.family();
    if (!f) {
      throw new LnetError({
        code: 'ENOENT',
        errno: 2,
        op,
        transport: 'netlink',
        message: `${op}: failed to resolve Netlink family id: no generic netlink family '${LNET_GENL_NAME}' (lnet module not loaded, or a 2.15 kernel)`,
      });
    }
    return f;
  }

  /** True when the family implements this command. */
  async has(cmd: LnetCmdName): Promise<boolean> {
    const f = await this.family();
    return !!f && f.ops.some((o) => o.id === LNET_CMD[cmd]);
  }

  /** Send one LNET_CMD_* request and collect the reply (dump decoded by its key tables). */
  async request(cmd: LnetCmdName, flags: number, req: NetlinkRequest = {}): Promise<NetlinkReply> {
    const op = `LNET_CMD_${cmd}`;
    const f = await this.requireFamily(op);
    const payload = encodeItems(req.items ?? bodyToItems(req.body));
    const group = req.group !== undefined ? f.groups[req.group] : undefined;
    let r;
    try {
      r = await this.handle().nlRequest(f.id, LNET_CMD[cmd], req.version ?? LNET_GENL_VERSION, flags, payload, {
        ...(group !== undefined ? { group } : {}),
        timeoutMs: req.timeoutMs ?? this.defaultTimeoutMs,
      });
    } catch (e) {
      throw LnetError.fromNative(e, op, 'netlink');
    }
    const messages = checkReplies(r.replies, op);
    const parser = new DumpParser(op);
    for (const m of messages) {
      if (m.type !== f.id) continue;
      parser.feed(m);
    }
    return { request: r.request, messages, dump: parser.result };
  }

  private async show(cmd: LnetCmdName, top: string, verbosity: number, body?: YamlValue, empty?: RegExp, group = top): Promise<DumpObject[]> {
    if (!Number.isInteger(verbosity) || verbosity < 0 || verbosity > 255) throw new RangeError('verbosity must be 0-255');
    try {
      const r = await this.request(cmd, NLM_F.DUMP, { version: verbosity, ...(body !== undefined ? { body } : {}), group });
      return r.dump[top] ?? [];
    } catch (e) {
      if (empty && e instanceof LnetError && e.kernelMessage && empty.test(e.kernelMessage)) return [];
      throw e;
    }
  }

  // --- LNET_CMD_CONFIGURE ------------------------------------------------------------------

  /** Bring LNet up: NLM_F_CREATE; without `all` also NLM_F_EXCL (skip module-parameter NIs); `large` adds NLM_F_APPEND. */
  async configure(o: { all: boolean; large?: boolean }): Promise<void> {
    const flags = NLM_F.CREATE | (o.all ? 0 : NLM_F.EXCL) | (o.large ? NLM_F.APPEND : 0);
    await this.request('CONFIGURE', flags);
  }

  /** Bring LNet down (no NLM_F_CREATE). EBUSY while Lustre holds it. */
  async unconfigure(): Promise<void> {
    await this.request('CONFIGURE', 0);
  }

  // --- LNET_CMD_NETS -----------------------------------------------------------------------

  /** `lnetctl net show [-v N] [--net X]`: items of the "net" dump. */
  netsShow(o: { verbosity?: number; net?: string } = {}): Promise<DumpObject[]> {
    return this.show('NETS', 'net', o.verbosity ?? 0, o.net !== undefined ? [{ 'net type': o.net }] : undefined);
  }

  /** `lnetctl net add`: NLM_F_CREATE. */
  async netAdd(s: NetAddSpec): Promise<void> {
    const nis: YamlValue[] = [];
    const extra = (): Record<string, YamlValue> => {
      const x: Record<string, YamlValue> = {};
      if (s.tunables && Object.keys(s.tunables).length) x['tunables'] = s.tunables as Record<string, number>;
      if (s.lndTunables && Object.keys(s.lndTunables).length) x['lnd tunables'] = s.lndTunables;
      if (s.cpts && s.cpts.length) x['CPT'] = s.cpts;
      return x;
    };
    for (const i of s.interfaces ?? []) nis.push({ interfaces: new Map([[0, i]]), ...extra() });
    const item: Record<string, YamlValue> = { 'net type': s.net };
    if (nis.length) item['local NI(s)'] = nis;
    await this.request('NETS', NLM_F.CREATE, { body: [item], group: 'net' });
  }

  /** `lnetctl net del --net X [--if Y]`: no flags. */
  async netDel(o: { net: string; interfaces?: string[] }): Promise<void> {
    const item: Record<string, YamlValue> = { 'net type': o.net };
    const nis: YamlValue[] = (o.interfaces ?? []).map((i) => ({ interfaces: new Map([[0, i]]) }));
    if (nis.length) item['local NI(s)'] = nis;
    await this.request('NETS', 0, { body: [item], group: 'net' });
  }

  // --- LNET_CMD_ROUTES ---------------------------------------------------------------------

  /** `lnetctl route show [-v]`: items of the "route" dump ([] for "No routes found"). */
  routesShow(o: { verbosity?: number } = {}): Promise<DumpObject[]> {
    return this.show('ROUTES', 'route', o.verbosity ?? 0, undefined, /^No routes found/);
  }

  async routeAdd(r: { net: string; gateway: string; hop?: number; priority?: number }): Promise<void> {
    const item: Record<string, YamlValue> = { net: r.net, gateway: r.gateway };
    if (r.hop !== undefined) item['hop'] = r.hop;
    if (r.priority !== undefined) item['priority'] = r.priority;
    await this.request('ROUTES', NLM_F.CREATE, { body: [item], group: 'route' });
  }

  /** `lnetctl route del --net X [--gateway Y]`: without a gateway, every route to the net. */
  async routeDel(r: { net: string; gateway?: string }): Promise<void> {
    const item: Record<string, YamlValue> = { net: r.net };
    if (r.gateway !== undefined) item['gateway'] = r.gateway;
    await this.request('ROUTES', 0, { body: [item], group: 'route' });
  }

  // --- LNET_CMD_PEERS ----------------------------------------------------------------------

  /** `lnetctl peer show [-v N] [--nid X]`: items of the "peer" dump ([] for "No peers found"). */
  peersShow(o: { verbosity?: number; nid?: string } = {}): Promise<DumpObject[]> {
    return this.show('PEERS', 'peer', o.verbosity ?? 0, o.nid !== undefined ? [{ 'primary nid': o.nid }] : undefined, /^No peers found/);
  }

  /** `lnetctl peer add`: NLM_F_CREATE, plus NLM_F_EXCL for --lock_prim. */
  async peerAdd(p: { primaryNid: string; nids?: string[]; multiRail?: boolean; lockPrim?: boolean }): Promise<void> {
    const item: Record<string, YamlValue> = { 'primary nid': p.primaryNid };
    if (p.multiRail === false) item['Multi-Rail'] = false;
    if (p.nids && p.nids.length) item['peer ni'] = p.nids.map((n) => ({ nid: n }));
    await this.request('PEERS', NLM_F.CREATE | (p.lockPrim ? NLM_F.EXCL : 0), { body: [item], group: 'peer' });
  }

  /** `lnetctl peer del`: no NLM_F_CREATE, NLM_F_EXCL for --force. */
  async peerDel(p: { primaryNid: string; nids?: string[]; force?: boolean }): Promise<void> {
    const item: Record<string, YamlValue> = { 'primary nid': p.primaryNid };
    if (p.nids && p.nids.length) item['peer ni'] = p.nids.map((n) => ({ nid: n }));
    await this.request('PEERS', p.force ? NLM_F.EXCL : 0, { body: [item], group: 'peer' });
  }

  // --- LNET_CMD_PING -----------------------------------------------------------------------

  /** `lnetctl ping`: a dump in group "ping". Items of "ping" (and per-NID failures under their own header). */
  async ping(o: { nids: string[]; timeoutMs?: number; source?: string }): Promise<DumpResult> {
    const body: Record<string, YamlValue> = {};
    if (o.timeoutMs !== undefined) body['timeout'] = o.timeoutMs;
    if (o.source !== undefined) body['source'] = o.source;
    body['nids'] = o.nids;
    const r = await this.request('PING', NLM_F.DUMP, { body, group: 'ping', timeoutMs: Math.max(this.defaultTimeoutMs, (o.timeoutMs ?? 1000) * o.nids.length + 5000) });
    return r.dump;
  }

  /** `lnetctl discover`: NLM_F_CREATE (plus NLM_F_EXCL with force) in group "discover". */
  async discover(o: { nids: string[]; force?: boolean }): Promise<DumpResult> {
    const r = await this.request('PING', NLM_F.CREATE | (o.force ? NLM_F.EXCL : 0), { body: { nids: o.nids }, group: 'discover' });
    return r.dump;
  }

  // --- master-only commands -------------------------------------------------------------

  /** LNET_CMD_STATS dump (master 2.17.56+). */
  async stats(): Promise<DumpObject[]> {
    return this.show('STATS', 'statistics', 0, undefined, undefined, 'stats');
  }
}
