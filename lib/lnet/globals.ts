/**
 * LNet global settings (`lnetctl global show` / `lnetctl set ...`): where
 * each one lives and the kernel's validation of a write (reference lnet.md
 * 1.7 "Global settings", 3.4). The same rules serve the facade (checked
 * before writing) and the emulator's kernel model (lib/sim/lnet/kernel.ts).
 */
import type { SettableGlobalKey } from './types.js';

export interface GlobalDef {
  key: SettableGlobalKey;
  /** Module parameter file under /sys/module/lnet/parameters, or 'ioctl' for numa_range. */
  param: string | 'ioctl';
  /** The parameter holds the inverse (discovery <-> lnet_peer_discovery_disabled). */
  inverted?: boolean;
  /** Validation of a new value given the current ones; returns why it is refused. */
  check: (v: number, cur: (k: SettableGlobalKey) => number) => string | undefined;
  deprecated?: boolean;
}

const U32 = 0xffffffff;
function uint(v: number): string | undefined {
  return Number.isInteger(v) && v >= 0 && v <= U32 ? undefined : 'must be a whole number >= 0';
}

export const GLOBAL_DEFS: GlobalDef[] = [
  { key: 'numa_range', param: 'ioctl', check: uint },
  { key: 'max_interfaces', param: 'lnet_interfaces_max', check: (v) => uint(v) ?? (v < 16 ? 'must be at least 16' : undefined) },
  { key: 'discovery', param: 'lnet_peer_discovery_disabled', inverted: true, check: (v) => (v === 0 || v === 1 ? undefined : 'must be 0 or 1') },
  { key: 'drop_asym_route', param: 'lnet_drop_asym_route', check: (v) => (v === 0 || v === 1 ? undefined : 'must be 0 or 1') },
  {
    key: 'retry_count',
    param: 'lnet_retry_count',
    check: (v, cur) =>
      uint(v) ??
      (v > cur('transaction_timeout')
        ? `must not exceed transaction_timeout (${cur('transaction_timeout')})`
        : v > 0 && cur('health_sensitivity') === 0
          ? 'must be 0 while health_sensitivity is 0'
          : undefined),
  },
  {
    key: 'transaction_timeout',
    param: 'lnet_transaction_timeout',
    check: (v, cur) => uint(v) ?? (v === 0 ? 'must be greater than 0' : v <= cur('retry_count') ? `must be greater than retry_count (${cur('retry_count')})` : undefined),
  },
  { key: 'health_sensitivity', param: 'lnet_health_sensitivity', check: (v) => uint(v) ?? (v > 1000 ? 'must be at most 1000' : undefined) },
  { key: 'recovery_interval', param: 'lnet_recovery_interval', deprecated: true, check: (v) => uint(v) ?? (v < 1 ? 'must be at least 1' : undefined) },
  { key: 'router_sensitivity', param: 'router_sensitivity_percentage', check: (v) => uint(v) ?? (v > 100 ? 'must be 0-100' : undefined) },
  { key: 'response_tracking', param: 'lnet_response_tracking', check: (v) => uint(v) ?? (v > 3 ? 'must be 0-3' : undefined) },
  { key: 'recovery_limit', param: 'lnet_recovery_limit', check: uint },
  { key: 'max_recovery_ping_interval', param: 'lnet_max_recovery_ping_interval', check: (v) => uint(v) ?? (v === 0 ? 'must be greater than 0' : undefined) },
];

/** Key aliases lnetctl accepts. */
export const GLOBAL_ALIASES: Record<string, SettableGlobalKey> = { max_intf: 'max_interfaces' };

export function globalDef(key: string): GlobalDef | undefined {
  const k = GLOBAL_ALIASES[key] ?? key;
  return GLOBAL_DEFS.find((d) => d.key === k);
}

/** The global key stored in a module parameter (for the emulated kernel's validator). */
export function globalForParam(param: string): GlobalDef | undefined {
  return GLOBAL_DEFS.find((d) => d.param === param);
}

/**
 * Order a set of changes so every intermediate state passes the kernel's
 * checks (e.g. raise transaction_timeout before retry_count). Returns the
 * order, or the first change that cannot be written with its reason.
 */
export function planGlobalWrites(
  current: Record<SettableGlobalKey, number>,
  changes: Partial<Record<SettableGlobalKey, number>>,
): { order: [SettableGlobalKey, number][] } | { error: { key: SettableGlobalKey; value: number; reason: string } } {
  const state = { ...current };
  const pending = Object.entries(changes) as [SettableGlobalKey, number][];
  const order: [SettableGlobalKey, number][] = [];
  while (pending.length > 0) {
    const i = pending.findIndex(([k, v]) => globalDef(k)!.check(v, (x) => state[x]) === undefined);
    if (i < 0) {
      const [k, v] = pending[0]!;
      // Report against the final state when it is the combination that is wrong.
      const final = { ...state, ...Object.fromEntries(pending) };
      const reason = globalDef(k)!.check(v, (x) => final[x]) ?? globalDef(k)!.check(v, (x) => state[x])!;
      return { error: { key: k, value: v, reason } };
    }
    const [k, v] = pending.splice(i, 1)[0]!;
    state[k] = v;
    order.push([k, v]);
  }
  return { order };
}
