/** Prometheus exporter for InfiniBand fabrics (public entry). */
export * from './source.js';
export * from './metrics.js';
export * from './exporter.js';
export * from './render.js';
export * from './live.js';
