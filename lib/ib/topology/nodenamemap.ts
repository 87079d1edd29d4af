/**
 * The opensm node-name-map format (used by every infiniband-diags tool's
 * --node-name-map): one `<guid> "<name>"` per line, `#` comments, blank
 * lines. The GUID is a C integer literal (0x... hex, leading 0 octal, or
 * decimal); the name is the text up to the next `"` or `#` after optional
 * quotes. The first entry for a GUID wins, as in opensm's parser. Unlike
 * the C tools (which warn and ignore the whole map), a bad line is an error
 * naming the line.
 */
import { TopologyParseError, type Fabric } from './model.js';

export type NodeNameMap = Map<bigint, string>;

function parseCInteger(tok: string): bigint | undefined {
  if (/^0[xX][0-9a-fA-F]+$/.test(tok)) return BigInt(tok);
  if (/^0[0-7]*$/.test(tok)) return tok === '0' ? 0n : BigInt('0o' + tok.slice(1));
  if (/^[1-9][0-9]*$/.test(tok)) return BigInt(tok);
  return undefined;
}

export function parseNodeNameMap(text: string, file?: string): NodeNameMap {
  const map: NodeNameMap = new Map();
  text.split('\n').forEach((raw, i) => {
    const line = raw.replace(/\r$/, '');
    const t = line.trimStart();
    if (t === '' || t.startsWith('#')) return;
    const m = /^(\S+?)(?=\s|#|$)(.*)$/.exec(t);
    const guid = m ? parseCInteger(m[1]!) : undefined;
    if (guid === undefined || guid >= 1n << 64n) {
      throw new TopologyParseError(`expected '<guid> "<name>"', got '${line.trim()}'`, file, i + 1, 'ERR_NODE_NAME_MAP');
    }
    const rest = m![2]!.trimStart();
    const name = rest.replace(/^["#]+/, '').split(/["#]/)[0] ?? '';
    if (name === '') {
      throw new TopologyParseError(`no name after GUID ${m![1]}`, file, i + 1, 'ERR_NODE_NAME_MAP');
    }
    if (!map.has(guid)) map.set(guid, name);
  });
  return map;
}

/** Set `name` on every node whose node GUID is in the map (returns the same fabric). */
export function applyNodeNameMap(fabric: Fabric, map: NodeNameMap): Fabric {
  for (const n of fabric.nodes) {
    const name = map.get(n.guid);
    if (name !== undefined) n.name = name;
  }
  return fabric;
}
