/*
 * Makes the calls Lustre's tools make for the features of issue 14, so that
 * tests can run them under the LNet emulator's preload without lctl/lnetctl:
 *   fault drop|delay add SRC DST [-r RATE] [-i INTERVAL] [-l LATENCY] [-m put|get|ack|reply]
 *   fault drop|delay del SRC DST | del -a | reset | list
 *       lctl net_drop_* and net_delay_* (lustre/utils/portals.c): IOC_LIBCFS_LNET_FAULT,
 *       a libcfs_ioctl_data packed as libcfs_ioctl_pack() does, struct
 *       lnet_fault_attr in inline buffer 1 (and lnet_fault_stat in buffer 2 for
 *       list, whose loop ends on the first error); prints what lctl prints.
 *   health set local|peer all|NID VALUE    IOC_LIBCFS_SET_HEALHV (lnet_ioctl_reset_health_cfg)
 *   recovery local|peer                    IOC_LIBCFS_GET_RECOVERY_QUEUE (lnet_ioctl_recovery_list)
 *   udsp add [--src D] [--dst D] [--rte D] [--priority N] [--idx N] | udsp del IDX | udsp show
 *                                          lnetctl udsp (liblnetconfig_udsp.c): IOC_LIBCFS_ADD_UDSP with the
 *                                          marshalled descriptors, DEL_UDSP, GET_UDSP_SIZE then GET_UDSP per index
 *                                          until ENOENT; D is NET or A.B.C.D@NET with octets N, * or [a-b]
 *   param 2.15|2.16 NAME                   cfs_get_param_paths(): statfs/mount of debugfs, glob(GLOB_BRACE)
 *                                          over the release's top directories; prints paths and the first file
 *   intf NAME                              2.15 liblnetconfig's interface check: SIOCGIFFLAGS + SIOCGIFADDR
 *   netdown                                lctl net down on the ioctl path (IOC_LIBCFS_UNCONFIGURE), lctl's messages
 *   ifconf | ifaddrs | rtnl | sysnet       SIOCGIFCONF, getifaddrs(), RTM_GETLINK/RTM_GETADDR dumps, /sys/class/net
 * Struct layouts are the release headers' (lnetctl.h, lnet-dlc.h, libcfs_ioctl.h)
 * and are checked at compile time.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <glob.h>
#include <ifaddrs.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/vfs.h>
#include <fcntl.h>
#include <unistd.h>

typedef uint64_t lnet_nid_t;
#define LNET_NID_ANY ((lnet_nid_t)-1)

struct libcfs_ioctl_hdr { uint32_t ioc_len, ioc_version; };
struct libcfs_ioctl_data {
  struct libcfs_ioctl_hdr ioc_hdr;
  uint64_t ioc_nid;
  uint64_t ioc_u64[1];
  uint32_t ioc_flags, ioc_count, ioc_net, ioc_u32[7];
  uint32_t ioc_inllen1;
  char *ioc_inlbuf1;
  uint32_t ioc_inllen2;
  char *ioc_inlbuf2;
  uint32_t ioc_plen1;
  void *ioc_pbuf1;
  uint32_t ioc_plen2;
  void *ioc_pbuf2;
  char ioc_bulk[];
};
_Static_assert(sizeof(struct libcfs_ioctl_data) == 128, "libcfs_ioctl_data");

struct lnet_fault_attr {
  lnet_nid_t fa_src, fa_dst, fa_local_nid;
  uint64_t fa_ptl_mask;
  uint32_t fa_msg_mask;
  union {
    struct { uint32_t da_rate, da_interval, da_health_error_mask; bool da_random, da_drop_all; } drop;
    struct { uint32_t la_rate, la_interval, la_latency; } delay;
    uint64_t space[8];
  } u;
};
struct lnet_fault_stat {
  uint64_t fs_count, fs_put, fs_ack, fs_get, fs_reply;
  union {
    struct { uint64_t ds_dropped; } drop;
    struct { uint64_t ls_delayed; } delay;
    uint64_t space[8];
  } u;
};
_Static_assert(sizeof(struct lnet_fault_attr) == 104, "lnet_fault_attr");
_Static_assert(offsetof(struct lnet_fault_attr, fa_msg_mask) == 32, "fa_msg_mask");
_Static_assert(offsetof(struct lnet_fault_attr, u.drop.da_random) == 52, "da_random");
_Static_assert(offsetof(struct lnet_fault_attr, u.delay.la_latency) == 48, "la_latency");
_Static_assert(sizeof(struct lnet_fault_stat) == 104, "lnet_fault_stat");
_Static_assert(offsetof(struct lnet_fault_stat, u.drop.ds_dropped) == 40, "ds_dropped");

struct lnet_ioctl_reset_health_cfg {
  struct libcfs_ioctl_hdr rh_hdr;
  uint32_t rh_type;
  uint16_t rh_all : 1;
  int16_t rh_value;
  lnet_nid_t rh_nid;
};
_Static_assert(sizeof(struct lnet_ioctl_reset_health_cfg) == 24, "reset_health_cfg");
struct lnet_ioctl_recovery_list {
  struct libcfs_ioctl_hdr rlst_hdr;
  uint32_t rlst_type;
  int32_t rlst_num_nids;
  lnet_nid_t rlst_nid_array[128];
};
_Static_assert(sizeof(struct lnet_ioctl_recovery_list) == 1040, "recovery_list");

#define V1 0x0001000a
#define V2 0x0001000b
#define IOC_LIBCFS_LNET_FAULT _IOWR('e', 64, long)
#define IOC_LIBCFS_SET_HEALHV _IOWR('e', 102, char[184])
#define IOC_LIBCFS_GET_RECOVERY_QUEUE _IOWR('e', 104, char[184])
/* LIBCFS_IOC_INIT_V2 (libcfs/util/ioctl.h) */
#define IOC_INIT_V2(d, hdr) do { memset(&(d), 0, sizeof(d)); (d).hdr.ioc_version = V2; (d).hdr.ioc_len = sizeof(d); } while (0)
enum { DROP_ADD, DROP_DEL, DROP_RESET, DROP_LIST, DELAY_ADD, DELAY_DEL, DELAY_RESET, DELAY_LIST };

