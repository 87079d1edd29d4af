/**
 * `node --import .../trace-imports.js`: appends every module URL the process
 * loads to the file named by HPCNET_TRACE_IMPORTS (one per line), to check
 * what a command loads.
 */
import { appendFileSync } from 'node:fs';
import { register } from 'node:module';

type Next = (specifier: string, context: unknown) => Promise<{ url: string }>;

export async function resolve(specifier: string, context: unknown, next: Next): Promise<{ url: string }> {
  const r = await next(specifier, context);
  const out = process.env['HPCNET_TRACE_IMPORTS'];
  if (out) appendFileSync(out, r.url + '\n');
  return r;
}

if (!process.env['HPCNET_TRACE_IMPORTS_HOOKED']) {
  process.env['HPCNET_TRACE_IMPORTS_HOOKED'] = '1';
  register(import.meta.url);
}
