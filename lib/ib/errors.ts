/** InfiniBand MAD errors: one class per failure kind, each with a stable `code`. */
import { HpcnetError } from '../errors.js';

/** What a MAD was about, for messages: attribute name and id, destination. */
export interface MadContext {
  attribute: string;
  attrId: number;
  address: string;
}

function where(c: MadContext): string {
  return `${c.attribute} (0x${c.attrId.toString(16).padStart(4, '0')}) to ${c.address}`;
}

/** The address is malformed or out of range; nothing was sent. */
export class BadAddressError extends HpcnetError {
  constructor(message: string) {
    super('ERR_BAD_ADDRESS', message);
  }
}

/** No reply within timeout × (retries + 1). */
export class MadTimeoutError extends HpcnetError {
  readonly context: MadContext;
  readonly attempts: number;
  constructor(context: MadContext, attempts: number, timeoutMs: number) {
    super('ETIMEDOUT', `${where(context)}: no reply after ${attempts} attempt(s) of ${timeoutMs} ms`);
    this.context = context;
    this.attempts = attempts;
  }
}

/** Decoded MAD status word (IBA 13.4.7). */
export interface MadStatus {
  raw: number;
  busy: boolean;
  redirect: boolean;
  invalidField: 'none' | 'bad-version' | 'method-unsupported' | 'method-attribute-unsupported' | 'invalid-value' | `reserved-${number}`;
  classSpecific: number;
}

const STATUS_OK: MadStatus = Object.freeze({ raw: 0, busy: false, redirect: false, invalidField: 'none', classSpecific: 0 });

export function decodeMadStatus(raw: number): MadStatus {
  if (raw === 0) return STATUS_OK;
  const code = (raw >> 2) & 7;
  const names: Record<number, MadStatus['invalidField']> = {
    0: 'none',
    1: 'bad-version',
    2: 'method-unsupported',
    3: 'method-attribute-unsupported',
    7: 'invalid-value',
  };
  return {
    raw,
    busy: (raw & 1) !== 0,
    redirect: (raw & 2) !== 0,
    invalidField: names[code] ?? `reserved-${code}`,
    classSpecific: (raw >> 8) & 0x7f,
  };
}

/** The responder answered with a non-zero MAD status. */
export class MadStatusError extends HpcnetError {
  readonly context: MadContext;
  readonly status: MadStatus;
  constructor(context: MadContext, status: MadStatus) {
    const parts = [
      status.busy ? 'busy' : '',
      status.redirect ? 'redirect' : '',
      status.invalidField !== 'none' ? status.invalidField : '',
      status.classSpecific ? `class-specific 0x${status.classSpecific.toString(16)}` : '',
    ].filter(Boolean);
    super('EMADSTATUS', `${where(context)}: MAD status 0x${status.raw.toString(16).padStart(4, '0')} (${parts.join(', ')})`);
    this.context = context;
    this.status = status;
  }
}

/** The reply could not be used: short, wrong attribute, not a response. */
export class MalformedReplyError extends HpcnetError {
  readonly context: MadContext;
  constructor(context: MadContext, why: string) {
    super('EBADMSG', `${where(context)}: malformed reply: ${why}`);
    this.context = context;
  }
}

/** The transport reported an error (errno) for this MAD. */
export class MadTransportError extends HpcnetError {
  readonly errno: number;
  constructor(context: MadContext, errno: number) {
    super('ETRANSPORT', `${where(context)}: transport error (errno ${errno})`);
    this.errno = errno;
  }
}

/** The port was closed while the request was outstanding, or before it was sent. */
export class PortClosedError extends HpcnetError {
  constructor(context?: MadContext) {
    super('ERR_PORT_CLOSED', context ? `${where(context)}: port closed` : 'port closed');
  }
}

/** The caller's AbortSignal fired. */
export class MadAbortError extends HpcnetError {
  constructor(context: MadContext, reason?: unknown) {
    super('ABORT_ERR', `${where(context)}: aborted`, { cause: reason });
    this.name = 'AbortError';
  }
}

/** A write (Set) was attempted without opting in. */
export class WriteNotAllowedError extends HpcnetError {
  constructor(what: string) {
    super('ERR_WRITE_NOT_ALLOWED', `${what} changes the fabric: refused without an explicit opt-in ({ allowWrites: true } on the port, --write on the CLI)`);
  }
}
