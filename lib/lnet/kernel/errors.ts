/**
 * Errors of the LNet kernel layer. A refusal by the kernel (or the emulator)
 * is an LnetError: `code` is the errno name (ENETDOWN, EEXIST, E2BIG, ...),
 * `errno` its number, `op` the operation (an IOC_LIBCFS_* name, an
 * LNET_CMD_* name, a libkmod call or a file path), `kernelMessage` the
 * kernel's own text when it sent one (netlink extack), and `transport` the
 * path used. A reply the layer cannot decode is an LnetProtocolError.
 */
import { NativeCallError } from '../../errors.js';
import { errnoName } from '../../errno.js';

/** The path a call took; 'facade' for refusals the facade reports for the kernel (LnetKernelError). */
export type KernelTransport = 'ioctl' | 'netlink' | 'sysfs' | 'kmod' | 'facade';

export { errnoName };

export class LnetError extends NativeCallError {
  /** The kernel's message (netlink extack), when it sent one. */
  readonly kernelMessage: string | undefined;
  readonly transport: KernelTransport;
  /** The system or library call that failed when it is not the operation itself (e.g. 'open' of /dev/lnet, 'nl_connect'). */
  readonly syscall: string | undefined;
  constructor(
    init: { code: string; errno?: number; op: string; transport: KernelTransport; message: string; kernelMessage?: string; syscall?: string },
    cause?: unknown,
  ) {
    super(init.code, init.message, init.errno, init.op, cause);
    this.kernelMessage = init.kernelMessage;
    this.transport = init.transport;
    this.syscall = init.syscall;
  }

  /** A refusal by the kernel for the operation itself (not a failure to reach the kernel, e.g. a missing /dev/lnet). */
  get isKernelRefusal(): boolean {
    return this.syscall === undefined;
  }

  /** From a negative errno the kernel returned (netlink reply, or an ioctl's -1/errno). */
  static fromKernel(err: number, op: string, transport: KernelTransport, kernelMessage?: string): LnetError {
    const code = errnoName(err);
    const text = kernelMessage && kernelMessage.length > 0 ? kernelMessage : strerrorText(Math.abs(err));
    return new LnetError({ code, errno: Math.abs(err), op, transport, message: `${op}: ${text} (${code})`, ...(kernelMessage ? { kernelMessage } : {}) });
  }

  /** From an error rejected by the addon ({ code, errno, op, message }). */
  static fromNative(err: unknown, op: string, transport: KernelTransport): LnetError {
    if (err instanceof LnetError) return err;
    const raw = (typeof err === 'object' && err !== null ? err : {}) as { code?: unknown; errno?: unknown; message?: unknown; op?: unknown };
    const errno = typeof raw.errno === 'number' ? raw.errno : undefined;
    // An errno is named by the project's table (the addon's glibc names agree; aliases are normalised).
    const code = errno !== undefined && errno > 0 ? errnoName(errno) : typeof raw.code === 'string' ? raw.code : 'ERR_NATIVE';
    const msg = typeof raw.message === 'string' ? raw.message : String(err);
    const syscall = typeof raw.op === 'string' && raw.op !== op ? raw.op : undefined;
    return new LnetError(
      { code, ...(errno !== undefined ? { errno } : {}), op, transport, ...(syscall ? { syscall } : {}), message: msg.startsWith(op) ? msg : `${op}: ${msg}` },
      err,
    );
  }
}

/** A reply from the kernel that does not decode: truncated, wrong lengths, unknown layout. */
export class LnetProtocolError extends LnetError {
  constructor(op: string, transport: KernelTransport, what: string) {
    super({ code: 'ERR_LNET_PROTOCOL', op, transport, message: `${op}: malformed reply: ${what}` });
  }
}

const STRERROR: Record<number, string> = {
  1: 'Operation not permitted', 2: 'No such file or directory', 5: 'Input/output error', 7: 'Argument list too long',
  12: 'Cannot allocate memory', 13: 'Permission denied', 14: 'Bad address', 16: 'Device or resource busy',
  17: 'File exists', 19: 'No such device', 22: 'Invalid argument', 28: 'No space left on device',
  34: 'Numerical result out of range', 42: 'No message of desired type', 87: 'Too many users',
  95: 'Operation not supported', 100: 'Network is down', 108: 'Cannot send after transport endpoint shutdown',
  110: 'Connection timed out', 113: 'No route to host', 114: 'Operation already in progress',
};

export function strerrorText(errno: number): string {
  return STRERROR[errno] ?? `errno ${errno}`;
}
