/**
 * Child side of test/helpers/lnet-backends.ts: a NativeLnetBackend (the real
 * hpcnet_lnet addon) in a process running on an emulated host (under the LNet
 * emulator's LD_PRELOAD), answering backend calls sent over the IPC channel.
 *   request  { id, method, args, features? }   (features: a backend.features() operation)
 *   reply    { id, value } | { id, error: { cls, message, stack, props } }
 * Exits after closing the backend when the channel closes.
 */
import { NativeLnetBackend } from '../../lib/lnet/native-backend.js';

interface Request {
  id: number;
  method: string;
  args: unknown[];
  features?: boolean;
}

const backend = new NativeLnetBackend();

function serializeError(e: unknown): { cls: string; message: string; stack?: string; props: Record<string, unknown> } {
  if (!(e instanceof Error)) return { cls: 'Error', message: String(e), props: {} };
  const props: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(e)) if (k !== 'cause' && (v === null || ['string', 'number', 'boolean', 'bigint', 'undefined'].includes(typeof v) || Array.isArray(v))) props[k] = v;
  return { cls: e.constructor.name, message: e.message, ...(e.stack ? { stack: e.stack } : {}), props };
}

process.on('message', (m: Request) => {
  void (async () => {
    try {
      const target = (m.features ? backend.features() : backend) as unknown as Record<string, (...a: unknown[]) => Promise<unknown>>;
      const fn = target[m.method];
      if (typeof fn !== 'function') throw new TypeError(`no backend method '${m.method}'`);
      const value = await fn.apply(target, m.args);
      process.send!({ id: m.id, value });
    } catch (e) {
      process.send!({ id: m.id, error: serializeError(e) });
    }
  })();
});
process.on('disconnect', () => {
  void backend.close().finally(() => process.exit(0));
});
process.send!({ ready: true });
