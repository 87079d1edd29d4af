/**
 * The backend used when none is passed: the native one over the kernel layer
 * (which reaches the emulator when the process runs under
 * `hpcnet sim lnet exec`), unless replaced with setDefaultLnetBackend.
 */
import type { LnetBackend } from './backend.js';
import { LNet } from './facade.js';
import { NativeLnetBackend } from './native-backend.js';

let current: LnetBackend | undefined;

export function defaultLnetBackend(): LnetBackend {
  return (current ??= new NativeLnetBackend());
}

/** Replace the default backend (for example with a MockLnetBackend); returns the previous one. */
export function setDefaultLnetBackend(backend: LnetBackend): LnetBackend | undefined {
  const prev = current;
  current = backend;
  return prev;
}

/** An LNet facade on the given backend, or on the default one. */
export function openLnet(backend?: LnetBackend): LNet {
  return new LNet(backend ?? defaultLnetBackend());
}
