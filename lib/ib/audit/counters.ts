/**
 * Port counter facts: PortCounters field widths (IBA PortCounters attribute;
 * names as perfquery prints them) and the counters ibqueryerrors checks,
 * with its default threshold (0: any non-zero value is reported; the
 * shipped error_thresholds file only has commented examples).
 */

/** Bit width of each PortCounters field (PortCountersExtended fields are 64-bit). */
export const PORT_COUNTER_BITS: Record<string, number> = {
  SymbolErrorCounter: 16,
  LinkErrorRecoveryCounter: 8,
  LinkDownedCounter: 8,
  PortRcvErrors: 16,
  PortRcvRemotePhysicalErrors: 16,
  PortRcvSwitchRelayErrors: 16,
  PortXmitDiscards: 16,
  PortXmitConstraintErrors: 8,
  PortRcvConstraintErrors: 8,
  LocalLinkIntegrityErrors: 4,
  ExcessiveBufferOverrunErrors: 4,
  QP1Dropped: 16,
  VL15Dropped: 16,
  PortXmitData: 32,
  PortRcvData: 32,
  PortXmitPkts: 32,
  PortRcvPkts: 32,
  PortXmitWait: 32,
};

/** The counters ibqueryerrors compares with its thresholds (in its order). */
export const ERROR_COUNTERS = [
  'SymbolErrorCounter',
  'LinkErrorRecoveryCounter',
  'LinkDownedCounter',
  'PortRcvErrors',
  'PortRcvRemotePhysicalErrors',
  'PortRcvSwitchRelayErrors',
  'PortXmitDiscards',
  'PortXmitConstraintErrors',
  'PortRcvConstraintErrors',
  'LocalLinkIntegrityErrors',
  'ExcessiveBufferOverrunErrors',
  'VL15Dropped',
  'PortXmitWait',
] as const;

/** Congestion, not an error: reported as a warning by counter-threshold. */
export const CONGESTION_COUNTERS: ReadonlySet<string> = new Set(['PortXmitWait']);

export function defaultThresholds(): Record<string, bigint> {
  return Object.fromEntries(ERROR_COUNTERS.map((c) => [c, 0n]));
}

/** Maximum value of a counter: 2^bits - 1 (64-bit for extended counters and unknown names). */
export function counterMax(name: string, extended: boolean): bigint {
  const bits = extended ? 64 : (PORT_COUNTER_BITS[name] ?? 64);
  return (1n << BigInt(bits)) - 1n;
}
