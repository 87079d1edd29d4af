/**
 * Destination addresses for MADs, as the diag tools accept them:
 * - `{ lid }`: LID-routed, unicast LIDs 1..0xBFFF;
 * - `{ path }`: directed route from the local port, hops as port numbers
 *   (at most 63 hops; `[]` is the local node); the string form is the
 *   tools' "0,1,3" (the leading 0 is the local port);
 * - `{ lid, path }`: directed route starting at a LID-routed switch
 *   (DrSLID/DrDLID, as `smpquery -c`).
 */
import { BadAddressError } from './errors.js';

export type Address = { lid: number; path?: undefined } | { path: number[]; lid?: undefined } | { lid: number; path: number[] };

export const MAX_UNICAST_LID = 0xbfff;
export const MAX_DR_HOPS = 63;

export function checkLid(lid: unknown, what = 'LID'): number {
  if (typeof lid !== 'number' || !Number.isInteger(lid)) throw new BadAddressError(`${what} must be a whole number, got ${String(lid)}`);
  if (lid === 0) throw new BadAddressError(`${what} 0 is reserved (not assigned): use a directed route (-D) to reach an unconfigured port`);
  if (lid >= 0xc000 && lid <= 0xfffe) throw new BadAddressError(`${what} 0x${lid.toString(16)} is a multicast LID: MADs need a unicast LID (1..0xbfff)`);
  if (lid === 0xffff) throw new BadAddressError(`${what} 0xffff is the permissive LID: use a directed route (-D) instead`);
  if (lid < 1 || lid > MAX_UNICAST_LID) throw new BadAddressError(`${what} ${lid} is outside the unicast range 1..0xbfff`);
  return lid;
}

export function checkPath(path: unknown): number[] {
  if (!Array.isArray(path)) throw new BadAddressError('a directed route must be an array of port numbers');
  if (path.length > MAX_DR_HOPS) throw new BadAddressError(`a directed route has at most ${MAX_DR_HOPS} hops, got ${path.length}`);
  for (let i = 0; i < path.length; i++) {
    const p: unknown = path[i];
    if (typeof p !== 'number' || !Number.isInteger(p) || p < 0 || p > 255) {
      throw new BadAddressError(`directed route hop ${i + 1}: port number must be 0..255, got ${String(p)}`);
    }
  }
  return path as number[];
}

/** Validate an address object; throws BadAddressError saying what is wrong. */
export function checkAddress(addr: unknown): Address {
  if (typeof addr !== 'object' || addr === null) throw new BadAddressError(`an address must be { lid } or { path } or { lid, path }, got ${String(addr)}`);
  const a = addr as { lid?: unknown; path?: unknown };
  if (a.path !== undefined) {
    const path = checkPath(a.path);
    return a.lid !== undefined ? { lid: checkLid(a.lid, 'DR start LID'), path } : { path };
  }
  if (a.lid !== undefined) return { lid: checkLid(a.lid) };
  throw new BadAddressError('an address needs a lid or a path');
}

function parseNumber(s: string, what: string): number {
  const t = s.trim();
  if (!/^(0x[0-9a-f]+|\d+)$/i.test(t)) throw new BadAddressError(`${what}: '${s}' is not a number (decimal or 0x hex)`);
  return Number(t);
}

/**
 * Parse the diag tools' address strings: "5", "0x5" (LID), or with
 * directed=true "0,1,3" (route from the local port 0).
 */
export function parseAddress(text: string, opts: { directed?: boolean } = {}): Address {
  if (opts.directed) {
    const parts = text.split(',');
    if (parts.length === 0 || parts[0]!.trim() !== '0') {
      throw new BadAddressError(`directed route '${text}' must start at the local port 0, e.g. 0,1,3`);
    }
    const hops = parts.slice(1).map((p, i) => parseNumber(p, `directed route '${text}' hop ${i + 1}`));
    return { path: checkPath(hops) };
  }
  return { lid: checkLid(parseNumber(text, 'LID')) };
}

/** The address as the diag tools would write it. */
export function formatAddress(a: Address): string {
  const dr = a.path ? `DR path 0${a.path.map((p) => ',' + p).join('')}` : '';
  if (a.lid !== undefined && a.path) return `LID ${a.lid} then ${dr}`;
  return a.path ? dr : `LID ${a.lid}`;
}

/** The per-destination limit key: the node the MAD is aimed at. */
export function destinationKey(a: Address): string {
  return (a.lid !== undefined ? `L${a.lid}` : '') + (a.path ? `D${a.path.join(',')}` : '');
}
