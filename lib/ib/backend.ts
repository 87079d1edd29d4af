/**
 * The InfiniBand backend interface (as serialport's bindings-interface): the
 * facades talk only to an IbBackend. The native backend wraps the addon; the
 * mock backend (mock-backend.ts) is an in-memory model for unit tests and
 * for developing scripts on hosts without the addon.
 *
 * Contract: every method returns a Promise and never blocks the caller's
 * thread; failures reject with an HpcnetError subclass (never a bare Error).
 */
import { fromNative } from '../errors.js';
import { loadIbNative } from '../native/loader.js';
import { caFromRaw } from './cas.js';
import type { CaInfo } from './types.js';

export interface IbBackend {
  readonly kind: 'native' | 'mock';
  /** All local CAs. Rejects with code ENODEV when there are none. */
  listCas(): Promise<CaInfo[]>;
  /** One CA by name. Rejects with code ENOENT when it does not exist. */
  getCa(name: string): Promise<CaInfo>;
}

/** The backend over the hpcnet_ib addon. Loading is deferred to the first call. */
export class NativeIbBackend implements IbBackend {
  readonly kind = 'native' as const;

  async listCas(): Promise<CaInfo[]> {
    const native = loadIbNative();
    try {
      return (await native.getCas()).map(caFromRaw);
    } catch (e) {
      throw fromNative(e, 'listing InfiniBand CAs');
    }
  }

  async getCa(name: string): Promise<CaInfo> {
    const native = loadIbNative();
    try {
      const [ca] = await native.getCas(name);
      return caFromRaw(ca!);
    } catch (e) {
      throw fromNative(e, `reading CA '${name}'`);
    }
  }
}

let current: IbBackend | undefined;

/** The backend used when a call does not pass one: native unless replaced. */
export function defaultIbBackend(): IbBackend {
  return (current ??= new NativeIbBackend());
}

/** Replace the default backend (for example with a MockIbBackend); returns the previous one. */
export function setDefaultIbBackend(backend: IbBackend): IbBackend | undefined {
  const prev = current;
  current = backend;
  return prev;
}
