/** Forwarding tables of the whole fabric and their analysis (see README.md in this folder). */
export * from './model.js';
export * from './reader.js';
export * from './analysis.js';
export * from './formats.js';
export * from './write.js';
export { ROUTING_RULES, routingRequested } from './rules.js';
export * from './trace.js';
export * from './load.js';
export * from './walk.js';
