/**
 * The project's one errno table: Linux (x86_64, asm-generic) numbers with the
 * kernel's own names, one name per number (EOPNOTSUPP, not ENOTSUP; EAGAIN,
 * not EWOULDBLOCK; EDEADLK, not EDEADLOCK), `E<n>` for numbers not in it.
 * Node's os.constants.errno lists aliases first for some numbers (95 is
 * ENOTSUP there), which is why it is not used. The native addons name errnos
 * with glibc's strerrorname_np(), which gives these same names
 * (test/unit/errno.test.ts checks every number against the addon).
 */
const NAMES =
  'EPERM ENOENT ESRCH EINTR EIO ENXIO E2BIG ENOEXEC EBADF ECHILD EAGAIN ENOMEM EACCES EFAULT ENOTBLK EBUSY EEXIST EXDEV ENODEV ENOTDIR ' +
  'EISDIR EINVAL ENFILE EMFILE ENOTTY ETXTBSY EFBIG ENOSPC ESPIPE EROFS EMLINK EPIPE EDOM ERANGE EDEADLK ENAMETOOLONG ENOLCK ENOSYS ENOTEMPTY ELOOP ' +
  '- ENOMSG EIDRM ECHRNG EL2NSYNC EL3HLT EL3RST ELNRNG EUNATCH ENOCSI EL2HLT EBADE EBADR EXFULL ENOANO EBADRQC EBADSLT - EBFONT ENOSTR ' +
  'ENODATA ETIME ENOSR ENONET ENOPKG EREMOTE ENOLINK EADV ESRMNT ECOMM EPROTO EMULTIHOP EDOTDOT EBADMSG EOVERFLOW ENOTUNIQ EBADFD EREMCHG ELIBACC ELIBBAD ' +
  'ELIBSCN ELIBMAX ELIBEXEC EILSEQ ERESTART ESTRPIPE EUSERS ENOTSOCK EDESTADDRREQ EMSGSIZE EPROTOTYPE ENOPROTOOPT EPROTONOSUPPORT ESOCKTNOSUPPORT EOPNOTSUPP EPFNOSUPPORT EAFNOSUPPORT EADDRINUSE EADDRNOTAVAIL ENETDOWN ' +
  'ENETUNREACH ENETRESET ECONNABORTED ECONNRESET ENOBUFS EISCONN ENOTCONN ESHUTDOWN ETOOMANYREFS ETIMEDOUT ECONNREFUSED EHOSTDOWN EHOSTUNREACH EALREADY EINPROGRESS ESTALE EUCLEAN ENOTNAM ENAVAIL EISNAM ' +
  'EREMOTEIO EDQUOT ENOMEDIUM EMEDIUMTYPE ECANCELED ENOKEY EKEYEXPIRED EKEYREVOKED EKEYREJECTED EOWNERDEAD ENOTRECOVERABLE ERFKILL EHWPOISON';

const BY_NUMBER = new Map<number, string>();
const BY_NAME = new Map<string, number>();
NAMES.split(' ').forEach((name, i) => {
  if (name === '-') return;
  BY_NUMBER.set(i + 1, name);
  BY_NAME.set(name, i + 1);
});
// Aliases are accepted as input, never produced.
for (const [alias, n] of [
  ['EWOULDBLOCK', 11],
  ['ENOTSUP', 95],
  ['EDEADLOCK', 35],
] as const)
  BY_NAME.set(alias, n);

/** The Linux name of an errno (positive or negative), e.g. 95 -> 'EOPNOTSUPP'; `E<n>` when it has none. */
export function errnoName(n: number): string {
  const v = Math.abs(n);
  return BY_NUMBER.get(v) ?? `E${v}`;
}

/** The number of an errno name ('EBUSY' -> 16; aliases and `E<n>` accepted); undefined when unknown. */
export function errnoNumber(name: string): number | undefined {
  const n = BY_NAME.get(name);
  if (n !== undefined) return n;
  const m = /^E(\d+)$/.exec(name);
  return m ? Number(m[1]) : undefined;
}

/** Every named errno, by number. */
export function errnoTable(): ReadonlyMap<number, string> {
  return BY_NUMBER;
}
