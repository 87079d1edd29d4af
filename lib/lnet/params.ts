/**
 * Parsers for the lnet.ko module-parameter syntaxes (reference lnet.md 3.4):
 * `networks=`, `ip2nets=` and `routes=`. Every error is an LnetSyntaxError
 * pointing at the offending character.
 */
import { LnetSyntaxError } from './errors.js';
import { NetId, Nid, parseNidRange, expandNidRange, parseRangeExpr, rangeExprMatches, type NidRange, type RangeExpr, _parseNetAt } from './nid.js';

export interface NetworkInterfaceSpec {
  name: string;
  /** CPTs bound to this interface, e.g. `eth0[0,1]`. */
  cpts?: number[];
}

/** One entry of `networks=`: `tcp1(eth0[0,1],eth1)[2]`. */
export interface NetworkSpec {
  net: NetId;
  interfaces: NetworkInterfaceSpec[];
  /** CPTs of the net, e.g. `[2]`. */
  cpts?: number[];
  /** Offset of the entry in the parsed text. */
  offset: number;
}

const IFNAMSIZ = 16;

function isWs(c: string | undefined): boolean {
  return c === ' ' || c === '\t' || c === '\n' || c === '\r';
}

function skipWs(s: string, p: number, end: number): number {
  while (p < end && isWs(s[p])) p++;
  return p;
}

function parseCpts(src: string, p: number, end: number, what: string): { cpts: number[]; next: number } {
  const close = src.indexOf(']', p);
  if (close < 0 || close >= end) throw new LnetSyntaxError(what, src, p, "unclosed '['");
  const e: RangeExpr = parseRangeExpr(src, p, close + 1, what, 255);
  const cpts: number[] = [];
  for (const r of e.ranges) for (let v = r.lo; v <= r.hi; v += r.stride) cpts.push(v);
  return { cpts, next: close + 1 };
}

/** Parse one `<net>[(<if>...)][<cpt>]` starting at p; returns the spec and the offset after it. */
function parseOneNetwork(src: string, p: number, end: number, what: string): { spec: NetworkSpec; next: number } {
  const start = p;
  while (p < end && !'([,:)];'.includes(src[p]!) && !isWs(src[p])) p++;
  if (p === start) {
    const c = src[p];
    throw new LnetSyntaxError(what, src, p, c === undefined || p >= end ? 'expected a net name' : `expected a net name, found '${c}'`);
  }
  const net = _parseNetAt(src, start, p, what);
  const spec: NetworkSpec = { net, interfaces: [], offset: start };
  p = skipWs(src, p, end);
  if (src[p] === '(' && p < end) {
    p++;
    for (;;) {
      p = skipWs(src, p, end);
      const ifStart = p;
      while (p < end && !'()[],:;'.includes(src[p]!) && !isWs(src[p])) p++;
      if (p === ifStart) throw new LnetSyntaxError(what, src, p, p >= end ? "missing ')'" : `expected an interface name, found '${src[p]}'`);
      const name = src.slice(ifStart, p);
      if (name.length >= IFNAMSIZ) throw new LnetSyntaxError(what, src, ifStart, `interface name '${name}' is longer than ${IFNAMSIZ - 1} characters`);
      const ifc: NetworkInterfaceSpec = { name };
      p = skipWs(src, p, end);
      if (src[p] === '[' && p < end) {
        const r = parseCpts(src, p, end, what);
        ifc.cpts = r.cpts;
        p = skipWs(src, r.next, end);
      }
      if (spec.interfaces.some((i) => i.name === name)) throw new LnetSyntaxError(what, src, ifStart, `interface '${name}' is listed twice`);
      spec.interfaces.push(ifc);
      if (p >= end) throw new LnetSyntaxError(what, src, p, "missing ')'");
      if (src[p] === ',') {
        p++;
        continue;
      }
      if (src[p] === ')') {
        p++;
        break;
      }
      throw new LnetSyntaxError(what, src, p, `unexpected '${src[p]}' in the interface list`);
    }
    p = skipWs(src, p, end);
  }
  if (src[p] === '[' && p < end) {
    const r = parseCpts(src, p, end, what);
    spec.cpts = r.cpts;
    p = skipWs(src, r.next, end);
  }
  return { spec, next: p };
}