/* ------------------------------------------------------------------ NIDs (tcp/o2ib) */
static uint32_t str2net(const char *s) {
  static const struct { const char *n; uint32_t t; } tab[] = {{"tcp", 2}, {"o2ib", 5}, {"lo", 9}};
  for (size_t i = 0; i < 3; i++) {
    size_t l = strlen(tab[i].n);
    if (strncmp(s, tab[i].n, l) == 0) return (tab[i].t << 16) | (uint32_t)atoi(s + l);
  }
  return 0xffffffff;
}
static lnet_nid_t str2nid(const char *s) {
  if (!strcmp(s, "*")) return LNET_NID_ANY;
  const char *at = strchr(s, '@');
  uint32_t net = at ? str2net(at + 1) : str2net("tcp");
  if (s[0] == '*' && at == s + 1) return ((uint64_t)net << 32) | 0xffffffffu;
  char ip[64] = {0};
  snprintf(ip, sizeof(ip), "%.*s", at ? (int)(at - s) : (int)strlen(s), s);
  struct in_addr a;
  if (!inet_aton(ip, &a)) return 0;
  return ((uint64_t)net << 32) | ntohl(a.s_addr);
}
static const char *nid2str(lnet_nid_t nid, char *buf) {
  if (nid == LNET_NID_ANY) return strcpy(buf, "<?>");
  uint32_t net = (uint32_t)(nid >> 32), addr = (uint32_t)nid, t = net >> 16, num = net & 0xffff;
  const char *name = t == 2 ? "tcp" : t == 5 ? "o2ib" : t == 9 ? "lo" : "?";
  char n[32];
  if (num) snprintf(n, sizeof(n), "%s%u", name, num);
  else snprintf(n, sizeof(n), "%s", name);
  if (t == 9) sprintf(buf, "%u@%s", addr, n);
  else sprintf(buf, "%u.%u.%u.%u@%s", addr >> 24, (addr >> 16) & 255, (addr >> 8) & 255, addr & 255, n);
  return buf;
}

