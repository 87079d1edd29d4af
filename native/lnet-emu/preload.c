/*
 * hpcnet LNet emulator: LD_PRELOAD library. Makes a process behave as if it
 * ran on an emulated host whose kernel has Lustre's LNet modules:
 *  - open/ioctl/close on /dev/lnet go to the emulator daemon;
 *  - AF_NETLINK/NETLINK_GENERIC sockets become local datagram socketpairs whose
 *    requests the daemon answers with kernel-format replies;
 *  - /sys/module, /proc/modules, /lib/modules, /sys/fs/lustre, ... resolve to
 *    the host's emulated tree (kept current by the daemon); writes to module
 *    parameters are validated by the daemon;
 *  - init_module/finit_module/delete_module (libc and syscall()) load and
 *    unload emulated modules;
 *  - the host's network is the emulated host's: getifaddrs(), SIOCGIF* ioctls
 *    on sockets, NETLINK_ROUTE link/address dumps, if_nametoindex(),
 *    /sys/class/net; glob(GLOB_BRACE) patterns reach emulated trees;
 *    statfs(/sys/kernel/debug) reports debugfs and mount() never reaches the
 *    real machine there.
 * Environment: HPCNET_LNETEMU_SOCK (daemon socket), HPCNET_LNETEMU_HOST,
 * HPCNET_LNETEMU_ROOT (host tree), HPCNET_LNETEMU_TIMEOUT_MS (default 30000).
 * Without HPCNET_LNETEMU_SOCK every call passes straight through.
 * Never touches the real kernel's LNet or module state while active.
 */
/* node-gyp defines _FILE_OFFSET_BITS=64, which would rename open() to open64(): this
 * file defines both names itself. */
#undef _FILE_OFFSET_BITS
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <ifaddrs.h>
#include <limits.h>
#include <linux/capability.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/sockios.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "protocol.h"

#ifndef ARPHRD_ETHER
#define ARPHRD_ETHER 1
#endif
#ifndef ARPHRD_LOOPBACK
#define ARPHRD_LOOPBACK 772
#endif
#ifndef IFF_LOWER_UP
#define IFF_LOWER_UP 0x10000
#endif

#define EXPORT __attribute__((visibility("default")))

#ifndef SOL_NETLINK
#define SOL_NETLINK 270
#endif
#ifndef NETLINK_CAP_ACK
#define NETLINK_CAP_ACK 10
#endif
#ifndef NETLINK_EXT_ACK
#define NETLINK_EXT_ACK 11
#endif

