/**
 * Runs a plan of kernel-layer calls in a process started under the LNet
 * emulator (LnetEmulator.exec) and prints one JSON line per step as it
 * completes (so a hang shows where it happened):
 *   node emu-driver.js '<json plan>'
 * plan: [{ id, call: 'ioctl.addRoute' | 'configure' | ..., args: [...] }]
 * result: { id, ok: true, value } | { id, ok: false, error: { name, code, errno, op, kernelMessage, transport, syscall, message } }
 */
import { LnetError, openLnetKernel } from '../../../lib/lnet/kernel/index.js';

interface Step {
  id: string;
  call: string;
  args?: unknown[];
}

const plan = JSON.parse(process.argv[2] ?? '[]') as Step[];
// A reply that never comes fails the step (ETIMEDOUT) instead of hanging the driver.
const k = openLnetKernel({ netlinkTimeoutMs: 15_000 });
const emit = (x: unknown): void => {
  process.stdout.write(JSON.stringify(x, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v)) + '\n');
};
for (const s of plan) {
  const path = s.call.split('.');
  let target: unknown = k;
  for (const p of path.slice(0, -1)) target = (target as Record<string, unknown>)[p];
  const fn = (target as Record<string, unknown>)[path[path.length - 1]!] as ((...a: unknown[]) => Promise<unknown>) | undefined;
  try {
    if (typeof fn !== 'function') throw new Error(`no method ${s.call}`);
    const value = await fn.apply(target, s.args ?? []);
    emit({ id: s.id, ok: true, value, transport: k.lastTransport?.transport });
  } catch (e) {
    const err = e as LnetError;
    emit({
      id: s.id,
      ok: false,
      error: { name: err.name, code: err.code, errno: err.errno, op: err.op, kernelMessage: err.kernelMessage, transport: err.transport, syscall: err.syscall, message: err.message, isLnetError: e instanceof LnetError },
    });
  }
}
await k.close();
