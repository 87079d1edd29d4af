/**
 * Error classes shared by every part of hpcnet. Each failure kind has its own
 * class and a stable string `code`; native errors keep `errno` and the
 * operation (`op`) and are chained as `cause`.
 */
export class HpcnetError extends Error {
  readonly code: string;
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = new.target.name;
  }
}

/** A backend (native addon, simulator tool) cannot be used on this host. */
export class BackendUnavailableError extends HpcnetError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('ERR_BACKEND_UNAVAILABLE', message, options);
  }
}

/** A system call or library call failed in the addon. */
export class NativeCallError extends HpcnetError {
  readonly errno: number | undefined;
  readonly op: string | undefined;
  constructor(code: string, message: string, errno: number | undefined, op: string | undefined, cause?: unknown) {
    super(code, message, { cause });
    this.errno = errno;
    this.op = op;
  }
}

/** Bad input from the caller: nothing was sent or applied. */
export class InvalidArgumentError extends HpcnetError {
  constructor(message: string) {
    super('ERR_INVALID_ARGUMENT', message);
  }
}

/** Simulator management failed (start, attach, readiness, stop). */
export class SimulatorError extends HpcnetError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('ERR_SIMULATOR', message, options);
  }
}

interface RawNativeError {
  message?: unknown;
  code?: unknown;
  errno?: unknown;
  op?: unknown;
}

/** Wrap an error thrown or rejected by the addon, adding context to its message. */
export function fromNative(err: unknown, context?: string): HpcnetError {
  if (err instanceof HpcnetError) return err;
  const raw = (typeof err === 'object' && err !== null ? err : {}) as RawNativeError;
  const msg = typeof raw.message === 'string' ? raw.message : String(err);
  const code = typeof raw.code === 'string' ? raw.code : 'ERR_NATIVE';
  return new NativeCallError(
    code,
    context ? `${context}: ${msg}` : msg,
    typeof raw.errno === 'number' ? raw.errno : undefined,
    typeof raw.op === 'string' ? raw.op : undefined,
    err,
  );
}