/* ------------------------------------------------------------------ real calls */
#define REAL(name) real_##name
#define DECL_REAL(ret, name, ...)                      \
  static ret (*real_##name)(__VA_ARGS__);              \
  static void resolve_##name(void) {                   \
    if (!real_##name) real_##name = dlsym(RTLD_NEXT, #name); \
  }
#define R(name) (resolve_##name(), real_##name)

DECL_REAL(long, syscall, long, ...)
DECL_REAL(int, ioctl, int, unsigned long, ...)
DECL_REAL(int, close, int)
DECL_REAL(int, dup, int)
DECL_REAL(int, dup2, int, int)
DECL_REAL(int, dup3, int, int, int)
DECL_REAL(ssize_t, write, int, const void *, size_t)
DECL_REAL(ssize_t, read, int, void *, size_t)
DECL_REAL(int, socket, int, int, int)
DECL_REAL(int, bind, int, const struct sockaddr *, socklen_t)
DECL_REAL(int, connect, int, const struct sockaddr *, socklen_t)
DECL_REAL(int, getsockname, int, struct sockaddr *, socklen_t *)
DECL_REAL(int, getpeername, int, struct sockaddr *, socklen_t *)
DECL_REAL(int, setsockopt, int, int, int, const void *, socklen_t)
DECL_REAL(int, getsockopt, int, int, int, void *, socklen_t *)
DECL_REAL(ssize_t, sendmsg, int, const struct msghdr *, int)
DECL_REAL(ssize_t, sendto, int, const void *, size_t, int, const struct sockaddr *, socklen_t)
DECL_REAL(ssize_t, send, int, const void *, size_t, int)
DECL_REAL(ssize_t, recvmsg, int, struct msghdr *, int)
DECL_REAL(ssize_t, recvfrom, int, void *, size_t, int, struct sockaddr *, socklen_t *)
DECL_REAL(ssize_t, recv, int, void *, size_t, int)
DECL_REAL(FILE *, fopen, const char *, const char *)
DECL_REAL(FILE *, fopen64, const char *, const char *)
DECL_REAL(DIR *, opendir, const char *)
DECL_REAL(int, scandir, const char *, struct dirent ***, int (*)(const struct dirent *), int (*)(const struct dirent **, const struct dirent **))
DECL_REAL(int, stat, const char *, struct stat *)
DECL_REAL(int, lstat, const char *, struct stat *)
DECL_REAL(int, fstatat, int, const char *, struct stat *, int)
DECL_REAL(int, __xstat, int, const char *, struct stat *)
DECL_REAL(int, __lxstat, int, const char *, struct stat *)
DECL_REAL(int, __fxstatat, int, int, const char *, struct stat *, int)
DECL_REAL(int, statx, int, const char *, int, unsigned int, struct statx *)
DECL_REAL(int, access, const char *, int)
DECL_REAL(int, faccessat, int, const char *, int, int)
DECL_REAL(ssize_t, readlink, const char *, char *, size_t)
DECL_REAL(int, glob, const char *, int, int (*)(const char *, int), glob_t *)
DECL_REAL(int, glob64, const char *, int, int (*)(const char *, int), glob_t *)
DECL_REAL(int, getifaddrs, struct ifaddrs **)
DECL_REAL(int, statfs, const char *, struct statfs *)
DECL_REAL(int, statfs64, const char *, struct statfs64 *)
DECL_REAL(int, mount, const char *, const char *, const char *, unsigned long, const void *)
DECL_REAL(unsigned int, if_nametoindex, const char *)
DECL_REAL(char *, if_indextoname, unsigned int, char[IF_NAMESIZE])
DECL_REAL(int, init_module, void *, unsigned long, const char *)
DECL_REAL(int, delete_module, const char *, unsigned int)

static long raw_openat(int dirfd, const char *path, int flags, mode_t mode) {
  return R(syscall)(SYS_openat, dirfd, path, flags, mode);
}

/* ------------------------------------------------------------------ config */
static int g_active = -1;
static char g_sock[PATH_MAX];
static char g_host[256];
static char g_root[PATH_MAX];
static int g_timeout_ms = 30000;
/* Daemon connections. Each thread has its own, so that a thread waiting in a
 * ping does not hold up the others (the kernel serves concurrent callers too).
 * Opening and closing /dev/lnet go over one process-wide connection, which
 * lives as long as the process: the daemon ties the device reference to it. */
struct conn {
  int fd;
  pid_t pid;
};
static __thread struct conn t_conn = {-1, 0};
static struct conn g_proc_conn = {-1, 0};
static pthread_mutex_t g_proc_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_key_t g_conn_key;
static pthread_once_t g_conn_key_once = PTHREAD_ONCE_INIT;
static int g_warned = 0;

static void conn_key_destroy(void *p) {
  (void)p;
  if (t_conn.fd >= 0 && t_conn.pid == getpid()) R(close)(t_conn.fd);
  t_conn.fd = -1;
}
static void conn_key_init(void) { pthread_key_create(&g_conn_key, conn_key_destroy); }

static void child_after_fork(void) {
  /* The inherited connections belong to the parent: never use them here. */
  if (t_conn.fd >= 0) R(close)(t_conn.fd);
  t_conn.fd = -1;
  t_conn.pid = 0;
  if (g_proc_conn.fd >= 0) R(close)(g_proc_conn.fd);
  g_proc_conn.fd = -1;
  g_proc_conn.pid = 0;
  pthread_mutex_init(&g_proc_lock, NULL);
}

static int active(void) {
  if (g_active >= 0) return g_active;
  const char *s = getenv("HPCNET_LNETEMU_SOCK");
  const char *h = getenv("HPCNET_LNETEMU_HOST");
  const char *r = getenv("HPCNET_LNETEMU_ROOT");
  const char *t = getenv("HPCNET_LNETEMU_TIMEOUT_MS");
  if (!s || !*s || !h || !r || strlen(s) >= sizeof(g_sock) || strlen(h) >= sizeof(g_host) ||
      strlen(r) >= sizeof(g_root) - 64) {
    g_active = 0;
    return 0;
  }
  strcpy(g_sock, s);
  strcpy(g_host, h);
  strcpy(g_root, r);
  if (t && atoi(t) > 0) g_timeout_ms = atoi(t);
  pthread_atfork(NULL, NULL, child_after_fork);
  g_active = 1;
  return 1;
}

/* ------------------------------------------------------------------ fd table */
enum fd_kind { FD_NONE = 0, FD_LNETDEV, FD_NETLINK, FD_PARAM };
struct pending {
  struct pending *next;
  size_t len;
  unsigned char data[];
};
struct fdinfo {
  int kind;
  uint32_t handle;     /* FD_LNETDEV: daemon handle */
  int peer;            /* FD_NETLINK: our end of the socketpair */
  uint32_t portid;     /* FD_NETLINK: bound port id (0 = not bound yet) */
  uint32_t groups;
  int ext_ack, cap_ack;
  struct pending *queue; /* FD_NETLINK: replies not yet written to the pair */
  int route;           /* FD_NETLINK: NETLINK_ROUTE (answered here, not by the daemon) */
  char *path;          /* FD_PARAM: the original path */
};
#define FD_MAX 65536
static struct fdinfo *g_fds;

static pthread_once_t g_fds_once = PTHREAD_ONCE_INIT;
static void fds_alloc(void) { g_fds = calloc(FD_MAX, sizeof(struct fdinfo)); }
static struct fdinfo *fdi(int fd) {
  if (fd < 0 || fd >= FD_MAX) return NULL;
  pthread_once(&g_fds_once, fds_alloc);
  return g_fds ? &g_fds[fd] : NULL;
}
/* A descriptor number handed out by the real kernel is not ours (any more):
 * forget what we knew about it (it may have been closed behind our back,
 * e.g. by fclose() or close_range()). */
static int fd_forget(int fd) {
  if (g_fds && fd >= 0 && fd < FD_MAX && g_fds[fd].kind != FD_NONE) {
    /* (a netlink pair's other end is left open: its number may have been reused too) */
    free(g_fds[fd].path);
    memset(&g_fds[fd], 0, sizeof(g_fds[fd]));
  }
  return fd;
}
static int fd_kind(int fd) {
  if (!g_fds || fd < 0 || fd >= FD_MAX) return FD_NONE;
  return g_fds[fd].kind;
}

/* ------------------------------------------------------------------ capabilities */
static uint32_t caps_now(void) {
  struct __user_cap_header_struct h = {_LINUX_CAPABILITY_VERSION_3, 0};
  struct __user_cap_data_struct d[2];
  memset(d, 0, sizeof(d));
  if (R(syscall)(SYS_capget, &h, d) != 0) return 0;
  uint64_t eff = (uint64_t)d[0].effective | ((uint64_t)d[1].effective << 32);
  uint32_t c = 0;
  if (eff & (1ull << 21)) c |= LNETEMU_CAP_SYS_ADMIN;
  if (eff & (1ull << 12)) c |= LNETEMU_CAP_NET_ADMIN;
  if (eff & (1ull << 16)) c |= LNETEMU_CAP_SYS_MODULE;
  return c;
}

/* ------------------------------------------------------------------ daemon RPC */
static void warn_gone(const char *why) {
  if (g_warned) return;
  g_warned = 1;
  char buf[PATH_MAX + 256];
  int n = snprintf(buf, sizeof(buf),
                   "hpcnet-lnetemu: the LNet emulator daemon (%s) is not reachable: %s "
                   "(is `hpcnet sim lnet` running?)\n",
                   g_sock, why);
  if (n > 0) R(write)(2, buf, (size_t)n < sizeof(buf) ? (size_t)n : sizeof(buf) - 1);
}

static int io_all(int fd, void *buf, size_t len, int writing, int timeout_ms) {
  unsigned char *p = buf;
  struct timespec start;
  clock_gettime(CLOCK_MONOTONIC, &start);
  while (len > 0) {
    struct pollfd pfd = {fd, writing ? POLLOUT : POLLIN, 0};
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    long elapsed = (now.tv_sec - start.tv_sec) * 1000 + (now.tv_nsec - start.tv_nsec) / 1000000;
    long left = timeout_ms - elapsed;
    if (left <= 0) return -ETIMEDOUT;
    int pr = poll(&pfd, 1, (int)left);
    if (pr < 0) {
      if (errno == EINTR) continue;
      return -errno;
    }
    if (pr == 0) return -ETIMEDOUT;
    ssize_t n = writing ? R(send)(fd, p, len, MSG_NOSIGNAL | MSG_DONTWAIT)
                        : R(recv)(fd, p, len, MSG_DONTWAIT);
    if (n < 0) {
      if (errno == EINTR || errno == EAGAIN) continue;
      return -errno;
    }
    if (n == 0) return -ECONNRESET;
    p += n;
    len -= (size_t)n;
  }
  return 0;
}

static int conn_open(struct conn *cn) {
  pid_t me = getpid();
  if (cn->fd >= 0 && cn->pid == me) return 0;
  if (cn->fd >= 0) R(close)(cn->fd);
  cn->fd = -1;
  if (cn == &t_conn) {
    pthread_once(&g_conn_key_once, conn_key_init);
    pthread_setspecific(g_conn_key, (void *)1); /* so the destructor runs at thread exit */
  }
  int fd = (int)R(syscall)(SYS_socket, AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -errno;
  struct sockaddr_un sa;
  memset(&sa, 0, sizeof(sa));
  sa.sun_family = AF_UNIX;
  if (strlen(g_sock) >= sizeof(sa.sun_path)) {
    R(close)(fd);
    return -ENAMETOOLONG;
  }
  strcpy(sa.sun_path, g_sock);
  if (R(syscall)(SYS_connect, fd, &sa, sizeof(sa)) != 0) {
    int e = errno;
    R(close)(fd);
    return -e;
  }
  /* Move the connection out of the way of programs that close or dup low fds. */
  int hi = fcntl(fd, F_DUPFD_CLOEXEC, 900);
  if (hi >= 0) {
    R(close)(fd);
    fd = hi;
  }
  size_t hl = strlen(g_host);
  unsigned char msg[12 + 4 + 256];
  uint32_t len = (uint32_t)(8 + 4 + hl), op = LNETEMU_OP_HELLO, caps = caps_now(), pid = (uint32_t)me;
  memcpy(msg, &len, 4);
  memcpy(msg + 4, &op, 4);
  memcpy(msg + 8, &caps, 4);
  memcpy(msg + 12, &pid, 4);
  memcpy(msg + 16, g_host, hl);
  int rc = io_all(fd, msg, 16 + hl, 1, g_timeout_ms);
  unsigned char hdr[8];
  if (rc == 0) rc = io_all(fd, hdr, 8, 0, g_timeout_ms);
  if (rc == 0) {
    uint32_t rlen;
    int32_t rrc;
    memcpy(&rlen, hdr, 4);
    memcpy(&rrc, hdr + 4, 4);
    if (rlen != 4) rc = -EPROTO;
    else if (rrc == -ENOENT) rc = -EHOSTDOWN; /* the daemon has no host of that name */
    else if (rrc < 0) rc = rrc;
  }
  if (rc < 0) {
    R(close)(fd);
    return rc;
  }
  cn->fd = fd;
  cn->pid = me;
  return 0;
}

/*
 * One request/response. On transport failure returns -EIO (after printing a
 * one-time explanation) and *rc is not set. The reply payload is malloc'ed.
 */
static int rpc_on(struct conn *cn, uint32_t op, const void *p1, size_t n1, const void *p2, size_t n2,
                  unsigned char **resp, size_t *resp_len, int32_t *rc, int timeout_ms) {
  *resp = NULL;
  *resp_len = 0;
  int err = conn_open(cn);
  if (err < 0) {
    char why[300];
    if (err == -EHOSTDOWN) snprintf(why, sizeof(why), "it has no emulated host named '%s'", g_host);
    else snprintf(why, sizeof(why), "%s", strerror(-err));
    warn_gone(why);
    errno = EIO;
    return -EIO;
  }
  unsigned char hdr[12];
  uint32_t len = (uint32_t)(8 + n1 + n2), caps = caps_now();
  memcpy(hdr, &len, 4);
  memcpy(hdr + 4, &op, 4);
  memcpy(hdr + 8, &caps, 4);
  err = io_all(cn->fd, hdr, 12, 1, timeout_ms);
  if (!err && n1) err = io_all(cn->fd, (void *)p1, n1, 1, timeout_ms);
  if (!err && n2) err = io_all(cn->fd, (void *)p2, n2, 1, timeout_ms);
  unsigned char rh[8];
  if (!err) err = io_all(cn->fd, rh, 8, 0, timeout_ms);
  uint32_t rlen = 0;
  if (!err) {
    memcpy(&rlen, rh, 4);
    memcpy(rc, rh + 4, 4);
    if (rlen < 4 || rlen > (64u << 20)) err = -EPROTO;
  }
  if (!err && rlen > 4) {
    *resp = malloc(rlen - 4);
    if (!*resp) err = -ENOMEM;
    else err = io_all(cn->fd, *resp, rlen - 4, 0, timeout_ms);
    *resp_len = rlen - 4;
  }
  if (err < 0) {
    R(close)(cn->fd);
    cn->fd = -1;
    free(*resp);
    *resp = NULL;
    warn_gone(err == -ETIMEDOUT ? "no answer in time" : strerror(-err));
    errno = EIO;
    return -EIO;
  }
  return 0;
}

/* A request on the calling thread's connection. */
static int rpc(uint32_t op, const void *p1, size_t n1, const void *p2, size_t n2, unsigned char **resp,
               size_t *resp_len, int32_t *rc, int timeout_ms) {
  return rpc_on(&t_conn, op, p1, n1, p2, n2, resp, resp_len, rc, timeout_ms);
}
/* A request on the process-wide connection (device open/close). */
static int rpc_proc(uint32_t op, const void *p1, size_t n1, unsigned char **resp, size_t *resp_len, int32_t *rc) {
  pthread_mutex_lock(&g_proc_lock);
  int r = rpc_on(&g_proc_conn, op, p1, n1, NULL, 0, resp, resp_len, rc, g_timeout_ms);
  pthread_mutex_unlock(&g_proc_lock);
  return r;
}

/* ------------------------------------------------------------------ paths */
static const char *const g_prefixes[] = {
    "/proc/modules", "/proc/fs/lustre", "/proc/fs/lnet", "/proc/sys/lnet", "/sys/module", "/sys/fs/lustre",
    "/sys/fs/lnet", "/sys/kernel/debug/lnet", "/sys/kernel/debug/lustre", "/lib/modules", "/usr/lib/modules",
    "/dev/lnet", "/sys/class/net", NULL};

static int emulated_path(const char *path) {
  if (!path || path[0] != '/' || active() != 1) return 0;
  for (int i = 0; g_prefixes[i]; i++) {
    size_t n = strlen(g_prefixes[i]);
    if (strncmp(path, g_prefixes[i], n) == 0 && (path[n] == 0 || path[n] == '/')) return 1;
  }
  return 0;
}

static __thread char t_path[2][PATH_MAX];
/* Rewritten path (thread-local buffer slot), or the path itself. */
static const char *rw(const char *path, int slot) {
  if (!emulated_path(path)) return path;
  if ((size_t)snprintf(t_path[slot], PATH_MAX, "%s%s", g_root, path) >= PATH_MAX) return path;
  return t_path[slot];
}

static int is_param_path(const char *path) {
  return strncmp(path, "/sys/module/", 12) == 0 && strstr(path, "/parameters/") != NULL;
}

/* ------------------------------------------------------------------ /dev/lnet */
static int dev_open(int flags) {
  unsigned char *resp;
  size_t rl;
  int32_t rc;
  if (rpc_proc(LNETEMU_OP_OPEN_DEV, NULL, 0, &resp, &rl, &rc) < 0) return -1;
  free(resp);
  if (rc < 0) {
    errno = -rc;
    return -1;
  }
  int fd = fd_forget((int)raw_openat(AT_FDCWD, "/dev/null", O_RDWR | (flags & O_CLOEXEC), 0));
  if (fd < 0) {
    uint32_t h = (uint32_t)rc;
    rpc_proc(LNETEMU_OP_CLOSE_DEV, &h, 4, &resp, &rl, &rc);
    free(resp);
    return -1;
  }
  struct fdinfo *f = fdi(fd);
  if (!f) {
    R(close)(fd);
    errno = ENOMEM;
    return -1;
  }
  memset(f, 0, sizeof(*f));
  f->kind = FD_LNETDEV;
  f->handle = (uint32_t)rc;
  return fd;
}

static int self_read(void *dst, uint64_t addr, size_t len) {
  struct iovec local = {dst, len}, remote = {(void *)(uintptr_t)addr, len};
  if (len == 0) return 0;
  return process_vm_readv(getpid(), &local, 1, &remote, 1, 0) == (ssize_t)len ? 0 : -EFAULT;
}
static int self_write(uint64_t addr, const void *src, size_t len) {
  struct iovec local = {(void *)src, len}, remote = {(void *)(uintptr_t)addr, len};
  if (len == 0) return 0;
  return process_vm_writev(getpid(), &local, 1, &remote, 1, 0) == (ssize_t)len ? 0 : -EFAULT;
}

#define IOC_DATA_MAX (128 * 1024)

static int dev_ioctl(int fd, unsigned long cmd, void *arg) {
  (void)fd;
  uint32_t hdr[2];
  if (self_read(hdr, (uint64_t)(uintptr_t)arg, 8) < 0) {
    errno = EFAULT;
    return -1;
  }
  size_t len = hdr[0];
  if (len < 8 || len > IOC_DATA_MAX) len = 8;
  unsigned char *buf = malloc(4 + len);
  if (!buf) {
    errno = ENOMEM;
    return -1;
  }
  uint32_t c32 = (uint32_t)cmd;
  memcpy(buf, &c32, 4);
  if (self_read(buf + 4, (uint64_t)(uintptr_t)arg, len) < 0) {
    /* copy_from_user of ioc_len bytes faults: send the header only and let the
     * daemon report EFAULT after the checks the kernel makes first */
    memcpy(buf + 4, hdr, 8);
    len = 8;
  }
  /* Ping and discover wait up to their own timeout (op_param ms, <= 180 s). */
  int tmo = g_timeout_ms;
  if (((cmd & 0xff) == 62 || (cmd & 0xff) == 77) && len >= 12) {
    uint32_t op_param;
    memcpy(&op_param, buf + 4 + 8, 4);
    long t = (long)(op_param > 180000 ? 180000 : op_param) + g_timeout_ms;
    if (t > tmo) tmo = (int)t;
    if (tmo < 200000 && (cmd & 0xff) == 77) tmo = 200000;
  }
  unsigned char *resp;
  size_t rl;
  int32_t rc;
  if (rpc(LNETEMU_OP_IOCTL, buf, 4 + len, NULL, 0, &resp, &rl, &rc, tmo) < 0) {
    free(buf);
    return -1;
  }
  /* Apply the reply: copy-back of the struct, then writes through user pointers. */
  size_t off = 0;
  int fault = 0;
  if (rl >= 4) {
    uint32_t cb;
    memcpy(&cb, resp, 4);
    off = 4;
    if (cb <= rl - off && cb <= len) {
      if (self_write((uint64_t)(uintptr_t)arg, resp + off, cb) < 0) fault = 1;
      off += cb;
    }
    if (rl - off >= 4) {
      uint32_t nw;
      memcpy(&nw, resp + off, 4);
      off += 4;
      for (uint32_t i = 0; i < nw && rl - off >= 8; i++) {
        uint32_t poff, plen;
        memcpy(&poff, resp + off, 4);
        memcpy(&plen, resp + off + 4, 4);
        off += 8;
        if (plen > rl - off || poff + 8 > len) break;
        uint64_t uptr;
        memcpy(&uptr, buf + 4 + poff, 8);
        if (self_write(uptr, resp + off, plen) < 0) fault = 1;
        off += plen;
      }
    }
  }
  free(resp);
  free(buf);
  if (fault && rc >= 0) rc = -EFAULT;
  if (rc < 0) {
    errno = -rc;
    return -1;
  }
  return 0;
}

/* ------------------------------------------------------------------ netlink */
static void nl_flush(struct fdinfo *f) {
  while (f->queue) {
    struct pending *p = f->queue;
    ssize_t n = R(send)(f->peer, p->data, p->len, MSG_DONTWAIT | MSG_NOSIGNAL);
    if (n < 0) return; /* full: retried on the next receive */
    f->queue = p->next;
    free(p);
  }
}

static void nl_enqueue(struct fdinfo *f, const unsigned char *data, size_t len) {
  struct pending *p = malloc(sizeof(*p) + len);
  if (!p) return;
  p->next = NULL;
  p->len = len;
  memcpy(p->data, data, len);
  struct pending **tail = &f->queue;
  while (*tail) tail = &(*tail)->next;
  *tail = p;
}

static uint32_t g_next_port;
static void nl_autobind(struct fdinfo *f) {
  if (f->portid) return;
  /* As the kernel's autobind: the pid first, then negative numbers. */
  uint32_t pid = (uint32_t)getpid();
  f->portid = g_next_port++ == 0 ? pid : (uint32_t)(-4096 - (int)g_next_port);
}

static void rtnl_answer(struct fdinfo *f, const unsigned char *data, size_t len);
static ssize_t nl_send(int fd, const void *data, size_t len) {
  struct fdinfo *f = fdi(fd);
  nl_autobind(f);
  if (f->route) {
    rtnl_answer(f, data, len);
    nl_flush(f);
    return (ssize_t)len;
  }
  uint32_t head[2] = {f->portid, (f->ext_ack ? LNETEMU_NL_EXT_ACK : 0) | (f->cap_ack ? LNETEMU_NL_CAP_ACK : 0)};
  unsigned char *resp;
  size_t rl;
  int32_t rc;
  if (rpc(LNETEMU_OP_NL_SEND, head, 8, data, len, &resp, &rl, &rc, g_timeout_ms + 190000) < 0) return -1;
  size_t off = 0;
  while (rl - off >= 4) {
    uint32_t dl;
    memcpy(&dl, resp + off, 4);
    off += 4;
    if (dl > rl - off) break;
    nl_enqueue(f, resp + off, dl);
    off += dl;
  }
  free(resp);
  nl_flush(f);
  if (rc < 0) {
    errno = -rc;
    return -1;
  }
  return (ssize_t)len;
}

static void fill_nl_name(struct sockaddr *name, socklen_t *namelen) {
  if (!name || !namelen) return;
  struct sockaddr_nl sa;
  memset(&sa, 0, sizeof(sa));
  sa.nl_family = AF_NETLINK;
  size_t n = *namelen < sizeof(sa) ? *namelen : sizeof(sa);
  memcpy(name, &sa, n);
  *namelen = sizeof(sa);
}

EXPORT int socket(int domain, int type, int protocol) {
  if (active() == 1 && domain == AF_NETLINK && (protocol == NETLINK_GENERIC || protocol == NETLINK_ROUTE)) {
    int sv[2];
    int extra = type & (SOCK_CLOEXEC | SOCK_NONBLOCK);
    if (R(syscall)(SYS_socketpair, AF_UNIX, SOCK_DGRAM | extra, 0, sv) != 0) return -1;
    fd_forget(sv[0]);
    fd_forget(sv[1]);
    int hi = fcntl(sv[1], F_DUPFD_CLOEXEC, 800);
    if (hi >= 0) {
      R(close)(sv[1]);
      sv[1] = hi;
    } else {
      fcntl(sv[1], F_SETFD, FD_CLOEXEC);
    }
    int big = 4 << 20;
    R(setsockopt)(sv[1], SOL_SOCKET, SO_SNDBUF, &big, sizeof(big));
    R(setsockopt)(sv[0], SOL_SOCKET, SO_RCVBUF, &big, sizeof(big));
    struct fdinfo *f = fdi(sv[0]);
    if (!f) {
      R(close)(sv[0]);
      R(close)(sv[1]);
      errno = ENOMEM;
      return -1;
    }
    memset(f, 0, sizeof(*f));
    f->kind = FD_NETLINK;
    f->peer = sv[1];
    f->route = protocol == NETLINK_ROUTE;
    return sv[0];
  }
  return fd_forget(R(socket)(domain, type, protocol));
}

EXPORT int bind(int fd, const struct sockaddr *addr, socklen_t len) {
  if (fd_kind(fd) == FD_NETLINK) {
    struct fdinfo *f = fdi(fd);
    if (!addr || len < sizeof(struct sockaddr_nl) || addr->sa_family != AF_NETLINK) {
      errno = EINVAL;
      return -1;
    }
    const struct sockaddr_nl *nl = (const struct sockaddr_nl *)addr;
    if (nl->nl_pid) f->portid = nl->nl_pid;
    else nl_autobind(f);
    f->groups = nl->nl_groups;
    return 0;
  }
  return R(bind)(fd, addr, len);
}

EXPORT int connect(int fd, const struct sockaddr *addr, socklen_t len) {
  if (fd_kind(fd) == FD_NETLINK) {
    nl_autobind(fdi(fd));
    return 0;
  }
  return R(connect)(fd, addr, len);
}

EXPORT int getsockname(int fd, struct sockaddr *addr, socklen_t *len) {
  if (fd_kind(fd) == FD_NETLINK) {
    struct fdinfo *f = fdi(fd);
    struct sockaddr_nl sa;
    memset(&sa, 0, sizeof(sa));
    sa.nl_family = AF_NETLINK;
    sa.nl_pid = f->portid;
    sa.nl_groups = f->groups;
    if (!addr || !len) {
      errno = EFAULT;
      return -1;
    }
    size_t n = *len < sizeof(sa) ? *len : sizeof(sa);
    memcpy(addr, &sa, n);
    *len = sizeof(sa);
    return 0;
  }
  return R(getsockname)(fd, addr, len);
}

EXPORT int getpeername(int fd, struct sockaddr *addr, socklen_t *len) {
  if (fd_kind(fd) == FD_NETLINK) {
    fill_nl_name(addr, len);
    return 0;
  }
  return R(getpeername)(fd, addr, len);
}

EXPORT int setsockopt(int fd, int level, int name, const void *val, socklen_t len) {
  if (fd_kind(fd) == FD_NETLINK && level == SOL_NETLINK) {
    struct fdinfo *f = fdi(fd);
    int v = 0;
    if (!val || len < sizeof(int)) {
      errno = EINVAL;
      return -1;
    }
    memcpy(&v, val, sizeof(int));
    if (name == NETLINK_EXT_ACK) f->ext_ack = v != 0;
    else if (name == NETLINK_CAP_ACK) f->cap_ack = v != 0;
    else if (name == NETLINK_ADD_MEMBERSHIP || name == NETLINK_DROP_MEMBERSHIP) {
      if (v <= 0) {
        errno = EINVAL;
        return -1;
      }
    }
    return 0;
  }
  return R(setsockopt)(fd, level, name, val, len);
}

EXPORT int getsockopt(int fd, int level, int name, void *val, socklen_t *len) {
  if (fd_kind(fd) == FD_NETLINK && level == SOL_NETLINK) {
    struct fdinfo *f = fdi(fd);
    int v = name == NETLINK_EXT_ACK ? f->ext_ack : name == NETLINK_CAP_ACK ? f->cap_ack : 0;
    if (!val || !len || *len < sizeof(int)) {
      errno = EINVAL;
      return -1;
    }
    memcpy(val, &v, sizeof(int));
    *len = sizeof(int);
    return 0;
  }
  return R(getsockopt)(fd, level, name, val, len);
}

EXPORT ssize_t sendmsg(int fd, const struct msghdr *msg, int flags) {
  if (fd_kind(fd) == FD_NETLINK) {
    size_t total = 0;
    for (size_t i = 0; i < msg->msg_iovlen; i++) total += msg->msg_iov[i].iov_len;
    unsigned char *buf = malloc(total ? total : 1);
    if (!buf) {
      errno = ENOMEM;
      return -1;
    }
    size_t off = 0;
    for (size_t i = 0; i < msg->msg_iovlen; i++) {
      memcpy(buf + off, msg->msg_iov[i].iov_base, msg->msg_iov[i].iov_len);
      off += msg->msg_iov[i].iov_len;
    }
    ssize_t r = nl_send(fd, buf, total);
    free(buf);
    return r;
  }
  return R(sendmsg)(fd, msg, flags);
}

EXPORT ssize_t sendto(int fd, const void *buf, size_t len, int flags, const struct sockaddr *to, socklen_t tl) {
  if (fd_kind(fd) == FD_NETLINK) return nl_send(fd, buf, len);
  return R(sendto)(fd, buf, len, flags, to, tl);
}

EXPORT ssize_t send(int fd, const void *buf, size_t len, int flags) {
  if (fd_kind(fd) == FD_NETLINK) return nl_send(fd, buf, len);
  return R(send)(fd, buf, len, flags);
}

EXPORT ssize_t recvmsg(int fd, struct msghdr *msg, int flags) {
  if (fd_kind(fd) == FD_NETLINK) {
    struct fdinfo *f = fdi(fd);
    nl_flush(f);
    void *name = msg->msg_name;
    socklen_t nl = msg->msg_namelen;
    msg->msg_name = NULL;
    msg->msg_namelen = 0;
    ssize_t r = R(recvmsg)(fd, msg, flags);
    int e = errno;
    msg->msg_name = name;
    msg->msg_namelen = nl;
    if (r >= 0) {
      fill_nl_name(name, &msg->msg_namelen);
      if (!(flags & MSG_PEEK)) nl_flush(f);
    }
    errno = e;
    return r;
  }
  return R(recvmsg)(fd, msg, flags);
}

EXPORT ssize_t recvfrom(int fd, void *buf, size_t len, int flags, struct sockaddr *from, socklen_t *fl) {
  if (fd_kind(fd) == FD_NETLINK) {
    nl_flush(fdi(fd));
    ssize_t r = R(recvfrom)(fd, buf, len, flags, NULL, NULL);
    if (r >= 0) fill_nl_name(from, fl);
    return r;
  }
  return R(recvfrom)(fd, buf, len, flags, from, fl);
}

EXPORT ssize_t recv(int fd, void *buf, size_t len, int flags) {
  if (fd_kind(fd) == FD_NETLINK) nl_flush(fdi(fd));
  return R(recv)(fd, buf, len, flags);
}

/* ------------------------------------------------------------------ module parameters */
static ssize_t param_write(const char *path, const void *data, size_t len) {
  uint32_t pl = (uint32_t)strlen(path);
  size_t n = 4 + pl + len;
  unsigned char *buf = malloc(n);
  if (!buf) {
    errno = ENOMEM;
    return -1;
  }
  memcpy(buf, &pl, 4);
  memcpy(buf + 4, path, pl);
  memcpy(buf + 4 + pl, data, len);
  unsigned char *resp;
  size_t rl;
  int32_t rc;
  int r = rpc(LNETEMU_OP_PARAM_WRITE, buf, n, NULL, 0, &resp, &rl, &rc, g_timeout_ms);
  free(buf);
  free(resp);
  if (r < 0) return -1;
  if (rc < 0) {
    errno = -rc;
    return -1;
  }
  return rc;
}

EXPORT ssize_t write(int fd, const void *buf, size_t len) {
  int k = fd_kind(fd);
  if (k == FD_PARAM) return param_write(fdi(fd)->path, buf, len);
  if (k == FD_NETLINK) return nl_send(fd, buf, len);
  return R(write)(fd, buf, len);
}

EXPORT ssize_t read(int fd, void *buf, size_t len) {
  if (fd_kind(fd) == FD_NETLINK) nl_flush(fdi(fd));
  return R(read)(fd, buf, len);
}

static ssize_t cookie_write(void *c, const char *buf, size_t len) { return param_write((const char *)c, buf, len); }
static int cookie_close(void *c) {
  free(c);
  return 0;
}

/* ------------------------------------------------------------------ open family */
static int emu_openat(int dirfd, const char *path, int flags, mode_t mode) {
  if (active() != 1 || !path || !emulated_path(path)) return fd_forget((int)raw_openat(dirfd, path, flags, mode));
  if (strcmp(path, "/dev/lnet") == 0) return dev_open(flags);
  const char *rp = rw(path, 0);
  int acc = flags & O_ACCMODE;
  if (acc != O_RDONLY) {
    struct stat st;
    if (R(syscall)(SYS_newfstatat, AT_FDCWD, rp, &st, 0) != 0) return -1; /* errno ENOENT */
    if (S_ISDIR(st.st_mode)) {
      errno = EISDIR;
      return -1;
    }
    if (!(st.st_mode & 0222)) {
      errno = EACCES; /* sysfs: no store method */
      return -1;
    }
    flags &= ~(O_TRUNC | O_CREAT | O_EXCL);
    int fd = fd_forget((int)raw_openat(AT_FDCWD, rp, flags, 0));
    if (fd < 0) return -1;
    if (is_param_path(path)) {
      struct fdinfo *f = fdi(fd);
      if (f) {
        free(f->path);
        memset(f, 0, sizeof(*f));
        f->kind = FD_PARAM;
        f->path = strdup(path);
      }
    }
    return fd;
  }
  return fd_forget((int)raw_openat(AT_FDCWD, rp, flags & ~(O_CREAT | O_EXCL), 0));
}

static mode_t va_mode(int flags, va_list ap) {
  return (flags & O_CREAT) || (flags & __O_TMPFILE) == __O_TMPFILE ? (mode_t)va_arg(ap, int) : 0;
}

EXPORT int open(const char *path, int flags, ...) {
  va_list ap;
  va_start(ap, flags);
  mode_t m = va_mode(flags, ap);
  va_end(ap);
  return emu_openat(AT_FDCWD, path, flags, m);
}
EXPORT int open64(const char *path, int flags, ...) {
  va_list ap;
  va_start(ap, flags);
  mode_t m = va_mode(flags, ap);
  va_end(ap);
  return emu_openat(AT_FDCWD, path, flags | O_LARGEFILE, m);
}
EXPORT int openat(int dirfd, const char *path, int flags, ...) {
  va_list ap;
  va_start(ap, flags);
  mode_t m = va_mode(flags, ap);
  va_end(ap);
  return emu_openat(dirfd, path, flags, m);
}
EXPORT int openat64(int dirfd, const char *path, int flags, ...) {
  va_list ap;
  va_start(ap, flags);
  mode_t m = va_mode(flags, ap);
  va_end(ap);
  return emu_openat(dirfd, path, flags | O_LARGEFILE, m);
}
EXPORT int __open_2(const char *path, int flags) { return emu_openat(AT_FDCWD, path, flags, 0); }
EXPORT int __open64_2(const char *path, int flags) { return emu_openat(AT_FDCWD, path, flags | O_LARGEFILE, 0); }
EXPORT int __openat_2(int dirfd, const char *path, int flags) { return emu_openat(dirfd, path, flags, 0); }
EXPORT int __openat64_2(int dirfd, const char *path, int flags) {
  return emu_openat(dirfd, path, flags | O_LARGEFILE, 0);
}
EXPORT int creat(const char *path, mode_t mode) { return emu_openat(AT_FDCWD, path, O_CREAT | O_WRONLY | O_TRUNC, mode); }
EXPORT int creat64(const char *path, mode_t mode) {
  return emu_openat(AT_FDCWD, path, O_CREAT | O_WRONLY | O_TRUNC | O_LARGEFILE, mode);
}

static FILE *emu_fopen(const char *path, const char *mode, FILE *(*real)(const char *, const char *)) {
  if (!emulated_path(path)) return real(path, mode);
  int writing = strpbrk(mode, "wa+") != NULL;
  if (strcmp(path, "/dev/lnet") == 0) {
    int fd = dev_open(O_CLOEXEC);
    return fd < 0 ? NULL : fdopen(fd, "r+");
  }
  const char *rp = rw(path, 1);
  if (writing) {
    int fd = emu_openat(AT_FDCWD, path, O_WRONLY, 0);
    if (fd < 0) return NULL;
    R(close)(fd);
    if (g_fds && fd < FD_MAX) {
      free(g_fds[fd].path);
      memset(&g_fds[fd], 0, sizeof(g_fds[fd]));
    }
    if (is_param_path(path)) {
      cookie_io_functions_t io = {NULL, cookie_write, NULL, cookie_close};
      char *c = strdup(path);
      FILE *fp = c ? fopencookie(c, "w", io) : NULL;
      if (fp) setvbuf(fp, NULL, _IOFBF, 4096);
      return fp;
    }
    errno = EACCES;
    return NULL;
  }
  return real(rp, mode);
}
static FILE *forget_file(FILE *fp) {
  if (fp && fileno(fp) >= 0 && fd_kind(fileno(fp)) != FD_LNETDEV) fd_forget(fileno(fp));
  return fp;
}
EXPORT FILE *fopen(const char *path, const char *mode) {
  resolve_fopen();
  return forget_file(emu_fopen(path, mode, real_fopen));
}
EXPORT FILE *fopen64(const char *path, const char *mode) {
  resolve_fopen64();
  return forget_file(emu_fopen(path, mode, real_fopen64 ? real_fopen64 : R(fopen)));
}

EXPORT DIR *opendir(const char *path) { return R(opendir)(rw(path, 0)); }
/* scandir() opens its directory with glibc-internal calls: rewrite here. */
EXPORT int scandir(const char *path, struct dirent ***list, int (*sel)(const struct dirent *),
                   int (*cmp)(const struct dirent **, const struct dirent **)) {
  return R(scandir)(rw(path, 0), list, sel, cmp);
}

EXPORT int stat(const char *path, struct stat *st) { return R(stat)(rw(path, 0), st); }
EXPORT int stat64(const char *path, struct stat64 *st) { return R(stat)(rw(path, 0), (struct stat *)st); }
EXPORT int lstat(const char *path, struct stat *st) { return R(lstat)(rw(path, 0), st); }
EXPORT int lstat64(const char *path, struct stat64 *st) { return R(lstat)(rw(path, 0), (struct stat *)st); }
EXPORT int fstatat(int dirfd, const char *path, struct stat *st, int flags) {
  return R(fstatat)(dirfd, rw(path, 0), st, flags);
}
EXPORT int fstatat64(int dirfd, const char *path, struct stat64 *st, int flags) {
  return R(fstatat)(dirfd, rw(path, 0), (struct stat *)st, flags);
}
EXPORT int __xstat(int ver, const char *path, struct stat *st) { return R(__xstat)(ver, rw(path, 0), st); }
EXPORT int __xstat64(int ver, const char *path, struct stat64 *st) { return R(__xstat)(ver, rw(path, 0), (struct stat *)st); }
EXPORT int __lxstat(int ver, const char *path, struct stat *st) { return R(__lxstat)(ver, rw(path, 0), st); }
EXPORT int __lxstat64(int ver, const char *path, struct stat64 *st) { return R(__lxstat)(ver, rw(path, 0), (struct stat *)st); }
EXPORT int __fxstatat(int ver, int dirfd, const char *path, struct stat *st, int flags) {
  return R(__fxstatat)(ver, dirfd, rw(path, 0), st, flags);
}
EXPORT int __fxstatat64(int ver, int dirfd, const char *path, struct stat64 *st, int flags) {
  return R(__fxstatat)(ver, dirfd, rw(path, 0), (struct stat *)st, flags);
}
EXPORT int statx(int dirfd, const char *path, int flags, unsigned int mask, struct statx *stx) {
  return R(statx)(dirfd, rw(path, 0), flags, mask, stx);
}
EXPORT int access(const char *path, int mode) { return R(access)(rw(path, 0), mode); }
EXPORT int faccessat(int dirfd, const char *path, int mode, int flags) {
  return R(faccessat)(dirfd, rw(path, 0), mode, flags);
}
EXPORT ssize_t readlink(const char *path, char *buf, size_t len) { return R(readlink)(rw(path, 0), buf, len); }

/* glob() walks directories with glibc-internal calls: rewrite the pattern and map results back. */
static void glob_unroot(glob_t *g, size_t from) {
  size_t rl = strlen(g_root);
  for (size_t i = from; i < g->gl_pathc; i++) {
    char *p = g->gl_pathv[g->gl_offs + i];
    if (p && strncmp(p, g_root, rl) == 0) memmove(p, p + rl, strlen(p + rl) + 1);
  }
}
/* GLOB_BRACE: the alternatives of the first brace group (nested groups kept), or 0 when there is none. */
static int brace_split(const char *pat, char out[][PATH_MAX], int max) {
  const char *open = strchr(pat, '{');
  if (!open) return 0;
  int depth = 0;
  const char *close = NULL;
  for (const char *c = open; *c; c++) {
    if (*c == '{') depth++;
    else if (*c == '}' && --depth == 0) {
      close = c;
      break;
    }
  }
  if (!close) return 0;
  int n = 0;
  const char *start = open + 1;
  depth = 0;
  for (const char *c = open + 1; c <= close && n < max; c++) {
    if (*c == '{') depth++;
    else if (*c == '}' && depth > 0) depth--;
    else if ((*c == ',' && depth == 0) || c == close) {
      if ((size_t)snprintf(out[n], PATH_MAX, "%.*s%.*s%s", (int)(open - pat), pat, (int)(c - start), start, close + 1) < PATH_MAX) n++;
      start = c + 1;
    }
  }
  return n;
}
/* Expand every brace group; fills `out` (up to max patterns). */
static int brace_expand(const char *pat, char (*out)[PATH_MAX], int max) {
  char (*tmp)[PATH_MAX] = malloc(sizeof(char[PATH_MAX]) * 32);
  if (!tmp) return 0;
  int k = brace_split(pat, tmp, 32), n = 0;
  if (k == 0 && max > 0) {
    snprintf(out[0], PATH_MAX, "%s", pat);
    n = 1;
  }
  for (int i = 0; i < k && n < max; i++) n += brace_expand(tmp[i], out + n, max - n);
  free(tmp);
  return n;
}
static int emu_glob(const char *pat, int flags, int (*errf)(const char *, int), glob_t *g,
                    int (*real)(const char *, int, int (*)(const char *, int), glob_t *)) {
  if (active() == 1 && pat && (flags & GLOB_BRACE) && strchr(pat, '{') && !(flags & GLOB_APPEND)) {
    enum { MAXP = 64 };
    char (*alts)[PATH_MAX] = malloc(sizeof(char[PATH_MAX]) * MAXP);
    if (!alts) return GLOB_NOSPACE;
    int n = brace_expand(pat, alts, MAXP), any = 0, emu = 0;
    for (int i = 0; i < n; i++) emu |= emulated_path(alts[i]);
    if (!emu) {
      free(alts);
      return real(pat, flags, errf, g);
    }
    int rc = GLOB_NOMATCH, started = 0;
    for (int i = 0; i < n; i++) {
      size_t before = started ? g->gl_pathc : 0;
      int f = (flags & ~(GLOB_BRACE | GLOB_NOCHECK)) | (started ? GLOB_APPEND : 0);
      int r = real(rw(alts[i], 0), f, errf, g);
      if (r == 0 || (started && r == GLOB_NOMATCH)) {
        if (r == 0) {
          any = 1;
          glob_unroot(g, before);
        }
        started = 1;
      } else if (r != GLOB_NOMATCH) {
        rc = r;
        break;
      }
    }
    free(alts);
    if (any) return 0;
    if (started) globfree(g);
    return rc;
  }
  if (!emulated_path(pat) || (flags & GLOB_APPEND)) return real(pat, flags, errf, g);
  int rc = real(rw(pat, 0), flags, errf, g);
  if (rc != 0) return rc;
  glob_unroot(g, 0);
  return rc;
}
EXPORT int glob(const char *pat, int flags, int (*errf)(const char *, int), glob_t *g) {
  resolve_glob();
  return emu_glob(pat, flags, errf, g, real_glob);
}
EXPORT int glob64(const char *pat, int flags, int (*errf)(const char *, int), glob64_t *g) {
  resolve_glob64();
  return emu_glob(pat, flags, errf, (glob_t *)g, real_glob64 ? real_glob64 : R(glob));
}

/* ------------------------------------------------------------------ close / ioctl */
EXPORT int close(int fd) {
  int k = fd_kind(fd);
  if (k != FD_NONE) {
    struct fdinfo *f = fdi(fd);
    if (k == FD_LNETDEV) {
      unsigned char *resp;
      size_t rl;
      int32_t rc;
      if (rpc_proc(LNETEMU_OP_CLOSE_DEV, &f->handle, 4, &resp, &rl, &rc) == 0) free(resp);
    } else if (k == FD_NETLINK) {
      R(close)(f->peer);
      while (f->queue) {
        struct pending *p = f->queue;
        f->queue = p->next;
        free(p);
      }
    }
    free(f->path);
    memset(f, 0, sizeof(*f));
  }
  return R(close)(fd);
}

/* dup2/dup3 onto one of our descriptors closes it; a dup's number is new to us. */
EXPORT int dup(int fd) { return fd_forget(R(dup)(fd)); }
EXPORT int dup2(int fd, int target) {
  if (fd != target && fd_kind(target) != FD_NONE) close(target);
  return fd_forget(R(dup2)(fd, target));
}
EXPORT int dup3(int fd, int target, int flags) {
  if (fd != target && fd_kind(target) != FD_NONE) close(target);
  return fd_forget(R(dup3)(fd, target, flags));
}

static int if_ioctl(unsigned long req, void *arg, int *ret);
EXPORT int ioctl(int fd, unsigned long req, ...) {
  va_list ap;
  va_start(ap, req);
  void *arg = va_arg(ap, void *);
  va_end(ap);
  if (fd_kind(fd) == FD_LNETDEV) return dev_ioctl(fd, req, arg);
  int ret;
  if (active() == 1 && if_ioctl(req, arg, &ret)) return ret;
  return R(ioctl)(fd, req, arg);
}

/* ------------------------------------------------------------------ modules */
/* Emulated module files are small ELF objects whose section ".hpcnet_lnetemu" holds
 * "HPCNET-LNETEMU-MODULE name=<module>\n": look for that marker in the image. */
#define MOD_SCAN_MAX (64 * 1024)
static int mod_name_from_image(const unsigned char *img, size_t len, char *name, size_t cap) {
  size_t ml = strlen(LNETEMU_MODULE_MAGIC);
  const unsigned char *p = memmem(img, len, LNETEMU_MODULE_MAGIC, ml);
  if (!p) return -ENOEXEC;
  size_t off = (size_t)(p - img) + ml, i = 0;
  while (off + i < len && i + 1 < cap && img[off + i] != '\n' && img[off + i] != 0) {
    name[i] = (char)img[off + i];
    i++;
  }
  name[i] = 0;
  return i ? 0 : -ENOEXEC;
}

static int mod_load(const char *name, const char *params) {
  uint32_t nl = (uint32_t)strlen(name);
  size_t pl = params ? strlen(params) : 0;
  unsigned char *buf = malloc(4 + nl + pl + 1);
  if (!buf) {
    errno = ENOMEM;
    return -1;
  }
  memcpy(buf, &nl, 4);
  memcpy(buf + 4, name, nl);
  if (pl) memcpy(buf + 4 + nl, params, pl);
  unsigned char *resp;
  size_t rl;
  int32_t rc;
  int r = rpc(LNETEMU_OP_MOD_INIT, buf, 4 + nl + pl, NULL, 0, &resp, &rl, &rc, g_timeout_ms);
  free(buf);
  free(resp);
  if (r < 0) return -1;
  if (rc < 0) {
    errno = -rc;
    return -1;
  }
  return 0;
}

/* Load the module whose image starts with `head` (n bytes); frees head. */
static int mod_load_image(unsigned char *head, size_t n, const char *params) {
  char name[64];
  int e = mod_name_from_image(head, n, name, sizeof(name));
  free(head);
  if (e < 0) {
    errno = -e;
    return -1;
  }
  return mod_load(name, params);
}

static int emu_init_module(const void *image, unsigned long len, const char *params) {
  size_t n = len < MOD_SCAN_MAX ? len : MOD_SCAN_MAX;
  unsigned char *head = malloc(n ? n : 1);
  if (!head) {
    errno = ENOMEM;
    return -1;
  }
  if (self_read(head, (uint64_t)(uintptr_t)image, n) < 0) {
    free(head);
    errno = EFAULT;
    return -1;
  }
  return mod_load_image(head, n, params);
}

static int emu_finit_module(int fd, const char *params, int flags) {
  (void)flags;
  unsigned char *head = malloc(MOD_SCAN_MAX);
  if (!head) {
    errno = ENOMEM;
    return -1;
  }
  ssize_t n = pread(fd, head, MOD_SCAN_MAX, 0);
  if (n < 0) {
    int e = errno;
    free(head);
    errno = e;
    return -1;
  }
  return mod_load_image(head, (size_t)n, params);
}

static int emu_delete_module(const char *name, unsigned int flags) {
  uint32_t f = flags;
  unsigned char *resp;
  size_t rl;
  int32_t rc;
  if (rpc(LNETEMU_OP_MOD_DELETE, &f, 4, name, strlen(name), &resp, &rl, &rc, g_timeout_ms) < 0) return -1;
  free(resp);
  if (rc < 0) {
    errno = -rc;
    return -1;
  }
  return 0;
}

EXPORT int init_module(void *image, unsigned long len, const char *params) {
  if (active() == 1) return emu_init_module(image, len, params);
  return R(init_module)(image, len, params);
}
EXPORT int finit_module(int fd, const char *params, int flags) {
  if (active() == 1) return emu_finit_module(fd, params, flags);
  return (int)R(syscall)(SYS_finit_module, fd, params, flags);
}
EXPORT int delete_module(const char *name, unsigned int flags) {
  if (active() == 1) return emu_delete_module(name, flags);
  return R(delete_module)(name, flags);
}

EXPORT long syscall(long nr, ...) {
  va_list ap;
  va_start(ap, nr);
  long a[6];
  for (int i = 0; i < 6; i++) a[i] = va_arg(ap, long);
  va_end(ap);
  if (active() == 1) {
    if (nr == SYS_finit_module) return emu_finit_module((int)a[0], (const char *)a[1], (int)a[2]);
    if (nr == SYS_init_module) return emu_init_module((const void *)a[0], (unsigned long)a[1], (const char *)a[2]);
    if (nr == SYS_delete_module) return emu_delete_module((const char *)a[0], (unsigned int)a[1]);
  }
  return R(syscall)(nr, a[0], a[1], a[2], a[3], a[4], a[5]);
}

/* ------------------------------------------------------------------ interfaces */
/* <root>/../ifaddrs: one "NAME IPV4 PREFIXLEN" line per interface (lo excluded).
 * Interface indexes: lo 1, then the declared interfaces in order from 2. */
struct iface {
  char name[IFNAMSIZ];
  struct in_addr ip;
  int prefix;
  int index;
};
#define IFACE_MAX 64
static int load_ifaces(struct iface *ents) {
  char path[PATH_MAX];
  snprintf(path, sizeof(path), "%s/../ifaddrs", g_root);
  char text[8192];
  int fd = (int)raw_openat(AT_FDCWD, path, O_RDONLY | O_CLOEXEC, 0);
  if (fd < 0) {
    errno = EIO;
    return -1;
  }
  ssize_t n = R(read)(fd, text, sizeof(text) - 1);
  R(close)(fd);
  if (n < 0) return -1;
  text[n] = 0;
  int cnt = 0;
  strcpy(ents[0].name, "lo");
  inet_aton("127.0.0.1", &ents[0].ip);
  ents[0].prefix = 8;
  ents[0].index = 1;
  cnt = 1;
  char *save = NULL;
  for (char *line = strtok_r(text, "\n", &save); line && cnt < IFACE_MAX; line = strtok_r(NULL, "\n", &save)) {
    char nm[64], ip[64];
    int pfx = 24;
    if (sscanf(line, "%63s %63s %d", nm, ip, &pfx) < 2 || strlen(nm) >= IFNAMSIZ) continue;
    if (!inet_aton(ip, &ents[cnt].ip)) continue;
    strcpy(ents[cnt].name, nm);
    ents[cnt].prefix = pfx;
    ents[cnt].index = cnt + 1;
    cnt++;
  }
  return cnt;
}
static uint32_t if_mask(const struct iface *e) { return e->prefix <= 0 ? 0 : htonl(0xffffffffu << (32 - e->prefix)); }
static unsigned if_flags(const struct iface *e) {
  return IFF_UP | IFF_RUNNING | (e->index == 1 ? IFF_LOOPBACK : IFF_BROADCAST | IFF_MULTICAST);
}
static void if_hwaddr(const struct iface *e, unsigned char mac[6]) {
  memset(mac, 0, 6);
  if (e->index == 1) return;
  mac[0] = 0x02; /* locally administered */
  mac[5] = (unsigned char)e->index;
}
static const struct iface *if_find(const struct iface *ents, int cnt, const char *name, int index) {
  for (int i = 0; i < cnt; i++)
    if ((name && strncmp(ents[i].name, name, IFNAMSIZ) == 0) || (!name && ents[i].index == index)) return &ents[i];
  return NULL;
}

EXPORT int getifaddrs(struct ifaddrs **out) {
  if (active() != 1) return R(getifaddrs)(out);
  struct iface ents[IFACE_MAX];
  int cnt = load_ifaces(ents);
  if (cnt < 0) return -1;
  /* One block, like glibc, so that freeifaddrs() (a plain free) works. */
  struct blk {
    struct ifaddrs ifa;
    struct sockaddr_in addr, mask, bcast;
    char name[IFNAMSIZ];
  };
  struct blk *b = calloc((size_t)cnt, sizeof(struct blk));
  if (!b) {
    errno = ENOMEM;
    return -1;
  }
  for (int i = 0; i < cnt; i++) {
    strcpy(b[i].name, ents[i].name);
    uint32_t m = if_mask(&ents[i]);
    b[i].addr.sin_family = b[i].mask.sin_family = b[i].bcast.sin_family = AF_INET;
    b[i].addr.sin_addr = ents[i].ip;
    b[i].mask.sin_addr.s_addr = m;
    b[i].bcast.sin_addr.s_addr = (ents[i].ip.s_addr & m) | ~m;
    b[i].ifa.ifa_next = i + 1 < cnt ? &b[i + 1].ifa : NULL;
    b[i].ifa.ifa_name = b[i].name;
    b[i].ifa.ifa_flags = if_flags(&ents[i]);
    b[i].ifa.ifa_addr = (struct sockaddr *)&b[i].addr;
    b[i].ifa.ifa_netmask = (struct sockaddr *)&b[i].mask;
    b[i].ifa.ifa_broadaddr = i == 0 ? NULL : (struct sockaddr *)&b[i].bcast;
  }
  *out = &b[0].ifa;
  return 0;
}

EXPORT unsigned int if_nametoindex(const char *name) {
  if (active() != 1) return R(if_nametoindex)(name);
  struct iface ents[IFACE_MAX];
  int cnt = load_ifaces(ents);
  const struct iface *e = cnt > 0 ? if_find(ents, cnt, name, 0) : NULL;
  if (!e) errno = ENODEV;
  return e ? (unsigned)e->index : 0;
}
EXPORT char *if_indextoname(unsigned int index, char buf[IF_NAMESIZE]) {
  if (active() != 1) return R(if_indextoname)(index, buf);
  struct iface ents[IFACE_MAX];
  int cnt = load_ifaces(ents);
  const struct iface *e = cnt > 0 ? if_find(ents, cnt, NULL, (int)index) : NULL;
  if (!e) {
    errno = ENXIO;
    return NULL;
  }
  return strcpy(buf, e->name);
}

static void put_sin(struct sockaddr *sa, uint32_t addr) {
  struct sockaddr_in sin;
  memset(&sin, 0, sizeof(sin));
  sin.sin_family = AF_INET;
  sin.sin_addr.s_addr = addr;
  memcpy(sa, &sin, sizeof(sin));
}

/* SIOCGIF* on any socket: the emulated host's interfaces; SIOCSIF* refused
 * (the real machine's interfaces are never touched). Returns 1 when handled. */
static int if_ioctl(unsigned long req, void *arg, int *ret) {
  switch (req) {
    case SIOCGIFFLAGS: case SIOCGIFADDR: case SIOCGIFNETMASK: case SIOCGIFBRDADDR: case SIOCGIFINDEX:
    case SIOCGIFNAME: case SIOCGIFMTU: case SIOCGIFHWADDR: case SIOCGIFCONF: case SIOCGIFDSTADDR:
      break;
    case SIOCSIFFLAGS: case SIOCSIFADDR: case SIOCSIFNETMASK: case SIOCSIFBRDADDR: case SIOCSIFMTU:
    case SIOCSIFHWADDR: case SIOCSIFNAME: case SIOCSIFDSTADDR:
      errno = EPERM;
      *ret = -1;
      return 1;
    default:
      return 0;
  }
  struct iface ents[IFACE_MAX];
  int cnt = load_ifaces(ents);
  *ret = -1;
  if (cnt < 0) return 1;
  if (!arg) {
    errno = EFAULT;
    return 1;
  }
  if (req == SIOCGIFCONF) {
    struct ifconf *ic = arg;
    int need = cnt * (int)sizeof(struct ifreq);
    if (!ic->ifc_req) {
      ic->ifc_len = need;
      *ret = 0;
      return 1;
    }
    int n = 0;
    for (int i = 0; i < cnt && (n + 1) * (int)sizeof(struct ifreq) <= ic->ifc_len; i++, n++) {
      struct ifreq *r = &ic->ifc_req[n];
      memset(r, 0, sizeof(*r));
      memcpy(r->ifr_name, ents[i].name, IFNAMSIZ);
      put_sin(&r->ifr_addr, ents[i].ip.s_addr);
    }
    ic->ifc_len = n * (int)sizeof(struct ifreq);
    *ret = 0;
    return 1;
  }
  struct ifreq *r = arg;
  const struct iface *e = req == SIOCGIFNAME ? if_find(ents, cnt, NULL, r->ifr_ifindex) : if_find(ents, cnt, r->ifr_name, 0);
  if (!e) {
    errno = req == SIOCGIFNAME ? ENODEV : ENODEV;
    return 1;
  }
  uint32_t m = if_mask(e);
  switch (req) {
    case SIOCGIFFLAGS: r->ifr_flags = (short)if_flags(e); break;
    case SIOCGIFADDR: put_sin(&r->ifr_addr, e->ip.s_addr); break;
    case SIOCGIFDSTADDR: put_sin(&r->ifr_dstaddr, e->ip.s_addr); break;
    case SIOCGIFNETMASK: put_sin(&r->ifr_netmask, m); break;
    case SIOCGIFBRDADDR: put_sin(&r->ifr_broadaddr, e->index == 1 ? 0 : (e->ip.s_addr & m) | ~m); break;
    case SIOCGIFINDEX: r->ifr_ifindex = e->index; break;
    case SIOCGIFNAME: strncpy(r->ifr_name, e->name, IFNAMSIZ); break;
    case SIOCGIFMTU: r->ifr_mtu = e->index == 1 ? 65536 : 1500; break;
    case SIOCGIFHWADDR:
      memset(&r->ifr_hwaddr, 0, sizeof(r->ifr_hwaddr));
      r->ifr_hwaddr.sa_family = e->index == 1 ? ARPHRD_LOOPBACK : ARPHRD_ETHER;
      if_hwaddr(e, (unsigned char *)r->ifr_hwaddr.sa_data);
      break;
  }
  *ret = 0;
  return 1;
}

/* NETLINK_ROUTE requests: link and IPv4 address dumps/gets of the emulated
 * host; anything that would change the network is refused with EPERM. */
struct nlbuf {
  unsigned char *p;
  size_t len, cap;
};
static void *nb_put(struct nlbuf *b, size_t n) {
  size_t al = NLMSG_ALIGN(n);
  if (b->len + al > b->cap) {
    size_t c = (b->cap ? b->cap * 2 : 4096) + al;
    unsigned char *q = realloc(b->p, c);
    if (!q) return NULL;
    b->p = q;
    b->cap = c;
  }
  void *at = b->p + b->len;
  memset(at, 0, al);
  b->len += al;
  return at;
}
static void nb_attr(struct nlbuf *b, size_t msg_off, unsigned short type, const void *data, size_t n) {
  struct rtattr *a = nb_put(b, RTA_LENGTH(n));
  if (!a) return;
  a->rta_type = type;
  a->rta_len = (unsigned short)RTA_LENGTH(n);
  memcpy(RTA_DATA(a), data, n);
  ((struct nlmsghdr *)(b->p + msg_off))->nlmsg_len = (uint32_t)(b->len - msg_off);
}
static size_t nb_msg(struct nlbuf *b, uint16_t type, uint16_t flags, uint32_t seq, uint32_t pid, const void *body, size_t n) {
  size_t off = b->len;
  struct nlmsghdr *h = nb_put(b, NLMSG_HDRLEN + n);
  if (!h) return off;
  h->nlmsg_type = type;
  h->nlmsg_flags = flags;
  h->nlmsg_seq = seq;
  h->nlmsg_pid = pid;
  memcpy((unsigned char *)h + NLMSG_HDRLEN, body, n);
  h->nlmsg_len = (uint32_t)(NLMSG_HDRLEN + n);
  return off;
}
static void nb_error(struct nlbuf *b, const struct nlmsghdr *req, uint32_t pid, int err) {
  struct nlmsgerr e;
  memset(&e, 0, sizeof(e));
  e.error = err;
  e.msg = *req;
  nb_msg(b, NLMSG_ERROR, err ? 0 : NLM_F_CAPPED, req->nlmsg_seq, pid, &e, sizeof(e));
}
static void rtnl_link(struct nlbuf *b, const struct iface *e, uint16_t flags, uint32_t seq, uint32_t pid) {
  struct ifinfomsg im;
  memset(&im, 0, sizeof(im));
  im.ifi_family = AF_UNSPEC;
  im.ifi_type = e->index == 1 ? ARPHRD_LOOPBACK : ARPHRD_ETHER;
  im.ifi_index = e->index;
  im.ifi_flags = if_flags(e) | IFF_LOWER_UP;
  size_t off = nb_msg(b, RTM_NEWLINK, flags, seq, pid, &im, sizeof(im));
  nb_attr(b, off, IFLA_IFNAME, e->name, strlen(e->name) + 1);
  uint32_t mtu = e->index == 1 ? 65536 : 1500;
  nb_attr(b, off, IFLA_MTU, &mtu, 4);
  unsigned char oper = e->index == 1 ? 0 /* IF_OPER_UNKNOWN */ : 6 /* IF_OPER_UP */;
  nb_attr(b, off, IFLA_OPERSTATE, &oper, 1);
  unsigned char mac[6], bc[6];
  if_hwaddr(e, mac);
  memset(bc, e->index == 1 ? 0 : 0xff, 6);
  nb_attr(b, off, IFLA_ADDRESS, mac, 6);
  nb_attr(b, off, IFLA_BROADCAST, bc, 6);
}
static void rtnl_addr(struct nlbuf *b, const struct iface *e, uint16_t flags, uint32_t seq, uint32_t pid) {
  struct ifaddrmsg am;
  memset(&am, 0, sizeof(am));
  am.ifa_family = AF_INET;
  am.ifa_prefixlen = (unsigned char)e->prefix;
  am.ifa_flags = IFA_F_PERMANENT;
  am.ifa_scope = e->index == 1 ? RT_SCOPE_HOST : RT_SCOPE_UNIVERSE;
  am.ifa_index = (uint32_t)e->index;
  size_t off = nb_msg(b, RTM_NEWADDR, flags, seq, pid, &am, sizeof(am));
  nb_attr(b, off, IFA_ADDRESS, &e->ip, 4);
  nb_attr(b, off, IFA_LOCAL, &e->ip, 4);
  if (e->index != 1) {
    uint32_t m = if_mask(e), bc = (e->ip.s_addr & m) | ~m;
    nb_attr(b, off, IFA_BROADCAST, &bc, 4);
  }
  nb_attr(b, off, IFA_LABEL, e->name, strlen(e->name) + 1);
}
static void rtnl_answer(struct fdinfo *f, const unsigned char *data, size_t len) {
  struct iface ents[IFACE_MAX];
  int cnt = load_ifaces(ents);
  if (cnt < 0) cnt = 0;
  size_t off = 0;
  while (off + NLMSG_HDRLEN <= len) {
    struct nlmsghdr req;
    memcpy(&req, data + off, sizeof(req));
    if (req.nlmsg_len < NLMSG_HDRLEN || off + req.nlmsg_len > len) break;
    const unsigned char *body = data + off + NLMSG_HDRLEN;
    size_t blen = req.nlmsg_len - NLMSG_HDRLEN;
    struct nlbuf b = {0};
    int dump = (req.nlmsg_flags & NLM_F_DUMP) == NLM_F_DUMP;
    int err = 0;
    if (req.nlmsg_type == RTM_GETLINK || req.nlmsg_type == RTM_GETADDR) {
      int want_family = AF_UNSPEC;
      if (blen >= 1) want_family = body[0];
      if (dump) {
        for (int i = 0; i < cnt; i++) {
          if (req.nlmsg_type == RTM_GETLINK) rtnl_link(&b, &ents[i], NLM_F_MULTI, req.nlmsg_seq, f->portid);
          else if (want_family == AF_UNSPEC || want_family == AF_INET) rtnl_addr(&b, &ents[i], NLM_F_MULTI, req.nlmsg_seq, f->portid);
        }
        int zero = 0;
        nb_msg(&b, NLMSG_DONE, NLM_F_MULTI, req.nlmsg_seq, f->portid, &zero, sizeof(zero));
      } else if (req.nlmsg_type == RTM_GETLINK) {
        const struct iface *e = NULL;
        if (blen >= sizeof(struct ifinfomsg)) {
          struct ifinfomsg im;
          memcpy(&im, body, sizeof(im));
          if (im.ifi_index) e = if_find(ents, cnt, NULL, im.ifi_index);
          size_t ao = NLMSG_ALIGN(sizeof(im));
          while (!e && ao + RTA_LENGTH(0) <= blen) {
            struct rtattr a;
            memcpy(&a, body + ao, sizeof(a));
            if (a.rta_len < RTA_LENGTH(0) || ao + a.rta_len > blen) break;
            if (a.rta_type == IFLA_IFNAME) {
              char nm[IFNAMSIZ] = {0};
              size_t n = a.rta_len - RTA_LENGTH(0);
              memcpy(nm, body + ao + RTA_LENGTH(0), n < IFNAMSIZ - 1 ? n : IFNAMSIZ - 1);
              e = if_find(ents, cnt, nm, 0);
            }
            ao += RTA_ALIGN(a.rta_len);
          }
        }
        if (e) rtnl_link(&b, e, 0, req.nlmsg_seq, f->portid);
        else err = -ENODEV;
      } else err = -EOPNOTSUPP;
    } else if (dump && (req.nlmsg_type & 3) == 2) {
      /* other dumps (routes, neighbours, rules): nothing on the emulated host */
      int zero = 0;
      nb_msg(&b, NLMSG_DONE, NLM_F_MULTI, req.nlmsg_seq, f->portid, &zero, sizeof(zero));
    } else {
      err = -EPERM;
    }
    if (err || (req.nlmsg_flags & NLM_F_ACK)) nb_error(&b, &req, f->portid, err);
    if (b.len) {
      /* one datagram per reply batch, as the kernel sends a dump in skbs */
      nl_enqueue(f, b.p, b.len);
    }
    free(b.p);
    off += NLMSG_ALIGN(req.nlmsg_len);
  }
}

/* statfs(/sys/kernel/debug): debugfs is "mounted" on the emulated host, so
 * Lustre's cfs_get_param_paths() never tries to mount it on the real machine. */
#define DEBUGFS_MAGIC_NR 0x64626720
static int debugfs_path(const char *path) {
  return active() == 1 && path && strncmp(path, "/sys/kernel/debug", 17) == 0 && (path[17] == 0 || path[17] == '/');
}
EXPORT int statfs(const char *path, struct statfs *buf) {
  if (debugfs_path(path)) {
    memset(buf, 0, sizeof(*buf));
    buf->f_type = DEBUGFS_MAGIC_NR;
    buf->f_bsize = 4096;
    buf->f_namelen = 255;
    return 0;
  }
  return R(statfs)(rw(path, 0), buf);
}
_Static_assert(sizeof(struct statfs64) == sizeof(struct statfs), "LP64: statfs64 is statfs");
EXPORT int statfs64(const char *path, struct statfs64 *buf) {
  if (debugfs_path(path)) return statfs(path, (struct statfs *)buf);
  resolve_statfs64();
  if (!real_statfs64) return statfs(path, (struct statfs *)buf);
  return real_statfs64(rw(path, 0), buf);
}
EXPORT int mount(const char *src, const char *target, const char *type, unsigned long flags, const void *data) {
  if (active() == 1 && target && (debugfs_path(target) || emulated_path(target))) {
    errno = EBUSY; /* already mounted on the emulated host */
    return -1;
  }
  return R(mount)(src, target, type, flags, data);
}
