/** Worker thread of the exporter: renders collections (render.ts) off the main thread. */
import { parentPort } from 'node:worker_threads';
import { renderCollection, transferables, type RenderRequest } from './render.js';

const port = parentPort;
if (!port) throw new Error('render-worker.js must run in a worker thread');
port.on('message', (msg: { id: number; req: RenderRequest }) => {
  renderCollection(msg.req).then(
    (r) => port.postMessage({ id: msg.id, ok: true, result: r }, transferables(r)),
    (e: unknown) => port.postMessage({ id: msg.id, ok: false, error: e instanceof Error ? e.message : String(e) }),
  );
});