/* ------------------------------------------------------------------ /dev/lnet */
static int l_ioctl(unsigned long cmd, void *arg) {
  static int fd = -1;
  if (fd < 0) fd = open("/dev/lnet", O_RDWR);
  if (fd < 0) {
    fprintf(stderr, "opening /dev/lnet failed: %s\n", strerror(errno));
    return -errno;
  }
  int rc = ioctl(fd, cmd, arg);
  return rc < 0 ? -errno : rc;
}
/* libcfs_ioctl_pack(): header then the inline buffers, each padded to 8. */
static char ioc_buf[8192];
static int pack(struct libcfs_ioctl_data *d) {
  size_t r1 = (d->ioc_inllen1 + 7) & ~7u, r2 = (d->ioc_inllen2 + 7) & ~7u;
  d->ioc_hdr.ioc_len = (uint32_t)(sizeof(*d) + r1 + r2);
  d->ioc_hdr.ioc_version = V1;
  memset(ioc_buf, 0, sizeof(ioc_buf));
  memcpy(ioc_buf, d, sizeof(*d));
  if (d->ioc_inllen1) memcpy(ioc_buf + sizeof(*d), d->ioc_inlbuf1, d->ioc_inllen1);
  if (d->ioc_inllen2) memcpy(ioc_buf + sizeof(*d) + r1, d->ioc_inlbuf2, d->ioc_inllen2);
  return 0;
}
static void unpack(struct libcfs_ioctl_data *d, struct lnet_fault_attr *a, struct lnet_fault_stat *s) {
  memcpy(d, ioc_buf, sizeof(*d));
  if (a) memcpy(a, ioc_buf + sizeof(*d), sizeof(*a));
  if (s) memcpy(s, ioc_buf + sizeof(*d) + ((sizeof(*a) + 7) & ~7u), sizeof(*s));
}

/* A fault ioctl that carries a rule (add, del): the attributes as the first inline buffer. */
static int fault_rule_ioctl(struct libcfs_ioctl_data *data, uint32_t opc, struct lnet_fault_attr *attr) {
  data->ioc_flags = opc;
  data->ioc_inllen1 = sizeof(*attr);
  data->ioc_inlbuf1 = (char *)attr;
  pack(data);
  return l_ioctl(IOC_LIBCFS_LNET_FAULT, ioc_buf);
}

