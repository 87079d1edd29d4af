/**
 * Test client run under ibsim with the kernel-behaviour shim in front of
 * umad2sim (test/ib/shim/umad-kernel-shim.c). Reads a JSON job from argv[2],
 * prints a JSON result.
 */
import { openPort } from '../../../lib/ib/port.js';
import { toJsonValue } from '../../../lib/util/json.js';

type Job =
  | { op: 'one'; lid: number; timeoutMs: number; retries: number }
  | { op: 'limits'; lids: number[]; count: number; window: number; perDestination: number }
  | { op: 'throwing-callbacks'; lid: number; count: number }
  | { op: 'throwing-close'; lid: number; count: number };

const job = JSON.parse(process.argv[2]!) as Job;
const out = (v: unknown) => process.stdout.write(JSON.stringify(toJsonValue(v)) + '\n');
const NODE_INFO = { mgmtClass: 1, method: 1, attrId: 0x11 };

switch (job.op) {
  case 'one': {
    const port = await openPort();
    const t0 = performance.now();
    try {
      const r = await port.mad({ ...NODE_INFO, addr: { lid: job.lid }, timeoutMs: job.timeoutMs, retries: job.retries });
      out({ ok: true, attempts: r.attempts, status: r.status, ms: performance.now() - t0 });
    } catch (e) {
      const x = e as { code?: string; attempts?: number; message?: string };
      out({ ok: false, code: x.code, attempts: x.attempts, message: x.message, ms: performance.now() - t0 });
    }
    await port.close();
    break;
  }
  case 'limits': {
    const port = await openPort({ window: job.window, perDestination: job.perDestination });
    const res = await Promise.allSettled(Array.from({ length: job.count }, (_, i) => port.mad({ ...NODE_INFO, addr: { lid: job.lids[i % job.lids.length]! } })));
    out({ ok: res.filter((r) => r.status === 'fulfilled').length, stats: port.stats() });
    await port.close();
    break;
  }
  case 'throwing-callbacks': {
    // Every completion callback throws: each must still be called once, the
    // exceptions surface as uncaught exceptions, and the process exits by itself.
    const uncaught: string[] = [];
    process.on('uncaughtException', (e) => uncaught.push(e.message));
    const port = await openPort({ window: 64, perDestination: 64 });
    let called = 0;
    await new Promise<void>((resolve) => {
      for (let i = 0; i < job.count; i++) {
        port.submit({ ...NODE_INFO, addr: { lid: job.lid } }, () => {
          if (++called === job.count) setImmediate(resolve);
          throw new Error(`boom ${i}`);
        });
      }
    });
    await port.close();
    out({ called, uncaught: uncaught.length, outstanding: port.stats().outstanding });
    break;
  }
  case 'throwing-close': {
    // close() with requests outstanding whose callbacks throw: all are called, close rejects with the first exception.
    const port = await openPort();
    let called = 0;
    for (let i = 0; i < job.count; i++) {
      port.submit({ ...NODE_INFO, addr: { lid: job.lid }, timeoutMs: 60_000, retries: 0 }, () => {
        called++;
        throw new Error(`close boom ${i}`);
      });
    }
    let closeError: string | undefined;
    try {
      await port.close();
    } catch (e) {
      closeError = (e as Error).message;
    }
    out({ called, closeError });
    break;
  }
}
