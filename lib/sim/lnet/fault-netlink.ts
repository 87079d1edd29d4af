/**
 * LNET_CMD_FAULT (2.16+, `lnetctl fault ...`, and master lctl's net_drop_*
 * before its ioctl fallback) on the emulated kernel's fault rules (fault.ts).
 * Request: the writer's key/value tree; "rule_type" (INT, an LNET_CTL_*
 * operation) selects the operation, the rule's fields go by their lnetctl.h
 * names ("fa_src", "fa_dst", "fa_local_nid" as NID strings, "fa_ptl_mask",
 * "fa_msg_mask", "da_rate", "da_interval", "la_rate", "la_interval",
 * "la_latency", ... as integers). The *_LIST dump answers one message per rule
 * with the keys of enum lnet_fault_rule_attr (lib-types.h); DEL and RESET are
 * doit operations.
 */
import { E, kerr, type Host } from './kernel.js';
import { LNET_CTL, addRule, delRules, listRules, resetRules, type FaultAttr, type FaultKind, type FaultStat } from './fault.js';
import { NID_ANY, str2nid } from './nid.js';
import type { YNode } from './netlink.js';

/** Every scalar key/value pair of the request tree, depth first. */
function pairs(nodes: YNode[], out = new Map<string, YNode>()): Map<string, YNode> {
  for (let i = 0; i < nodes.length; i++) {
    const k = nodes[i]!;
    if (Array.isArray(k)) {
      pairs(k, out);
      continue;
    }
    const v = nodes[i + 1];
    if (typeof k === 'string' && v !== undefined && !Array.isArray(v)) {
      out.set(k.trim(), typeof v === 'string' ? v.trim() : v);
      i++;
    }
  }
  return out;
}

function nidOf(v: YNode | undefined, what: string): bigint {
  if (v === undefined) return 0n;
  if (typeof v !== 'string') kerr(E.EINVAL, `invalid ${what}`);
  const s = v as string;
  const m = /^\*@(.+)$/.exec(s);
  if (m) {
    const any = str2nid(`255.255.255.255@${m[1]}`);
    if (any === undefined) kerr(E.EINVAL, `invalid ${what}`);
    return any!;
  }
  if (s === '*' || s === '<?>') return NID_ANY;
  const n = str2nid(s);
  if (n === undefined) kerr(E.EINVAL, `invalid ${what}`);
  return n!;
}
const num = (v: YNode | undefined): number => (v === undefined ? 0 : typeof v === 'bigint' ? Number(v) : Number.parseInt(String(v), 0 || 10) || 0);

function parse(tree: YNode[]): { opc: number; kv: Map<string, YNode> } {
  const kv = pairs(tree);
  const t = kv.get('rule_type');
  if (t === undefined) kerr(E.EINVAL, 'invalid operation');
  if (typeof t !== 'bigint') kerr(E.EINVAL, 'Invalid type for attribute');
  return { opc: Number(t), kv };
}
const kindOf = (opc: number): FaultKind => (opc >= LNET_CTL.DELAY_ADD ? 'delay' : 'drop');

/** doit: ADD, DEL, RESET. */
export function faultDoit(h: Host, tree: YNode[]): void {
  if (!h.running()) kerr(E.ENETDOWN, 'Network is down');
  const { opc, kv } = parse(tree);
  const kind = kindOf(opc);
  switch (opc) {
    case LNET_CTL.DROP_ADD:
    case LNET_CTL.DELAY_ADD: {
      const p = kind === 'drop' ? 'da' : 'la';
      const attr: FaultAttr = {
        src: nidOf(kv.get('fa_src'), 'source NID'),
        dst: nidOf(kv.get('fa_dst'), 'destination NID'),
        localNid: kv.has('fa_local_nid') ? nidOf(kv.get('fa_local_nid'), 'local NID') : NID_ANY,
        ptlMask: BigInt(num(kv.get('fa_ptl_mask'))),
        msgMask: num(kv.get('fa_msg_mask')),
        rate: num(kv.get(`${p}_rate`)),
        interval: num(kv.get(`${p}_interval`)),
        healthErrorMask: num(kv.get('da_health_error_mask')),
        random: num(kv.get('da_random')) !== 0,
        dropAll: num(kv.get('da_drop_all')) !== 0,
        latency: num(kv.get('la_latency')),
      };
      if (!attr.src || !attr.dst) kerr(E.EINVAL, 'source and destination are required');
      addRule(h, kind, attr);
      return;
    }
    case LNET_CTL.DROP_DEL:
    case LNET_CTL.DELAY_DEL:
      delRules(h, kind, nidOf(kv.get('fa_src'), 'source NID'), nidOf(kv.get('fa_dst'), 'destination NID'));
      return;
    case LNET_CTL.DROP_RESET:
    case LNET_CTL.DELAY_RESET:
      resetRules(h, kind);
      return;
  }
  kerr(E.EINVAL, 'invalid operation');
}

/** dump: *_LIST; every rule of the kind with its statistics. */
export function faultList(h: Host, tree: YNode[]): { kind: FaultKind; rules: Array<{ attr: FaultAttr; stat: FaultStat }> } {
  if (!h.running()) kerr(E.ENETDOWN, 'Network is down');
  const { opc } = parse(tree);
  if (opc !== LNET_CTL.DROP_LIST && opc !== LNET_CTL.DELAY_LIST) kerr(E.EINVAL, 'invalid operation');
  const kind = kindOf(opc);
  return { kind, rules: listRules(h, kind) };
}