static int fault(int argc, char **argv) {
  if (argc < 2) return 2;
  int delay = !strcmp(argv[0], "delay");
  const char *name = delay ? "delay" : "drop";
  const char *op = argv[1];
  char b1[64], b2[64];
  struct libcfs_ioctl_data data;
  struct lnet_fault_attr attr;
  struct lnet_fault_stat stat;
  memset(&data, 0, sizeof(data));
  memset(&attr, 0, sizeof(attr));
  if (!strcmp(op, "add")) {
    if (argc < 4) return 2;
    attr.fa_src = str2nid(argv[2]);
    attr.fa_dst = str2nid(argv[3]);
    attr.fa_local_nid = LNET_NID_ANY;
    for (int i = 4; i + 1 < argc; i += 2) {
      uint32_t v = (uint32_t)strtoul(argv[i + 1], NULL, 0);
      if (!strcmp(argv[i], "-r")) *(delay ? &attr.u.delay.la_rate : &attr.u.drop.da_rate) = v;
      else if (!strcmp(argv[i], "-i")) *(delay ? &attr.u.delay.la_interval : &attr.u.drop.da_interval) = v;
      else if (!strcmp(argv[i], "-l")) attr.u.delay.la_latency = v;
      else if (!strcmp(argv[i], "-m")) attr.fa_msg_mask |= !strcmp(argv[i + 1], "ack") ? 1 : !strcmp(argv[i + 1], "put") ? 2 : !strcmp(argv[i + 1], "get") ? 4 : 8;
    }
    int rc = fault_rule_ioctl(&data, delay ? DELAY_ADD : DROP_ADD, &attr);
    if (rc) {
      fprintf(stderr, "add %s rule %s->%s failed: %s\n", name, nid2str(attr.fa_src, b1), nid2str(attr.fa_dst, b2), strerror(-rc));
      return 1;
    }
    printf("Added %s rule %s->%s (1/%d)\n", name, nid2str(attr.fa_src, b1), nid2str(attr.fa_dst, b2), delay ? attr.u.delay.la_rate : attr.u.drop.da_rate);
    return 0;
  }
  if (!strcmp(op, "del")) {
    int all = argc > 2 && !strcmp(argv[2], "-a");
    if (!all && argc >= 4) {
      attr.fa_src = str2nid(argv[2]);
      attr.fa_dst = str2nid(argv[3]);
    }
    int rc = fault_rule_ioctl(&data, delay ? DELAY_DEL : DROP_DEL, &attr);
    if (rc) {
      fprintf(stderr, "remove %s rule failed: %s\n", name, strerror(-rc));
      return 1;
    }
    unpack(&data, NULL, NULL);
    printf("Removed %d %s rules\n", data.ioc_count, name);
    return 0;
  }
  if (!strcmp(op, "reset")) {
    data.ioc_hdr.ioc_len = sizeof(data);
    data.ioc_hdr.ioc_version = V1;
    data.ioc_flags = delay ? DELAY_RESET : DROP_RESET;
    int rc = l_ioctl(IOC_LIBCFS_LNET_FAULT, &data);
    if (rc) {
      fprintf(stderr, "failed to reset %s stats: %s\n", name, strerror(-rc));
      return 1;
    }
    return 0;
  }
  if (!strcmp(op, "list")) {
    int pos, rc = 0;
    printf("LNet %s rules:\n", name);
    for (pos = 0; pos < 10000; pos++) {
      memset(&attr, 0, sizeof(attr));
      memset(&stat, 0, sizeof(stat));
      memset(&data, 0, sizeof(data));
      data.ioc_count = (uint32_t)pos;
      data.ioc_flags = delay ? DELAY_LIST : DROP_LIST;
      data.ioc_inllen1 = sizeof(attr);
      data.ioc_inlbuf1 = (char *)&attr;
      data.ioc_inllen2 = sizeof(stat);
      data.ioc_inlbuf2 = (char *)&stat;
      pack(&data);
      rc = l_ioctl(IOC_LIBCFS_LNET_FAULT, ioc_buf);
      if (rc) break;
      unpack(&data, &attr, &stat);
      char lat[32] = "";
      if (delay) snprintf(lat, sizeof(lat), ", latency %d", attr.u.delay.la_latency);
      /* the drop and delay members of the unions share their offsets */
      printf("%s->%s (1/%d | %d%s) ptl %#jx, msg %x, %ju/%ju, PUT %ju, ACK %ju, GET %ju, REP %ju\n", nid2str(attr.fa_src, b1), nid2str(attr.fa_dst, b2),
             attr.u.drop.da_rate, attr.u.drop.da_interval, lat, (uintmax_t)attr.fa_ptl_mask, attr.fa_msg_mask, (uintmax_t)stat.u.drop.ds_dropped,
             (uintmax_t)stat.fs_count, (uintmax_t)stat.fs_put, (uintmax_t)stat.fs_ack, (uintmax_t)stat.fs_get, (uintmax_t)stat.fs_reply);
    }
    printf("found total %d\n", pos);
    printf("end errno=%d\n", -rc);
    return pos >= 10000 ? 3 : 0;
  }
  return 2;
}

static int health(int argc, char **argv) {
  if (argc < 4) return 2;
  struct lnet_ioctl_reset_health_cfg h;
  IOC_INIT_V2(h, rh_hdr);
  h.rh_type = !strcmp(argv[1], "peer");
  h.rh_all = !strcmp(argv[2], "all");
  h.rh_nid = h.rh_all ? LNET_NID_ANY : str2nid(argv[2]);
  h.rh_value = (int16_t)atoi(argv[3]);
  int rc = l_ioctl(IOC_LIBCFS_SET_HEALHV, &h);
  printf("rc=%d\n", rc);
  return rc ? 1 : 0;
}
static int recovery(int argc, char **argv) {
  if (argc < 2) return 2;
  struct lnet_ioctl_recovery_list l;
  IOC_INIT_V2(l, rlst_hdr);
  l.rlst_type = !strcmp(argv[1], "peer");
  int rc = l_ioctl(IOC_LIBCFS_GET_RECOVERY_QUEUE, &l);
  printf("rc=%d count=%d\n", rc, l.rlst_num_nids);
  char b[64];
  for (int i = 0; i < l.rlst_num_nids && i < 128; i++) printf("nid: %s\n", nid2str(l.rlst_nid_array[i], b));
  return rc ? 1 : 0;
}

