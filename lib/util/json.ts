/**
 * Stable JSON forms: GUIDs (and other 64-bit identifiers: GID prefixes,
 * M_Keys) as "0x" + 16 hex digits, other 64-bit values (counters) as
 * decimal strings, byte arrays as hex, numbers as numbers.
 */
import { formatGuid } from './format.js';

const ID_KEY = /guid|prefix|mkey|key$/i;

export function toJsonValue(value: unknown, key = ''): unknown {
  if (typeof value === 'bigint') return ID_KEY.test(key) ? formatGuid(value) : value.toString();
  if (Buffer.isBuffer(value)) return value.toString('hex');
  if (Array.isArray(value)) return value.map((v) => toJsonValue(v, key));
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) if (v !== undefined) out[k] = toJsonValue(v, k);
    return out;
  }
  return value;
}
