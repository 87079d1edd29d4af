/**
 * The hpcnet_ib addon's object boundary (issue 17 item 8): MadPort methods
 * check the receiver's type tag, so a MadPort method called on another
 * wrapped native object (here an LNet handle, wrapped by the other addon)
 * throws a TypeError (V8's receiver check, then the type tag) instead of
 * reading that object's memory as a MadPort; a MadPort
 * cannot be constructed from JavaScript.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { loadIbNative, loadLnetNative } from '../../lib/native/loader.js';

describe('hpcnet_ib native boundary', () => {
  it('MadPort methods refuse a receiver of another wrapped type', async () => {
    const ib = loadIbNative() as unknown as { MadPort: { prototype: Record<string, (...a: unknown[]) => unknown> } };
    const lnet = loadLnetNative();
    const other = new lnet.LnetHandle();
    try {
      for (const m of ['stats', 'info', 'cancel', 'close', 'send']) {
        assert.throws(() => ib.MadPort.prototype[m]!.call(other, 1), { name: 'TypeError' }, m);
      }
    } finally {
      await (other as unknown as { close(): Promise<void> }).close();
    }
  });

  it('MadPort cannot be constructed directly, not even with an External', () => {
    const ib = loadIbNative() as unknown as { MadPort: new (...a: unknown[]) => unknown };
    assert.throws(() => new ib.MadPort(), { name: 'TypeError', message: /use openPort/ });
    assert.throws(() => new ib.MadPort({}, 16, 2), { name: 'TypeError', message: /use openPort/ });
  });
});