/* ------------------------------------------------------------------ UDSP */
struct lnet_ioctl_udsp {
  struct libcfs_ioctl_hdr iou_hdr;
  int32_t iou_idx;
  uint32_t iou_action_type;
  uint32_t iou_bulk_size;
  union { uint32_t priority; } iou_action;
  void *iou_bulk;
};
_Static_assert(sizeof(struct lnet_ioctl_udsp) == 32, "lnet_ioctl_udsp");
struct lnet_range_expr { uint32_t re_lo, re_hi, re_stride; };
struct lnet_expressions { uint32_t le_count; };
struct lnet_ioctl_udsp_descr_hdr { uint32_t ud_descr_type, ud_descr_count; };
struct lnet_ioctl_udsp_net_descr { uint32_t ud_net_type; struct lnet_expressions ud_net_num_expr; };
struct lnet_ioctl_udsp_descr { struct lnet_ioctl_udsp_descr_hdr iud_src_hdr; struct lnet_ioctl_udsp_net_descr iud_net; };
_Static_assert(sizeof(struct lnet_ioctl_udsp_descr) == 16, "lnet_ioctl_udsp_descr");
#define IOC_LIBCFS_ADD_UDSP _IOWR('e', 105, char[184])
#define IOC_LIBCFS_DEL_UDSP _IOWR('e', 106, char[184])
#define IOC_LIBCFS_GET_UDSP_SIZE _IOWR('e', 107, char[184])
#define IOC_LIBCFS_GET_UDSP _IOWR('e', 108, char[184])

static void put32(unsigned char **p, uint32_t v) { memcpy(*p, &v, 4); *p += 4; }
/* One descriptor as copy_nid_range() marshals it; returns bytes written. */
static size_t marshal_descr(const char *type, const char *d, unsigned char *out) {
  unsigned char *p = out;
  uint32_t t;
  memcpy(&t, type, 4);
  if (!d) {
    struct lnet_ioctl_udsp_descr z;
    memset(&z, 0, sizeof(z));
    z.iud_src_hdr.ud_descr_type = t;
    memcpy(p, &z, sizeof(z));
    return sizeof(z);
  }
  const char *at = strchr(d, '@');
  const char *netstr = at ? at + 1 : d;
  uint32_t net = str2net(netstr);
  put32(&p, t);
  put32(&p, at ? 4 : 0);
  put32(&p, net >> 16);
  put32(&p, 1);
  put32(&p, net & 0xffff); put32(&p, net & 0xffff); put32(&p, 1);
  if (at) {
    const char *c = d;
    for (int i = 0; i < 4; i++) {
      unsigned lo, hi;
      if (*c == '*') { lo = 0; hi = 255; c++; }
      else if (*c == '[') { sscanf(c, "[%u-%u]", &lo, &hi); c = strchr(c, ']') + 1; }
      else { lo = hi = (unsigned)strtoul(c, (char **)&c, 10); }
      put32(&p, 1); put32(&p, lo); put32(&p, hi); put32(&p, 1);
      if (*c == '.') c++;
    }
  }
  return (size_t)(p - out);
}
static const unsigned char *show_descr(const char *name, const unsigned char *p) {
  struct lnet_ioctl_udsp_descr h;
  memcpy(&h, p, sizeof(h));
  p += sizeof(h);
  printf("      %s: ", name);
  if (!h.iud_net.ud_net_type) { printf("NA\n"); return p; }
  printf("type %u net", h.iud_net.ud_net_type);
  for (uint32_t i = 0; i < h.iud_net.ud_net_num_expr.le_count; i++, p += 12) {
    struct lnet_range_expr r; memcpy(&r, p, 12);
    printf(" [%u-%u/%u]", r.re_lo, r.re_hi, r.re_stride);
  }
  for (uint32_t e = 0; e < h.iud_src_hdr.ud_descr_count; e++) {
    struct lnet_expressions x; memcpy(&x, p, 4); p += 4;
    printf(e ? "." : " addr ");
    for (uint32_t i = 0; i < x.le_count; i++, p += 12) {
      struct lnet_range_expr r; memcpy(&r, p, 12);
      printf("[%u-%u/%u]", r.re_lo, r.re_hi, r.re_stride);
    }
  }
  printf("\n");
  return p;
}
static int udsp(int argc, char **argv) {
  if (argc < 2) return 2;
  if (!strcmp(argv[1], "add")) {
    const char *src = NULL, *dst = NULL, *rte = NULL;
    int prio = -1, idx = -1;
    for (int i = 2; i + 1 < argc; i += 2) {
      if (!strcmp(argv[i], "--src")) src = argv[i + 1];
      else if (!strcmp(argv[i], "--dst")) dst = argv[i + 1];
      else if (!strcmp(argv[i], "--rte")) rte = argv[i + 1];
      else if (!strcmp(argv[i], "--priority")) prio = atoi(argv[i + 1]);
      else if (!strcmp(argv[i], "--idx")) idx = atoi(argv[i + 1]);
    }
    unsigned char *buf = calloc(1, 4096), *p = buf + sizeof(struct lnet_ioctl_udsp);
    p += marshal_descr("SRC", src, p);
    p += marshal_descr("DST", dst, p);
    p += marshal_descr("RTE", rte, p);
    struct lnet_ioctl_udsp *u = (struct lnet_ioctl_udsp *)buf;
    u->iou_hdr.ioc_version = V2;
    u->iou_hdr.ioc_len = (uint32_t)(p - buf);
    u->iou_bulk_size = (uint32_t)(p - buf - sizeof(*u));
    u->iou_idx = idx;
    u->iou_action_type = 1; /* EN_LNET_UDSP_ACTION_PRIORITY */
    u->iou_action.priority = prio < 0 ? 0 : (uint32_t)prio;
    u->iou_bulk = buf + sizeof(*u);
    int rc = l_ioctl(IOC_LIBCFS_ADD_UDSP, buf);
    printf("rc=%d\n", rc);
    free(buf);
    return rc ? 1 : 0;
  }
  if (!strcmp(argv[1], "del") && argc > 2) {
    struct lnet_ioctl_udsp u;
    IOC_INIT_V2(u, iou_hdr);
    u.iou_idx = atoi(argv[2]);
    int rc = l_ioctl(IOC_LIBCFS_DEL_UDSP, &u);
    printf("rc=%d\n", rc);
    return rc ? 1 : 0;
  }
  if (!strcmp(argv[1], "show")) {
    printf("udsp:\n");
    int i, rc = 0;
    for (i = 0;; i++) {
      struct lnet_ioctl_udsp get_size;
      IOC_INIT_V2(get_size, iou_hdr);
      get_size.iou_idx = i;
      rc = l_ioctl(IOC_LIBCFS_GET_UDSP_SIZE, &get_size);
      if (rc) break;
      unsigned char *buf = calloc((size_t)get_size.iou_idx, 1);
      struct lnet_ioctl_udsp *d = (struct lnet_ioctl_udsp *)buf;
      IOC_INIT_V2(*d, iou_hdr);
      d->iou_bulk_size = (uint32_t)get_size.iou_idx - sizeof(*d);
      d->iou_bulk = buf + sizeof(*d);
      d->iou_idx = i;
      rc = l_ioctl(IOC_LIBCFS_GET_UDSP, buf);
      if (rc) { free(buf); break; }
      printf("    - idx: %d\n", d->iou_idx);
      const unsigned char *p = buf + sizeof(*d);
      p = show_descr("src", p);
      p = show_descr("dst", p);
      p = show_descr("rte", p);
      printf("      action:\n          priority: %u\n", d->iou_action.priority);
      free(buf);
    }
    printf("end errno=%d\n", -rc);
    return 0;
  }
  return 2;
}

