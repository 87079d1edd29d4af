/**
 * Worker thread of the exporter's live source: owns the port, runs
 * LivePortSource (live.ts) and, for `collect`, audits and renders the
 * collection here too, so only the rendered text (moved, not copied) goes
 * back to the exporter's thread. The last snapshot and report stay here
 * until asked for (`last`).
 */
import { parentPort, workerData } from 'node:worker_threads';
import type { AuditReport } from '../audit/types.js';
import type { CounterSample, FabricSnapshot } from '../topology/index.js';
import { LivePortSource, type LivePortSourceOptions } from './live.js';
import { collectionSummary, renderCollection, transferables, type ExporterAuditOptions } from './render.js';

type Msg =
  | { op: 'snapshot'; id: number; samples: number; intervalMs: number }
  | { op: 'collect'; id: number; samples: number; intervalMs: number; audit?: ExporterAuditOptions | false }
  | { op: 'last'; id: number }
  | { op: 'abort'; id: number; reason: string }
  | { op: 'close' };

const port = parentPort;
if (!port) throw new Error('live-worker.js must run in a worker thread');
const source = new LivePortSource(workerData as LivePortSourceOptions);
const running = new Map<number, AbortController>();
/** The audit options (sent once, then only when they change), the previous counter sample, the last collection. */
let audit: ExporterAuditOptions | false = false;
let prevSample: CounterSample | undefined;
let last: { snapshot: FabricSnapshot; report?: AuditReport } | undefined;

const fail = (id: number, e: unknown) => port.postMessage({ id, ok: false, error: e instanceof Error ? e.message : String(e), opens: source.opens });

port.on('message', (m: Msg) => {
  if (m.op === 'snapshot' || m.op === 'collect') {
    const ac = new AbortController();
    running.set(m.id, ac);
    const snap = source.snapshot({ samples: m.samples, intervalMs: m.intervalMs, signal: ac.signal });
    if (m.op === 'snapshot') {
      snap.then((s) => port.postMessage({ id: m.id, ok: true, snap: s, opens: source.opens }), (e: unknown) => fail(m.id, e)).finally(() => running.delete(m.id));
      return;
    }
    if (m.audit !== undefined) audit = m.audit;
    snap
      .then(async (s) => {
        const r = await renderCollection({ snapshot: s, audit, ...(prevSample ? { prevSample } : {}) });
        if (ac.signal.aborted) throw ac.signal.reason;
        prevSample = s.counters.at(-1) ?? prevSample;
        last = { snapshot: s, ...(r.report ? { report: r.report } : {}) };
        const rendered = { body: r.body, gzip: r.gzip, ...collectionSummary(s, r.report) };
        port.postMessage({ id: m.id, ok: true, rendered, opens: source.opens }, transferables(r));
      })
      .catch((e: unknown) => fail(m.id, e))
      .finally(() => running.delete(m.id));
  } else if (m.op === 'last') {
    port.postMessage({ id: m.id, ok: true, last });
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
