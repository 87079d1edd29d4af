/** Worker thread of the exporter's live source: owns the port and runs LivePortSource (live.ts) off the main thread. */
import { parentPort, workerData } from 'node:worker_threads';
import { LivePortSource, type LivePortSourceOptions } from './live.js';

type Msg = { op: 'snapshot'; id: number; samples: number; intervalMs: number } | { op: 'abort'; id: number; reason: string } | { op: 'close' };

const port = parentPort;
if (!port) throw new Error('live-worker.js must run in a worker thread');
const source = new LivePortSource(workerData as LivePortSourceOptions);
const running = new Map<number, AbortController>();
port.on('message', (m: Msg) => {
  if (m.op === 'snapshot') {
    const ac = new AbortController();
    running.set(m.id, ac);
    source.snapshot({ samples: m.samples, intervalMs: m.intervalMs, signal: ac.signal }).then(
      (snap) => port.postMessage({ id: m.id, ok: true, snap, opens: source.opens }),
      (e: unknown) => port.postMessage({ id: m.id, ok: false, error: e instanceof Error ? e.message : String(e), opens: source.opens }),
    ).finally(() => running.delete(m.id));
  } else if (m.op === 'abort') {
    running.get(m.id)?.abort(new Error(m.reason));
  } else {
    for (const ac of running.values()) ac.abort(new Error('exporter closing'));
    void source.close().finally(() => {
      port.postMessage({ closed: true });
      port.close();
    });
  }
});
