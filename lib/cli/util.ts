/** Shared CLI plumbing: output, errors, exit codes. */
import { HpcnetError } from '../errors.js';

/** Exit codes: 0 ok, 1 the command ran and found problems (audit, diff), 2 the command itself failed. */
export const EXIT_OK = 0;
export const EXIT_FINDINGS = 1;
export const EXIT_FAILED = 2;

export function printJson(value: unknown): void {
  process.stdout.write(JSON.stringify(value, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v), 2) + '\n');
}

export function fail(err: unknown): never {
  const msg = err instanceof Error ? err.message : String(err);
  const code = err instanceof HpcnetError ? ` [${err.code}]` : '';
  process.stderr.write(`hpcnet: ${msg}${code}\n`);
  if (process.env['HPCNET_DEBUG'] && err instanceof Error) process.stderr.write((err.stack ?? '') + '\n');
  process.exit(EXIT_FAILED);
}

/** Wrap a command action: errors are printed once, with exit status 2. */
export function action<A extends unknown[]>(fn: (...args: A) => Promise<void> | void): (...args: A) => Promise<void> {
  return async (...args: A) => {
    try {
      await fn(...args);
    } catch (e) {
      fail(e);
    }
  };
}

export function parseIntOption(name: string) {
  return (v: string): number => {
    const n = Number(v);
    if (!Number.isInteger(n)) throw new HpcnetError('ERR_INVALID_ARGUMENT', `${name}: expected a whole number, got '${v}'`);
    return n;
  };
}
