/**
 * The native LNet backend: the LnetBackend contract over the kernel layer
 * (lib/lnet/kernel). Placeholder until that layer's public API lands: every
 * call rejects with BackendUnavailableError saying so.
 */
import { BackendUnavailableError } from '../errors.js';
import type { LnetBackend } from './backend.js';

function unavailable(): never {
  throw new BackendUnavailableError('the native LNet backend is not wired to the kernel layer (lib/lnet/kernel) yet');
}

export class NativeLnetBackend implements LnetBackend {
  readonly kind = 'native' as const;
  info = async () => unavailable();
  modules = async () => unavailable();
  loadModule = async () => unavailable();
  removeModule = async () => unavailable();
  readParam = async () => unavailable();
  writeParam = async () => unavailable();
  lustreDevices = async () => unavailable();
  configure = async () => unavailable();
  unconfigure = async () => unavailable();
  nets = async () => unavailable();
  addNi = async () => unavailable();
  delNi = async () => unavailable();
  routes = async () => unavailable();
  addRoute = async () => unavailable();
  delRoute = async () => unavailable();
  routing = async () => unavailable();
  setRouting = async () => unavailable();
  setBuffers = async () => unavailable();
  peers = async () => unavailable();
  peerList = async () => unavailable();
  addPeer = async () => unavailable();
  delPeer = async () => unavailable();
  ping = async () => unavailable();
  discover = async () => unavailable();
  stats = async () => unavailable();
  resetStats = async () => unavailable();
  getNumaRange = async () => unavailable();
  setNumaRange = async () => unavailable();
  lndTimeout = async () => unavailable();
  close = async () => undefined;
}
