/**
 * Errors of the LNet layer. Kernel refusals keep the errno name as `code`
 * (ENETDOWN, EEXIST, EBUSY, ...) and the number as `errno`, like the errors
 * of the native layer; the facade's own refusals use ERR_LNET_* codes.
 */
import { HpcnetError, InvalidArgumentError } from '../errors.js';
import { errnoName, errnoNumber } from '../errno.js';
import { LnetError } from './kernel/errors.js';

export { errnoName };
/** The errno number for a name such as 'EBUSY' (Linux numbering; the project's one table, lib/errno.ts). */
export const errnoOf = errnoNumber;

/** strerror() text for the errnos LNet uses, as glibc prints them. */
const STRERROR: Record<string, string> = {
  EPERM: 'Operation not permitted',
  ENOENT: 'No such file or directory',
  E2BIG: 'Argument list too long',
  ENOMEM: 'Cannot allocate memory',
  EACCES: 'Permission denied',
  EFAULT: 'Bad address',
  EBUSY: 'Device or resource busy',
  EEXIST: 'File exists',
  ENODEV: 'No such device',
  EINVAL: 'Invalid argument',
  ENOSPC: 'No space left on device',
  ERANGE: 'Numerical result out of range',
  ENOMSG: 'No message of desired type',
  EUSERS: 'Too many users',
  EOPNOTSUPP: 'Operation not supported',
  ENETDOWN: 'Network is down',
  ESHUTDOWN: 'Cannot send after transport endpoint shutdown',
  ETIMEDOUT: 'Connection timed out',
  EHOSTUNREACH: 'No route to host',
  EALREADY: 'Operation already in progress',
  EIO: 'Input/output error',
};

export function strerror(code: string): string {
  return STRERROR[code] ?? code;
}

/**
 * The one error class for a refusal by the (real or emulated) kernel is the
 * kernel layer's LnetError (errno name in `code`, number in `errno`);
 * LnetKernelError is the same class under its older name.
 */
export { LnetError };
export const LnetKernelError = LnetError;
export type LnetKernelError = LnetError;

/** A kernel refusal the facade reports (e.g. ENOENT for a net show of a missing net), as an LnetError. */
export function kernelError(code: string, op: string, message?: string, cause?: unknown): LnetError {
  const errno = errnoNumber(code);
  return new LnetError({ code, ...(errno !== undefined ? { errno } : {}), op, transport: 'facade', message: `${op}: ${message ?? strerror(code)}` }, cause);
}

/** The facade refused to act (unload while busy, standalone LNet, ...); the message says what to do. */
export class LnetRefusedError extends HpcnetError {
  /** Lustre devices that hold the stack (lines as `lctl dl` prints them), when that is the reason. */
  readonly devices: string[];
  /** Modules still loaded after the refusal. */
  readonly modulesLoaded: string[];
  constructor(code: string, message: string, extra: { devices?: string[]; modulesLoaded?: string[] } = {}) {
    super(code, message);
    this.devices = extra.devices ?? [];
    this.modulesLoaded = extra.modulesLoaded ?? [];
  }
}

/** A syntax error in a NID, a NID range or a module parameter, with the offending character. */
export class LnetSyntaxError extends InvalidArgumentError {
  readonly input: string;
  /** 0-based offset of the offending character in `input`. */
  readonly position: number;
  readonly what: string;
  readonly reason: string;
  constructor(what: string, input: string, position: number, reason: string) {
    const pos = Math.max(0, Math.min(position, input.length));
    super(`${what}: ${reason} at character ${pos + 1} of '${input}'\n  ${input}\n  ${' '.repeat(pos)}^`);
    this.input = input;
    this.position = pos;
    this.what = what;
    this.reason = reason;
  }
}

export interface ConfigProblem {
  /** 1-based line in the document, when known. */
  line?: number;
  /** Path of the key, e.g. `net[1].local NI(s)[0].interfaces`. */
  key: string;
  message: string;
}

/** A configuration document (lnet.conf / lnetctl YAML) is invalid: nothing was applied. */
export class LnetConfigError extends InvalidArgumentError {
  readonly problems: ConfigProblem[];
  constructor(problems: ConfigProblem[], source = 'document') {
    super(
      `${source}: ${problems.length} problem${problems.length === 1 ? '' : 's'}, nothing applied:\n` +
        problems.map((p) => `  ${p.line !== undefined ? `line ${p.line}: ` : ''}${p.key}: ${p.message}`).join('\n'),
    );
    this.problems = problems;
  }
}

/** Is `e` a kernel error with one of these errno names? */
export function isErrno(e: unknown, ...codes: string[]): boolean {
  return e instanceof HpcnetError && codes.includes(e.code);
}

/** Why a net change was refused with EINVAL: LNet was not brought up by configure. */
export const NOT_SELF =
  "LNet nets can only be changed when LNet was brought up with 'lnetctl lnet configure' / 'hpcnet lnet configure' (not by Lustre or 'lctl network up' with module-parameter nets only)";

/** A kernel error with what to do about it in the message (not root, not loaded, not running, or `extra`). */
export function withHint(e: unknown, op: string, extra?: string): unknown {
  if (!(e instanceof HpcnetError)) return e;
  const c = e.code;
  let why: string | undefined;
  if (c === 'EPERM' || c === 'EACCES') why = 'permission denied: LNet control needs root (CAP_NET_ADMIN); run as root or with sudo';
  else if (c === 'ENODEV' || (c === 'ENOENT' && /\/dev\/lnet/.test(e.message)))
    why = "LNet is not loaded: load it with 'hpcnet lnet load' (modprobe lnet), then 'hpcnet lnet configure'";
  else if (c === 'ENETDOWN') why = "LNet is not running: bring it up with 'hpcnet lnet configure' (lctl network up)";
  else if (extra) why = extra;
  if (!why) return e;
  return kernelError(c, op, `${e.message.replace(/^[^:]*: /, '')} (${why})`, e);
}