/* ------------------------------------------------------------------ parameters */
static int param(int argc, char **argv) {
  if (argc < 3) return 2;
  struct statfs sf;
  if (statfs("/sys/kernel/debug/", &sf) != 0 || sf.f_type != 0x64626720) {
    printf("debugfs not mounted: mounting\n");
    if (mount("none", "/sys/kernel/debug", "debugfs", 0, "") == -1) printf("mount errno=%d\n", errno);
    else printf("mounted\n");
  }
  const char *top = !strcmp(argv[1], "2.15") ? "{/sys/{fs,kernel/debug}/{lnet,lustre},/proc/{fs,sys}/{lnet,lustre}}"
                                             : "{{/proc,/sys}/fs/lustre,/sys/kernel/debug/{lnet,lustre}}";
  char path[4096];
  snprintf(path, sizeof(path), "%s/%s", top, argv[2]);
  glob_t g;
  int rc = glob(path, GLOB_BRACE, NULL, &g);
  printf("glob=%d\n", rc);
  if (rc) return 1;
  for (size_t i = 0; i < g.gl_pathc; i++) printf("path=%s\n", g.gl_pathv[i]);
  FILE *f = fopen(g.gl_pathv[0], "r");
  if (f) {
    char line[512];
    while (fgets(line, sizeof(line), f)) printf("| %s", line);
    fclose(f);
  }
  globfree(&g);
  return 0;
}

