/*
 * Test client for the LNet emulator: does what lctl/lnetctl/modprobe do at
 * the libc level (open/ioctl on /dev/lnet with the reference's struct layouts,
 * raw generic netlink through libnl, libkmod module loading, sysfs text), and
 * prints results as "rc=<n> errno=<n>" plus data lines, so tests can assert
 * the kernel ABI behaviour. Built by the tests with cc; runs under the
 * emulator's LD_PRELOAD.
 *
 *   client ioctl NR HEXSTRUCT [BULKSIZE]   raw ioctl (cmd built from nr: _IOWR('e', nr, long) below 81,
 *                                           _IOWR('e', nr, lnet_ioctl_config_data) from 81), prints struct
 *                                           and, with BULKSIZE, the user buffer behind ping_buf/prcfg_bulk
 *   client ioctl-cmd HEXCMD HEXSTRUCT       raw ioctl with an explicit command value
 *   client hold-dev SECONDS                 open /dev/lnet, sleep, close
 *   client thread-open SECONDS              a thread opens /dev/lnet and exits; the process keeps the fd
 *   client concurrent PINGHEX GETNIHEX      one thread pings (PINGHEX: ping data), the main thread
 *                                           does GET_NI meanwhile; prints how long each took and
 *                                           whether the ping had ended when GET_NI returned
 *   client nl HEXMSG                        send one netlink message (libnl socket), print reply datagrams hex
 *   client nl-resolve FAMILY [GROUP]        genl_ctrl_resolve / genl_ctrl_resolve_grp (libnl-genl)
 *   client read PATH | write PATH TEXT     sysfs-style text I/O (write includes the NUL, as lnetctl)
 *   client kmod-probe NAME [OPTIONS] | kmod-remove NAME | kmod-list
 *   client fwrite PATH TEXT | glob PATTERN | stat PATH   stdio writes, glob(3) and stat(2) on emulated paths
 *   client ifaddrs
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <sys/stat.h>
#include <ifaddrs.h>
#include <libkmod.h>
#include <netlink/genl/ctrl.h>
#include <netlink/genl/genl.h>
#include <netlink/msg.h>
#include <netlink/netlink.h>
#include <netlink/socket.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

static int hexval(char c) { return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1; }
static size_t unhex(const char *s, unsigned char *out, size_t cap) {
  size_t n = 0;
  while (s[0] && s[1] && n < cap) {
    out[n++] = (unsigned char)(hexval(s[0]) << 4 | hexval(s[1]));
    s += 2;
  }
  return n;
}
static void puthex(const char *tag, const unsigned char *p, size_t n) {
  printf("%s=", tag);
  for (size_t i = 0; i < n; i++) printf("%02x", p[i]);
  printf("\n");
}
static int result(int rc) {
  printf("rc=%d errno=%d\n", rc, rc < 0 ? errno : 0);
  return 0;
}

static int dev(void) {
  int fd = open("/dev/lnet", O_RDWR | O_CLOEXEC);
  if (fd < 0) {
    printf("open errno=%d\n", errno);
    exit(0);
  }
  return fd;
}

static long now_ms(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec * 1000 + t.tv_nsec / 1000000;
}
struct pinger {
  int fd;
  unsigned char data[64];
  unsigned char ids[256];
  int rc, err;
  long ms;
  volatile int started, done;
};
static void *ping_thread(void *arg) {
  struct pinger *p = arg;
  void *b = p->ids;
  memcpy(p->data + 40, &b, 8);
  long t0 = now_ms();
  p->started = 1;
  p->rc = ioctl(p->fd, 0xc008653eul, p->data);
  p->err = p->rc < 0 ? errno : 0;
  p->ms = now_ms() - t0;
  p->done = 1;
  return NULL;
}
static void *open_thread(void *arg) {
  *(int *)arg = open("/dev/lnet", O_RDWR | O_CLOEXEC);
  return NULL;
}
static unsigned char buf[256 * 1024];
static unsigned char bulk[256 * 1024];

int main(int argc, char **argv) {
  setvbuf(stdout, NULL, _IOLBF, 0);
  if (argc < 2) return 2;
  const char *cmd = argv[1];
  if (!strcmp(cmd, "ioctl") || !strcmp(cmd, "ioctl-cmd")) {
    unsigned long req = !strcmp(cmd, "ioctl") ? (0xc0000000ul | (unsigned long)(strtoul(argv[2], 0, 0) >= 81 ? 184 : 8) << 16 | 'e' << 8 | strtoul(argv[2], 0, 0))
                                              : strtoul(argv[2], 0, 16);
    size_t n = unhex(argv[3], buf, sizeof(buf));
    size_t bn = argc > 4 ? strtoul(argv[4], 0, 0) : 0;
    /* user pointers the callers need: ping_buf (ping/discover @40), prcfg_bulk (peer @40) */
    int nr = (int)(req & 0xff);
    if (bn && (nr == 62 || nr == 77 || nr == 100 || nr == 94)) {
      void *p = bulk;
      memcpy(buf + 40, &p, 8);
    }
    if (bn && nr == 61) { /* legacy ping: ioc_pbuf1 */
      void *p = bulk;
      memcpy(buf + 104, &p, 8);
    }
    int fd = dev();
    int rc = ioctl(fd, req, buf);
    result(rc);
    puthex("data", buf, n);
    if (bn) puthex("bulk", bulk, bn);
    close(fd);
    return 0;
  }
  if (!strcmp(cmd, "thread-open")) {
    static int tfd = -1;
    pthread_t th;
    pthread_create(&th, NULL, open_thread, &tfd);
    pthread_join(th, NULL);
    printf("opened fd=%d\n", tfd);
    sleep((unsigned)atoi(argv[2]));
    close(tfd);
    return 0;
  }
  if (!strcmp(cmd, "concurrent")) {
    int fd = dev();
    static struct pinger p;
    p.fd = fd;
    unhex(argv[2], p.data, sizeof(p.data));
    pthread_t th;
    pthread_create(&th, NULL, ping_thread, &p);
    while (!p.started) usleep(1000);
    usleep(100000);
    unsigned char g[128];
    unhex(argv[3], g, sizeof(g));
    long t0 = now_ms();
    int rc = ioctl(fd, 0xc0086532ul, g);
    printf("getni rc=%d ms=%ld pingdone=%d\n", rc, now_ms() - t0, p.done);
    pthread_join(th, NULL);
    printf("ping rc=%d errno=%d ms=%ld\n", p.rc, p.err, p.ms);
    close(fd);
    return 0;
  }
  if (!strcmp(cmd, "hold-dev")) {
    int fd = dev();
    printf("opened\n");
    sleep((unsigned)atoi(argv[2]));
    close(fd);
    return 0;
  }
  if (!strcmp(cmd, "nl")) {
    struct nl_sock *sk = nl_socket_alloc();
    if (nl_connect(sk, NETLINK_GENERIC) < 0) {
      printf("connect failed\n");
      return 1;
    }
    int one = 1;
    setsockopt(nl_socket_get_fd(sk), SOL_NETLINK, NETLINK_EXT_ACK, &one, sizeof(one));
    size_t n = unhex(argv[2], buf, sizeof(buf));
    struct nlmsghdr *h = (struct nlmsghdr *)buf;
    h->nlmsg_pid = nl_socket_get_local_port(sk);
    if (argc > 3) h->nlmsg_seq = (uint32_t)strtoul(argv[3], 0, 0);
    int fd = nl_socket_get_fd(sk);
    ssize_t s = send(fd, buf, n, 0);
    printf("sent=%zd port=%u\n", s, nl_socket_get_local_port(sk));
    for (;;) {
      struct timeval tv = {2, 0};
      setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
      ssize_t r = recv(fd, bulk, sizeof(bulk), 0);
      if (r <= 0) break;
      puthex("dgram", bulk, (size_t)r);
      /* stop after DONE or ERROR */
      size_t off = 0;
      int last = 0;
      while (off + 16 <= (size_t)r) {
        struct nlmsghdr *m = (struct nlmsghdr *)(bulk + off);
        if (m->nlmsg_len < 16) break;
        last = m->nlmsg_type;
        off += NLMSG_ALIGN(m->nlmsg_len);
      }
      /* a dump ends with DONE (or ERROR); a doit with its ack (ERROR), even after a DONE-terminated reply */
      int dump = (h->nlmsg_flags & NLM_F_DUMP) == NLM_F_DUMP;
      if (last == NLMSG_ERROR || (dump && last == NLMSG_DONE)) break;
    }
    nl_socket_free(sk);
    return 0;
  }
  if (!strcmp(cmd, "nl-resolve")) {
    struct nl_sock *sk = nl_socket_alloc();
    if (genl_connect(sk) < 0) {
      printf("connect failed\n");
      return 1;
    }
    int id = genl_ctrl_resolve(sk, argv[2]);
    printf("family=%d\n", id);
    if (argc > 3) printf("group=%d\n", genl_ctrl_resolve_grp(sk, argv[2], argv[3]));
    nl_socket_free(sk);
    return 0;
  }
  if (!strcmp(cmd, "read")) {
    int fd = open(argv[2], O_RDONLY | O_CLOEXEC);
    if (fd < 0) return printf("open errno=%d\n", errno), 0;
    char t[65536];
    ssize_t n = read(fd, t, sizeof(t) - 1);
    close(fd);
    if (n < 0) return printf("read errno=%d\n", errno), 0;
    t[n] = 0;
    printf("%s", t);
    return 0;
  }
  if (!strcmp(cmd, "write")) {
    int fd = open(argv[2], O_WRONLY | O_TRUNC | O_CLOEXEC);
    if (fd < 0) return printf("open errno=%d\n", errno), 0;
    ssize_t n = write(fd, argv[3], strlen(argv[3]) + 1);
    printf("write=%zd errno=%d\n", n, n < 0 ? errno : 0);
    close(fd);
    return 0;
  }
  if (!strncmp(cmd, "kmod-", 5)) {
    struct kmod_ctx *ctx = kmod_new(NULL, NULL);
    if (!ctx) return printf("kmod_new failed\n"), 1;
    int lr = kmod_load_resources(ctx);
    if (lr < 0) printf("load_resources=%d\n", lr);
    if (!strcmp(cmd, "kmod-probe")) {
      struct kmod_list *l = NULL, *it;
      int r = kmod_module_new_from_lookup(ctx, argv[2], &l);
      if (r < 0 || !l) return printf("lookup=%d found=0\n", r), 0;
      kmod_list_foreach(it, l) {
        struct kmod_module *m = kmod_module_get_module(it);
        r = kmod_module_probe_insert_module(m, 0, argc > 3 ? argv[3] : NULL, NULL, NULL, NULL);
        printf("probe %s path=%s rc=%d\n", kmod_module_get_name(m), kmod_module_get_path(m), r);
        kmod_module_unref(m);
      }
      kmod_module_unref_list(l);
    } else if (!strcmp(cmd, "kmod-remove")) {
      struct kmod_module *m;
      kmod_module_new_from_name(ctx, argv[2], &m);
      int r = kmod_module_remove_module(m, 0);
      printf("remove %s rc=%d\n", argv[2], r);
      kmod_module_unref(m);
    } else if (!strcmp(cmd, "kmod-list")) {
      struct kmod_list *l = NULL, *it;
      kmod_module_new_from_loaded(ctx, &l);
      kmod_list_foreach(it, l) {
        struct kmod_module *m = kmod_module_get_module(it);
        printf("%s refcnt=%d state=%s holders=", kmod_module_get_name(m), kmod_module_get_refcnt(m),
               kmod_module_initstate_str(kmod_module_get_initstate(m)));
        struct kmod_list *hl = kmod_module_get_holders(m), *hi;
        kmod_list_foreach(hi, hl) {
          struct kmod_module *hm = kmod_module_get_module(hi);
          printf("%s,", kmod_module_get_name(hm));
          kmod_module_unref(hm);
        }
        kmod_module_unref_list(hl);
        printf("\n");
        kmod_module_unref(m);
      }
      kmod_module_unref_list(l);
    }
    kmod_unref(ctx);
    return 0;
  }
  if (!strcmp(cmd, "fwrite")) {
    FILE *f = fopen(argv[2], "w");
    if (!f) return printf("fopen errno=%d\n", errno), 0;
    fputs(argv[3], f);
    int fl = fflush(f);
    int fe = errno;
    int cl = fclose(f);
    printf("fflush=%d errno=%d fclose=%d\n", fl, fl ? fe : 0, cl);
    return 0;
  }
  if (!strcmp(cmd, "glob")) {
    glob_t g;
    int rc = glob(argv[2], 0, NULL, &g);
    printf("glob=%d\n", rc);
    for (size_t i = 0; rc == 0 && i < g.gl_pathc; i++) printf("%s\n", g.gl_pathv[i]);
    if (rc == 0) globfree(&g);
    return 0;
  }
  if (!strcmp(cmd, "stat")) {
    struct stat st;
    int rc = stat(argv[2], &st);
    printf("stat=%d errno=%d mode=%o\n", rc, rc ? errno : 0, rc ? 0 : (unsigned)(st.st_mode & 07777));
    return 0;
  }
  if (!strcmp(cmd, "ifaddrs")) {
    struct ifaddrs *ifa, *i;
    if (getifaddrs(&ifa) < 0) return printf("errno=%d\n", errno), 0;
    for (i = ifa; i; i = i->ifa_next) {
      char a[64] = "";
      if (i->ifa_addr && i->ifa_addr->sa_family == AF_INET) inet_ntop(AF_INET, &((struct sockaddr_in *)i->ifa_addr)->sin_addr, a, sizeof(a));
      printf("%s %s\n", i->ifa_name, a);
    }
    freeifaddrs(ifa);
    return 0;
  }
  fprintf(stderr, "unknown command %s\n", cmd);
  return 2;
}