/**
 * Parse `networks=` (e.g. `tcp0(eth1),o2ib0(ib0)` or `o2ib1(ib0[0,1])`).
 * A `lo` entry is ignored as the kernel does; a net given twice is an error.
 * An empty string gives an empty list (the kernel then uses `tcp`, see
 * effectiveNetworks).
 */
export function parseNetworks(src: string, what = 'networks'): NetworkSpec[] {
  const out: NetworkSpec[] = [];
  let p = skipWs(src, 0, src.length);
  if (p >= src.length) return out;
  for (;;) {
    const { spec, next } = parseOneNetwork(src, p, src.length, what);
    if (out.some((o) => o.net.equals(spec.net))) throw new LnetSyntaxError(what, src, spec.offset, `duplicate network specified: ${spec.net.toString()}`);
    if (!spec.net.isLo) out.push(spec);
    p = next;
    if (p >= src.length) break;
    if (src[p] !== ',') throw new LnetSyntaxError(what, src, p, `unexpected '${src[p]}' (entries are separated by ',')`);
    p = skipWs(src, p + 1, src.length);
    if (p >= src.length) throw new LnetSyntaxError(what, src, p, "expected a net after ','");
  }
  return out;
}

/** The networks the kernel brings up for a `networks=` value ("" means `tcp`). */
export function effectiveNetworks(src: string): NetworkSpec[] {
  const l = parseNetworks(src);
  return l.length > 0 ? l : [{ net: NetId.parse('tcp'), interfaces: [], offset: 0 }];
}

/** Format networks specs back to the module-parameter syntax. */
export function formatNetworks(specs: NetworkSpec[]): string {
  const cpt = (c?: number[]): string => (c && c.length ? `[${c.join(',')}]` : '');
  return specs
    .map((s) => `${s.net.toString()}${s.interfaces.length ? `(${s.interfaces.map((i) => i.name + cpt(i.cpts)).join(',')})` : ''}${cpt(s.cpts)}`)
    .join(',');
}

// ---------------------------------------------------------------------------

/** One `ip2nets=` rule: a net spec and the IP ranges it applies to. */
export interface Ip2NetsRule {
  network: NetworkSpec;
  /** Each range is four octet expressions (`*`, number, `[a-b/s,c]`). */
  ipRanges: RangeExpr[][];
  offset: number;
}

/** Parse `ip2nets=` (rules separated by `;` or newlines, `#` comments). */
export function parseIp2nets(src: string, what = 'ip2nets'): Ip2NetsRule[] {
  const rules: Ip2NetsRule[] = [];
  let p = 0;
  const n = src.length;
  while (p < n) {
    // One rule: up to ';', newline or '#'.
    let end = p;
    while (end < n && src[end] !== ';' && src[end] !== '\n' && src[end] !== '#') end++;
    const s = skipWs(src, p, end);
    if (s < end) {
      const { spec, next } = parseOneNetwork(src, s, end, what);
      if (spec.net.isLo) throw new LnetSyntaxError(what, src, s, "'lo' cannot be given in ip2nets");
      const ipRanges: RangeExpr[][] = [];
      let q = next;
      if (q < end && !isWs(src[q - 1]) && src[q] !== undefined) throw new LnetSyntaxError(what, src, q, `unexpected '${src[q]}' after the net`);
      for (;;) {
        q = skipWs(src, q, end);
        if (q >= end) break;
        let e = q;
        while (e < end && !isWs(src[e])) e++;
        const octets: [number, number][] = [];
        let from = q;
        let depth = 0;
        for (let i = q; i < e; i++) {
          if (src[i] === '[') depth++;
          else if (src[i] === ']') depth--;
          else if (src[i] === '.' && depth === 0) {
            octets.push([from, i]);
            from = i + 1;
          }
        }
        octets.push([from, e]);
        if (octets.length !== 4) throw new LnetSyntaxError(what, src, octets.length > 4 ? octets[4]![0] - 1 : e, 'an IP range needs four octet expressions');
        ipRanges.push(octets.map(([a, b]) => parseRangeExpr(src, a, b, what, 255, true)));
        q = e;
      }
      if (ipRanges.length === 0) throw new LnetSyntaxError(what, src, end, `rule for ${spec.net.toString()} has no IP range`);
      rules.push({ network: spec, ipRanges, offset: s });
    }
    if (end < n && src[end] === '#') {
      while (end < n && src[end] !== '\n') end++;
    }
    p = end + 1;
  }
  if (rules.length === 0) throw new LnetSyntaxError(what, src, 0, 'no rules');
  return rules;
}