/* ------------------------------------------------------------------ interfaces */
static int intf(const char *name) {
  int s = socket(AF_INET, SOCK_STREAM, 0);
  struct ifreq r;
  memset(&r, 0, sizeof(r));
  snprintf(r.ifr_name, sizeof(r.ifr_name), "%s", name);
  if (ioctl(s, SIOCGIFFLAGS, &r) < 0) {
    printf("couldn't query intf %s errno=%d\n", name, errno);
    return 1;
  }
  int flags = r.ifr_flags;
  if (ioctl(s, SIOCGIFADDR, &r) < 0) {
    printf("couldn't query intf %s addr errno=%d\n", name, errno);
    return 1;
  }
  struct sockaddr_in *sin = (struct sockaddr_in *)&r.ifr_addr;
  printf("intf %s flags=0x%x up=%d addr=%s\n", name, flags, (flags & IFF_UP) != 0, inet_ntoa(sin->sin_addr));
  if (ioctl(s, SIOCGIFNETMASK, &r) == 0) printf("netmask=%s\n", inet_ntoa(((struct sockaddr_in *)&r.ifr_netmask)->sin_addr));
  if (ioctl(s, SIOCGIFINDEX, &r) == 0) printf("index=%d\n", r.ifr_ifindex);
  printf("nametoindex=%u\n", if_nametoindex(name));
  errno = 0;
  r.ifr_flags = (short)(flags & ~IFF_UP);
  int src = ioctl(s, SIOCSIFFLAGS, &r);
  printf("setflags=%d errno=%d\n", src, errno);
  close(s);
  return 0;
}
static int ifconf(void) {
  int s = socket(AF_INET, SOCK_DGRAM, 0);
  struct ifreq reqs[32];
  struct ifconf ic = {.ifc_len = sizeof(reqs), .ifc_req = reqs};
  if (ioctl(s, SIOCGIFCONF, &ic) < 0) return 1;
  for (int i = 0; i < ic.ifc_len / (int)sizeof(struct ifreq); i++)
    printf("ifconf %s %s\n", reqs[i].ifr_name, inet_ntoa(((struct sockaddr_in *)&reqs[i].ifr_addr)->sin_addr));
  close(s);
  return 0;
}
static int ifaddrs(void) {
  struct ifaddrs *l;
  if (getifaddrs(&l)) return 1;
  for (struct ifaddrs *p = l; p; p = p->ifa_next)
    if (p->ifa_addr && p->ifa_addr->sa_family == AF_INET) printf("ifaddr %s %s\n", p->ifa_name, inet_ntoa(((struct sockaddr_in *)p->ifa_addr)->sin_addr));
  freeifaddrs(l);
  return 0;
}
static int rtnl_dump(int s, int type) {
  struct {
    struct nlmsghdr h;
    struct ifinfomsg i;
  } req;
  memset(&req, 0, sizeof(req));
  req.h.nlmsg_len = sizeof(req);
  req.h.nlmsg_type = (uint16_t)type;
  req.h.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
  req.h.nlmsg_seq = (uint32_t)type;
  req.i.ifi_family = type == RTM_GETADDR ? AF_INET : AF_UNSPEC;
  struct sockaddr_nl k = {.nl_family = AF_NETLINK};
  if (sendto(s, &req, sizeof(req), 0, (struct sockaddr *)&k, sizeof(k)) < 0) return -1;
  char buf[16384];
  for (;;) {
    ssize_t n = recv(s, buf, sizeof(buf), 0);
    if (n <= 0) return -1;
    for (struct nlmsghdr *h = (struct nlmsghdr *)buf; NLMSG_OK(h, (size_t)n); h = NLMSG_NEXT(h, n)) {
      if (h->nlmsg_type == NLMSG_DONE) return 0;
      if (h->nlmsg_type == NLMSG_ERROR) return -1;
      if (h->nlmsg_type == RTM_NEWLINK) {
        struct ifinfomsg *im = NLMSG_DATA(h);
        int len = (int)IFLA_PAYLOAD(h);
        for (struct rtattr *a = IFLA_RTA(im); RTA_OK(a, len); a = RTA_NEXT(a, len))
          if (a->rta_type == IFLA_IFNAME) printf("link %d %s flags=0x%x\n", im->ifi_index, (char *)RTA_DATA(a), im->ifi_flags);
      } else if (h->nlmsg_type == RTM_NEWADDR) {
        struct ifaddrmsg *am = NLMSG_DATA(h);
        int len = (int)IFA_PAYLOAD(h);
        char label[IFNAMSIZ] = "", ip[32] = "";
        for (struct rtattr *a = IFA_RTA(am); RTA_OK(a, len); a = RTA_NEXT(a, len)) {
          if (a->rta_type == IFA_LABEL) snprintf(label, sizeof(label), "%s", (char *)RTA_DATA(a));
          if (a->rta_type == IFA_LOCAL) inet_ntop(AF_INET, RTA_DATA(a), ip, sizeof(ip));
        }
        printf("addr %d %s %s/%d\n", am->ifa_index, label, ip, am->ifa_prefixlen);
      }
    }
  }
}
static int rtnl(void) {
  int s = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
  if (s < 0) return 1;
  struct sockaddr_nl me = {.nl_family = AF_NETLINK};
  bind(s, (struct sockaddr *)&me, sizeof(me));
  int r = rtnl_dump(s, RTM_GETLINK) | rtnl_dump(s, RTM_GETADDR);
  /* a change is refused */
  struct {
    struct nlmsghdr h;
    struct ifinfomsg i;
  } req;
  memset(&req, 0, sizeof(req));
  req.h.nlmsg_len = sizeof(req);
  req.h.nlmsg_type = RTM_NEWLINK;
  req.h.nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
  req.i.ifi_index = 2;
  send(s, &req, sizeof(req), 0);
  char buf[4096];
  ssize_t n = recv(s, buf, sizeof(buf), 0);
  if (n > 0 && ((struct nlmsghdr *)buf)->nlmsg_type == NLMSG_ERROR) printf("newlink error=%d\n", ((struct nlmsgerr *)NLMSG_DATA((struct nlmsghdr *)buf))->error);
  close(s);
  return r ? 1 : 0;
}
static int sysnet(void) {
  DIR *d = opendir("/sys/class/net");
  if (!d) return 1;
  struct dirent *e;
  while ((e = readdir(d))) {
    if (e->d_name[0] == '.') continue;
    char p[512], v[64] = "";
    snprintf(p, sizeof(p), "/sys/class/net/%s/ifindex", e->d_name);
    FILE *f = fopen(p, "r");
    if (f) {
      if (!fgets(v, sizeof(v), f)) v[0] = 0;
      fclose(f);
    }
    v[strcspn(v, "\n")] = 0;
    printf("sysnet %s %s\n", e->d_name, v);
  }
  closedir(d);
  return 0;
}

