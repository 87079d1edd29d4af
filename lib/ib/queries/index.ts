/** InfiniBand queries at diag-tool parity (issue 4): SMP tables, SA records, PMA counters, resolution. */
export * from './smp-tables.js';
export * from './pma.js';
export * from './sa.js';
export * from './saquery.js';
export * from './resolve.js';
export * from './portstate.js';
export { gidText, parseGid } from './common.js';
export * from './text.js';
