/**
 * Malformed input never crashes the parsers: mutations of valid NIDs,
 * ranges, module parameters and lnet.conf documents either parse or fail
 * with the documented error classes (never a TypeError or RangeError).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseLnetConfig } from '../../lib/lnet/config.js';
import { LnetConfigError, LnetSyntaxError } from '../../lib/lnet/errors.js';
import { Nid, expandNidRange, parseProcessId } from '../../lib/lnet/nid.js';
import { parseIp2nets, parseNetworks, parseRoutes } from '../../lib/lnet/params.js';
import { fuzzing } from '../helpers/fuzz.js';


const ALPHABET = '0123456789abcdefxyz.@,:;()[]-/ *#\n\t\'"{}|!?' + 'tcpo2iblognikfi';

function mutate(s: string, r: () => number): string {
  let out = s;
  const n = 1 + Math.floor(r() * 4);
  for (let i = 0; i < n; i++) {
    const at = Math.floor(r() * (out.length + 1));
    const c = ALPHABET[Math.floor(r() * ALPHABET.length)]!;
    const op = r();
    if (op < 0.4) out = out.slice(0, at) + c + out.slice(at);
    else if (op < 0.7) out = out.slice(0, at) + out.slice(at + 1);
    else if (op < 0.9) out = out.slice(0, at) + c + out.slice(at + 1);
    else out = out.slice(0, at) + out.slice(at, at + 8).repeat(3) + out.slice(at + 8);
  }
  return out;
}

function fuzz(name: string, seeds: string[], fn: (s: string) => unknown, allowed: (e: unknown) => boolean, rounds = 1500): void {
  it(name, () =>
    fuzzing(0x5eed ^ name.length, ({ next: r }) => {
      let parsed = 0;
      for (let i = 0; i < rounds; i++) {
        const input = mutate(seeds[i % seeds.length]!, r);
        try {
          fn(input);
          parsed++;
        } catch (e) {
          assert.ok(allowed(e), `input ${JSON.stringify(input)} threw ${(e as Error)?.constructor?.name}: ${(e as Error)?.message}`);
        }
      }
      assert.ok(parsed > 0, 'some mutations still parse');
    }));
}

const syntax = (e: unknown): boolean => e instanceof LnetSyntaxError;

describe('parsers on malformed input', () => {
  fuzz('NIDs and process ids', ['192.168.1.1@tcp', '10.0.0.1@o2ib1', '0@lo', '5@gni', 'fd00::2@tcp', '12345-1.2.3.4@tcp'], (s) => parseProcessId(s), syntax);
  fuzz('NID ranges', ['192.168.0.[1-10]@tcp', '[22-25]@gni', '4.4.[1-2].[1-5/2,9]@o2ib'], (s) => expandNidRange(s), syntax);
  fuzz('networks=', ['tcp0(eth0[0,1],eth1)[2], o2ib0(ib0)', 'tcp', 'o2ib1(ib0)'], (s) => parseNetworks(s), syntax);
  fuzz('ip2nets=', ['tcp0(eth0) 192.168.0.[2,4]; tcp0 192.168.0.*; o2ib0 132.6.[1-3].[2-8/2]'], (s) => parseIp2nets(s), syntax);
  fuzz('routes=', ['o2ib1 2 192.168.0.[1-2]@tcp:3; tcp2 10.0.0.1@o2ib'], (s) => parseRoutes(s), syntax);
  fuzz(
    'lnet.conf documents',
    [
      'net:\n    - net type: tcp\n      local NI(s):\n        - interfaces:\n              0: eth0\n          CPT: "[0,1]"\nroute:\n    - net: tcp1\n      gateway: 10.0.0.[1-2]@tcp\n      hop: 2\npeer:\n    - primary nid: 1.2.3.4@tcp\n      Multi-Rail: True\n      peer ni:\n        - nid: 1.2.3.5@tcp\nglobal:\n    retry_count: 2\n',
    ],
    (s) => parseLnetConfig(s),
    (e) => e instanceof LnetConfigError,
    800,
  );
  it('a NID parsed from a mutation prints back to a NID that parses to the same value', () =>
    fuzzing(7, ({ next: r }) => {
      for (let i = 0; i < 2000; i++) {
        const s = mutate('10.20.30.40@o2ib12', r);
        let n: Nid;
        try {
          n = Nid.parse(s);
        } catch {
          continue;
        }
        assert.ok(Nid.parse(n.toString()).equals(n), `${s} -> ${n.toString()}`);
      }
    }));
});