#define IOC_LIBCFS_UNCONFIGURE _IOWR('e', 56, long)
static int netdown(void) {
  struct libcfs_ioctl_data d;
  memset(&d, 0, sizeof(d));
  d.ioc_hdr.ioc_len = sizeof(d);
  d.ioc_hdr.ioc_version = V1;
  int rc = l_ioctl(IOC_LIBCFS_UNCONFIGURE, &d);
  if (rc == 0) printf("LNET ready to unload\n");
  else if (rc == -EBUSY) fprintf(stderr, "LNET busy\n");
  else fprintf(stderr, "LNET unconfigure error %d: %s\n", -rc, strerror(-rc));
  return rc ? 1 : 0;
}

int main(int argc, char **argv) {
  setvbuf(stdout, NULL, _IONBF, 0);
  if (argc < 2) return 2;
  const char *c = argv[1];
  if (!strcmp(c, "fault")) return fault(argc - 2, argv + 2);
  if (!strcmp(c, "health")) return health(argc - 2, argv + 2);
  if (!strcmp(c, "recovery")) return recovery(argc - 1, argv + 1);
  if (!strcmp(c, "param")) return param(argc - 1, argv + 1);
  if (!strcmp(c, "udsp")) return udsp(argc - 1, argv + 1);
  if (!strcmp(c, "intf") && argc > 2) return intf(argv[2]);
  if (!strcmp(c, "ifconf")) return ifconf();
  if (!strcmp(c, "ifaddrs")) return ifaddrs();
  if (!strcmp(c, "rtnl")) return rtnl();
  if (!strcmp(c, "sysnet")) return sysnet();
  if (!strcmp(c, "netdown")) return netdown();
  return 2;
}
