/**
 * Closing a native LNet handle while a long job runs (an ioctl ping that
 * blocks in the kernel for its timeout) and another is queued behind it:
 * close() and the GC finalizer return at once (they never wait for the
 * running job), the queued job is rejected with ERR_CLOSED, and nothing
 * hangs. Run in a child process under the emulator, so a close() that
 * waited for the 60 s ping would show as that child missing the test's
 * (generous) hang guard.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { LnetEmulator } from '../../../lib/sim/lnet/index.js';
import { packageRoot } from '../../../lib/util/paths.js';

const root = packageRoot();

function driver(mode: 'close' | 'gc'): string {
  return `
    const { loadLnetNative } = await import(${JSON.stringify(root + '/dist/lib/native/loader.js')});
    const { openLnetKernel, IoctlTransport } = await import(${JSON.stringify(root + '/dist/lib/lnet/kernel/index.js')});
    const k = openLnetKernel();
    await k.modules.load('lnet');
    await k.configure({ all: false });
    await k.addNet({ net: 'tcp', interfaces: ['eth0'] });
    await k.close();
    let raw = new (loadLnetNative().LnetHandle)();
    const t = new IoctlTransport(() => raw, async () => '2.15');
    // Nobody owns 10.0.0.99@tcp: the ping blocks in the (emulated) kernel for its 60 s timeout.
    const ping = t.ping({ nid: '10.0.0.99@tcp', timeoutMs: 60000 }).then(() => 'resolved', (e) => e.code);
    await new Promise((r) => setTimeout(r, 500)); // the ping is on the handle's thread by now
    const queued = raw.readFile('/sys/module/lnet/parameters/networks').then(() => 'resolved', (e) => e.code);
    if (${JSON.stringify(mode)} === 'close') {
      raw.close();
      process.stdout.write('closed\\n');
    } else {
      raw = null;
      for (let i = 0; i < 5; i++) { globalThis.gc(); await new Promise((r) => setImmediate(r)); }
      process.stdout.write('collected\\n');
    }
    process.stdout.write('queued ' + (await queued) + '\\n');
    void ping;
    process.exit(0);`;
}

describe('closing a handle with a long job running and one queued', () => {
  let emu: LnetEmulator;
  before(async () => {
    emu = await LnetEmulator.start({ release: '2.15', hosts: ['c1=eth0:10.0.0.1', 'c2=eth0:10.0.0.2'] });
  });
  after(async () => {
    await emu?.stop();
  });

  for (const mode of ['close', 'gc'] as const) {
    it(`${mode === 'close' ? 'close()' : 'the GC finalizer'}: the queued job is rejected with ERR_CLOSED, the running ping is not waited for`, async () => {
      const args = [...(mode === 'gc' ? ['--expose-gc'] : []), '--input-type=module', '-e', driver(mode)];
      // Hang guard well under the ping's 60 s: a close() that joined the ping would miss it.
      const r = await emu.exec(mode === 'close' ? 'c1' : 'c2', process.execPath, args, { timeoutMs: 30_000 });
      assert.equal(r.signal, null, `the child hung (killed by the guard): ${r.stdout}${r.stderr}`);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, mode === 'close' ? /^closed$/m : /^collected$/m);
      assert.match(r.stdout, /^queued ERR_CLOSED$/m);
    });
  }
});
