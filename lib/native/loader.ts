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

export interface NativeMadPort {
  send(
    mgmtClass: number,
    method: number,
    attrId: number,
    attrMod: number,
    lid: number,
    path: number[] | null,
    drSlid: number,
    data: Buffer | null,
    componentMask: bigint | null,
    timeoutMs: number,
    retries: number,
    dest: string,
  ): number;
  /**
   * Where completions go, a batch per call: `records` holds 6 numbers per
   * completion (id, outcome, attempts, errno, start, end); a reply MAD is
   * batch[start, end). Set once, before the first send.
   */
  onComplete(fn: (records: Uint32Array, batch: Buffer | undefined) => void): void;
  cancel(id: number): void;
  /** Stops sending and delivering at once (the caller fails its outstanding requests); resolves once in-flight MADs are answered or timed out and the fds are closed. */
  close(): Promise<void>;
  info(): { ca: string; port: number; baseLid: number; lmc: number; smLid: number; state: number; portGuid: bigint; window: number; perDestination: number };
  stats(): { sent: number; received: number; timeouts: number; retries: number; outstanding: number };
}

export interface IbNative {
  available: true;
  ibumadVersion: string;
  ibmadVersion: string;
  napiVersion: number;
  getCas(name?: string): Promise<RawCa[]>;
  openPort(ca: string | undefined, port: number, window: number, perDest: number): Promise<NativeMadPort>;
  /** libibmad field groups: [field enum, libibmad name, bit width]. */
  fieldGroups: Record<string, Array<[number, string, number]>>;
  decodeFields(buf: Buffer, offset: number, fields: number[]): Array<number | bigint | Buffer>;
  decodeFieldsInto(buf: Buffer, offset: number, fields: number[], out: Uint32Array): void;
  encodeFields(buf: Buffer, offset: number, fields: number[], values: Array<number | bigint>): void;
  dumpField(field: number, value: number | bigint | Buffer): string;
}

/** Sizes and field offsets of one struct as the addon was compiled (native/lnet/structs.h). */
export interface LnetStructLayout {
  size: number;
  fields: Record<string, number>;
}

/** The compiled LNet kernel ABI: ioctl numbers, header versions, struct layouts (common and per release). */
export interface LnetLayouts {
  ioctl: Record<string, number>;
  version1: number;
  version2: number;
  structs: Record<string, LnetStructLayout>;
  releases: Record<'master' | '2.16' | '2.15', Record<string, LnetStructLayout>>;
}

/** One reply of nlRequest: the request as sent and every reply message (whole netlink messages). */
export interface LnetNlExchange {
  request: Buffer;
  replies: Buffer[];
}

/** A module inserted by modLoad, as `modprobe -v` reports it. */
export interface LnetNativeInsertion {
  name: string;
  path: string;
  options: string;
  /** An install command ran instead of insmod. */
  install: boolean;
  /** That install command (modprobe.d), when install is true. */
  command?: string;
}

export interface LnetNativeModule {
  name: string;
  refcnt: number;
  size: number;
  /** KMOD_MODULE_BUILTIN 0, LIVE 1, COMING 2, GOING 3; negative errno when unknown. */
  initstate: number;
  holders: string[];
}

/** One open connection to the LNet kernel (native/lnet/handle.cc). Every method runs on the handle's own thread. */
export interface LnetNativeHandle {
  /** patches: [at, kind, value]: write a user pointer at `at`: kind 0 = arg+value, kind 1 = aux[value]. */
  /** Resolves with errno 0 on success or the kernel's errno (arg and aux as the kernel copied them back); rejects when /dev/lnet cannot be opened. */
  ioctl(op: string, cmd: number, arg: Buffer, patches?: [number, number, number][], aux?: Buffer[]): Promise<{ errno: number; arg: Buffer; aux: Buffer[] }>;
  nlRequest(family: number, cmd: number, version: number, flags: number, payload: Buffer, opts?: { group?: number; timeoutMs?: number }): Promise<LnetNlExchange>;
  nlPort(): Promise<number>;
  readFile(path: string): Promise<string>;
  writeFile(path: string, text: string): Promise<void>;
  listDir(path: string): Promise<string[]>;
  modLoad(name: string, options?: string, opts?: { dryRun?: boolean; ignoreCommands?: boolean }): Promise<LnetNativeInsertion[]>;
  modList(): Promise<LnetNativeModule[]>;
  modRemove(name: string): Promise<void>;
  close(): void;
}

export interface LnetNative {
  available: true;
  libnlVersion: string;
  layouts: LnetLayouts;
  LnetHandle: new () => LnetNativeHandle;
  /** The request exactly as libnl frames it (REQUEST|ACK added), with the given seq and port. */
  buildRequest(family: number, cmd: number, version: number, flags: number, payload: Buffer, seq: number, port: number): Buffer;
  /** The name the addon gives an errno (glibc strerrorname_np, or E<n>). */
  errnoName(n: number): string;
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