function ipMatches(range: RangeExpr[], ip: string): boolean {
  const o = ip.split('.').map(Number);
  return o.length === 4 && range.every((r, i) => rangeExprMatches(r, o[i]!));
}

/**
 * The `networks=` value that ip2nets rules give for a node with these IPv4
 * addresses: the first matching rule per net wins.
 */
export function ip2netsToNetworks(rules: Ip2NetsRule[], ips: string[]): NetworkSpec[] {
  const out: NetworkSpec[] = [];
  for (const r of rules) {
    if (out.some((o) => o.net.equals(r.network.net))) continue;
    if (r.ipRanges.some((range) => ips.some((ip) => ipMatches(range, ip)))) out.push(r.network);
  }
  return out;
}

// ---------------------------------------------------------------------------

export interface RouteParamGateway {
  nid: Nid;
  priority: number;
}

/** One `routes=` entry: remote net, optional hops, gateways. */
export interface RouteParamEntry {
  net: NetId;
  /** 1-255, or -1 (LNET_UNDEFINED_HOPS) when not given. */
  hops: number;
  gateways: RouteParamGateway[];
  offset: number;
}

/** Parse `routes=` (`o2ib1 1 192.168.0.[1-2]@tcp:1; tcp2 10.0.0.1@o2ib`). */
export function parseRoutes(src: string, what = 'routes'): RouteParamEntry[] {
  const out: RouteParamEntry[] = [];
  let p = 0;
  const n = src.length;
  while (p <= n) {
    let end = p;
    while (end < n && src[end] !== ';' && src[end] !== '\n') end++;
    // tokens
    const toks: [number, number][] = [];
    let q = skipWs(src, p, end);
    while (q < end) {
      let e = q;
      while (e < end && !isWs(src[e])) e++;
      toks.push([q, e]);
      q = skipWs(src, e, end);
    }
    if (toks.length > 0) {
      const [ns, ne] = toks[0]!;
      const net = _parseNetAt(src, ns, ne, what);
      if (net.isLo) throw new LnetSyntaxError(what, src, ns, "'lo' cannot be a route target");
      let i = 1;
      let hops = -1;
      if (toks[1] && /^\d+$/.test(src.slice(toks[1][0], toks[1][1]))) {
        hops = Number(src.slice(toks[1][0], toks[1][1]));
        if (hops < 1 || hops > 255) throw new LnetSyntaxError(what, src, toks[1][0], `hops must be 1-255, got ${hops}`);
        i = 2;
      }
      if (i >= toks.length) throw new LnetSyntaxError(what, src, end, `route to ${net.toString()} has no gateway`);
      const gateways: RouteParamGateway[] = [];
      for (; i < toks.length; i++) {
        const [gs, ge] = toks[i]!;
        const tok = src.slice(gs, ge);
        let nidEnd = ge;
        let priority = 0;
        const colon = tok.lastIndexOf(':');
        if (colon >= 0 && !tok.slice(0, colon).includes(':')) {
          nidEnd = gs + colon;
          const pr = tok.slice(colon + 1);
          const bad = pr.search(/[^0-9]/);
          if (pr === '' || bad >= 0) throw new LnetSyntaxError(what, src, gs + colon + 1 + Math.max(bad, 0), 'priority must be a number');
          priority = Number(pr);
        }
        let range: NidRange;
        try {
          range = parseNidRange(src.slice(gs, nidEnd), what);
        } catch (e) {
          if (e instanceof LnetSyntaxError) throw new LnetSyntaxError(what, src, gs + e.position, e.reason);
          throw e;
        }
        if (range.net.equals(net)) throw new LnetSyntaxError(what, src, gs, `gateway ${src.slice(gs, nidEnd)} is on the target net ${net.toString()}`);
        for (const nid of expandNidRange(range, what)) gateways.push({ nid, priority });
      }
      out.push({ net, hops, gateways, offset: ns });
    }
    p = end + 1;
  }
  return out;
}
