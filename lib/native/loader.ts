/**
 * The only place that loads the native addons (with `bindings`). Each part
 * loads lazily on first live use, so the package imports on hosts where an
 * addon could not be built; live calls then fail with BackendUnavailableError
 * naming what is missing.
 */
import bindings from 'bindings';
import { BackendUnavailableError } from '../errors.js';
import { packageRoot } from '../util/paths.js';
import type { RawCa } from '../ib/types.js';


interface Unavailable {
  available: false;
  missing: string;
}

export interface IbNative {
  available: true;
  ibumadVersion: string;
  ibmadVersion: string;
  napiVersion: number;
  getCas(name?: string): Promise<RawCa[]>;
}

export interface LnetNative {
  available: true;
  libnlVersion: string;
  [op: string]: unknown;
}

const cache = new Map<string, unknown>();

function load<T extends { available: true }>(name: 'hpcnet_ib' | 'hpcnet_lnet', what: string): T {
  const hit = cache.get(name);
  if (hit instanceof Error) throw hit;
  if (hit) return hit as T;
  let mod: T | Unavailable;
  try {
    mod = bindings({ bindings: name, module_root: packageRoot() }) as T | Unavailable;
  } catch (cause) {
    const err = new BackendUnavailableError(
      `the ${what} addon (${name}.node) could not be loaded: ${(cause as Error).message.split('\n')[0]}. ` +
        `Build it with 'npm run build:native' (or ./scripts/setup).`,
      { cause },
    );
    cache.set(name, err);
    throw err;
  }
  if (!mod.available) {
    const err = new BackendUnavailableError(
      `the ${what} addon was built without its system libraries: ${mod.missing} were missing at build time. ` +
        `Install them, then rebuild with 'npm run build:native'.`,
    );
    cache.set(name, err);
    throw err;
  }
  cache.set(name, mod);
  return mod;
}

export function loadIbNative(): IbNative {
  return load<IbNative>('hpcnet_ib', 'InfiniBand');
}

export function loadLnetNative(): LnetNative {
  return load<LnetNative>('hpcnet_lnet', 'LNet');
}

export interface NativeVersions {
  ib: { ibumad: string; ibmad: string; napi: number } | { unavailable: string };
  lnet: { libnl: string } | { unavailable: string };
}

/** Versions of the libraries each addon was built against (for --version and diagnostics). */
export function nativeVersions(): NativeVersions {
  let ib: NativeVersions['ib'];
  let lnet: NativeVersions['lnet'];
  try {
    const m = loadIbNative();
    ib = { ibumad: m.ibumadVersion, ibmad: m.ibmadVersion, napi: m.napiVersion };
  } catch (e) {
    ib = { unavailable: (e as Error).message };
  }
  try {
    const m = loadLnetNative();
    lnet = { libnl: m.libnlVersion };
  } catch (e) {
    lnet = { unavailable: (e as Error).message };
  }
  return { ib, lnet };
}
