/*
 * LD_PRELOAD test shim: makes libibumad behave as the kernel's user_mad
 * interface does where the simulator (ibsim's umad2sim) is kinder. It
 * interposes umad_open_port/umad_send/umad_recv and poll() on the umad fds
 * and sits in front of umad2sim (LD_PRELOAD="shim.so libumad2sim.so").
 *
 * Environment (all optional):
 *   HPCNET_SHIM_DROP=N        the replies to the first N sends are lost;
 *   HPCNET_SHIM_DROP_STATUS=1 ... and, as the kernel does for a send with
 *                             timeout_ms > 0, the send comes back with status
 *                             ETIMEDOUT once timeout_ms (+ HPCNET_SHIM_STATUS_LAG_MS,
 *                             default 20: the kernel's timer starts when the
 *                             send completes) has passed. 0: no status at all.
 *   HPCNET_SHIM_DELAY_MS=D    every reply reaches the reader D ms after it
 *                             arrived (a slow fabric: replies after a deadline).
 *   HPCNET_SHIM_SPURIOUS=N    the first N poll() calls on a umad fd made
 *                             outside umad_recv report POLLIN with nothing
 *                             to read (spurious readiness).
 *   HPCNET_SHIM_STATS=FILE    at exit, write "sent maxOutstanding
 *                             maxPerDest" (outstanding: sent, not yet answered
 *                             to the reader; per destination LID).
 * umad_recv never blocks longer than asked; with timeout -1 it blocks until
 * something can be delivered, as read() on the kernel's fd does.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <dlfcn.h>
#include <errno.h>
#include <infiniband/umad.h>
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAX_ITEMS 4096
#define MAX_TRACK 65536
#define BUF_SZ 4096

struct item {
  int used;
  int fd;
  uint64_t due;
  int len; /* bytes in buf: umad header + MAD */
  uint8_t buf[512];
};

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static struct item items[MAX_ITEMS];
static int umad_fds[64];
static int n_umad_fds;
static int drop_left, drop_status = 1, lag_ms = 20, delay_ms, spurious_left;
static const char* stats_path;
static uint32_t drop_tids[MAX_ITEMS];
static int n_drop_tids;
/* outstanding tracking: tid -> dlid (0 = none) */
static uint32_t track_tid[MAX_TRACK];
static uint16_t track_lid[MAX_TRACK];
static int outstanding, max_outstanding, max_per_dest, sent;
static int per_dest[65536];
static __thread int in_recv;
static int inited;

static int (*real_poll)(struct pollfd*, nfds_t, int);
static int (*real_open_port)(const char*, int);
static int (*real_send)(int, int, void*, int, int, int);
static int (*real_recv)(int, void*, int*, int);

static uint64_t now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int env_int(const char* name, int def) {
  const char* v = getenv(name);
  return v && *v ? atoi(v) : def;
}

static void write_stats(void) {
  if (!stats_path) return;
  FILE* f = fopen(stats_path, "w");
  if (!f) return;
  fprintf(f, "%d %d %d\n", sent, max_outstanding, max_per_dest);
  fclose(f);
}

static void init(void) {
  if (inited) return;
  inited = 1;
  real_poll = dlsym(RTLD_NEXT, "poll");
  real_open_port = dlsym(RTLD_NEXT, "umad_open_port");
  real_send = dlsym(RTLD_NEXT, "umad_send");
  real_recv = dlsym(RTLD_NEXT, "umad_recv");
  drop_left = env_int("HPCNET_SHIM_DROP", 0);
  drop_status = env_int("HPCNET_SHIM_DROP_STATUS", 1);
  lag_ms = env_int("HPCNET_SHIM_STATUS_LAG_MS", 20);
  delay_ms = env_int("HPCNET_SHIM_DELAY_MS", 0);
  spurious_left = env_int("HPCNET_SHIM_SPURIOUS", 0);
  stats_path = getenv("HPCNET_SHIM_STATS");
  atexit(write_stats);
}

__attribute__((constructor)) static void shim_ctor(void) {
  pthread_mutex_lock(&mu);
  init();
  pthread_mutex_unlock(&mu);
}

static int is_umad(int fd) {
  for (int i = 0; i < n_umad_fds; i++)
    if (umad_fds[i] == fd) return 1;
  return 0;
}

static uint32_t tid_of(const uint8_t* umad) {
  const uint8_t* mad = umad + umad_size();
  /* TransactionID: bytes 8..15 of the MAD header, big endian; the low 32 bits */
  return ((uint32_t)mad[12] << 24) | ((uint32_t)mad[13] << 16) | ((uint32_t)mad[14] << 8) | mad[15];
}

static struct item* add_item(int fd, uint64_t due, const void* buf, int len) {
  for (int i = 0; i < MAX_ITEMS; i++) {
    if (items[i].used) continue;
    items[i].used = 1;
    items[i].fd = fd;
    items[i].due = due;
    if (len > (int)sizeof items[i].buf) len = sizeof items[i].buf;
    items[i].len = len;
    memcpy(items[i].buf, buf, len);
    return &items[i];
  }
  return NULL;
}

/* The earliest item of fd (due or not), or NULL. */
static struct item* first_item(int fd) {
  struct item* best = NULL;
  for (int i = 0; i < MAX_ITEMS; i++)
    if (items[i].used && items[i].fd == fd && (!best || items[i].due < best->due)) best = &items[i];
  return best;
}

static void untrack(uint32_t tid) {
  int h = tid % MAX_TRACK;
  if (track_tid[h] != tid) return;
  track_tid[h] = 0;
  outstanding--;
  if (per_dest[track_lid[h]] > 0) per_dest[track_lid[h]]--;
}

/* Move whatever the layer below has for fd into the item queue (under mu). */
static void pull(int fd) {
  uint8_t buf[BUF_SZ];
  for (;;) {
    int len = BUF_SZ - umad_size();
    in_recv++;
    int rc = real_recv(fd, buf, &len, 0);
    in_recv--;
    if (rc < 0) return;
    uint32_t tid = tid_of(buf);
    int dropped = 0;
    for (int i = 0; i < n_drop_tids; i++) {
      if (drop_tids[i] == tid) {
        drop_tids[i] = drop_tids[--n_drop_tids];
        dropped = 1;
        break;
      }
    }
    if (dropped) continue;
    add_item(fd, now_ms() + delay_ms, buf, umad_size() + len);
  }
}

/* Wait (mu released) on the layer below until `end` or the next item's due time. */
static void wait_below(int fd, uint64_t end, const struct item* it, uint64_t now) {
  uint64_t until = end;
  if (it && it->due < until) until = it->due;
  int wait = until == UINT64_MAX ? -1 : (int)(until - now);
  pthread_mutex_unlock(&mu);
  struct pollfd p = {fd, POLLIN, 0};
  in_recv++;
  real_poll(&p, 1, wait);
  in_recv--;
  pthread_mutex_lock(&mu);
}

int umad_open_port(const char* ca_name, int portnum) {
  pthread_mutex_lock(&mu);
  init();
  pthread_mutex_unlock(&mu);
  int fd = real_open_port(ca_name, portnum);
  if (fd >= 0) {
    pthread_mutex_lock(&mu);
    if (n_umad_fds < 64) umad_fds[n_umad_fds++] = fd;
    pthread_mutex_unlock(&mu);
  }
  return fd;
}

int umad_send(int fd, int agentid, void* umad, int length, int timeout_ms, int retries) {
  pthread_mutex_lock(&mu);
  init();
  uint32_t tid = tid_of(umad);
  int drop = 0;
  if (drop_left > 0) {
    drop_left--;
    drop = 1;
    if (n_drop_tids < MAX_ITEMS) drop_tids[n_drop_tids++] = tid;
    if (drop_status && timeout_ms > 0) {
      struct item* it = add_item(fd, now_ms() + timeout_ms + lag_ms, umad, umad_size() + length);
      if (it) {
        struct ib_user_mad* u = (struct ib_user_mad*)it->buf;
        u->agent_id = agentid;
        u->status = ETIMEDOUT;
      }
    }
  }
  sent++;
  int h = tid % MAX_TRACK;
  if (!drop && track_tid[h] == 0) {
    uint16_t lid = ntohs(((struct ib_user_mad*)umad)->addr.lid);
    track_tid[h] = tid;
    track_lid[h] = lid;
    outstanding++;
    if (outstanding > max_outstanding) max_outstanding = outstanding;
    per_dest[lid]++;
    if (per_dest[lid] > max_per_dest) max_per_dest = per_dest[lid];
  }
  pthread_mutex_unlock(&mu);
  return real_send(fd, agentid, umad, length, timeout_ms, retries);
}

int umad_recv(int fd, void* umad, int* length, int timeout_ms) {
  pthread_mutex_lock(&mu);
  init();
  if (in_recv || !is_umad(fd)) {
    pthread_mutex_unlock(&mu);
    return real_recv(fd, umad, length, timeout_ms);
  }
  uint64_t end = timeout_ms < 0 ? UINT64_MAX : now_ms() + timeout_ms;
  for (;;) {
    pull(fd);
    struct item* it = first_item(fd);
    uint64_t now = now_ms();
    if (it && it->due <= now) {
      int madlen = it->len - (int)umad_size();
      if (*length < madlen) {
        *length = madlen;
        pthread_mutex_unlock(&mu);
        return -ENOSPC;
      }
      memcpy(umad, it->buf, it->len);
      *length = madlen;
      it->used = 0;
      untrack(tid_of(it->buf));
      int agent = ((struct ib_user_mad*)it->buf)->agent_id;
      pthread_mutex_unlock(&mu);
      return agent;
    }
    if (now >= end) {
      pthread_mutex_unlock(&mu);
      return -ETIMEDOUT;
    }
    wait_below(fd, end, it, now);
  }
}

int poll(struct pollfd* fds, nfds_t nfds, int timeout) {
  if (!real_poll) {
    pthread_mutex_lock(&mu);
    init();
    pthread_mutex_unlock(&mu);
  }
  if (in_recv || nfds != 1) return real_poll(fds, nfds, timeout);
  pthread_mutex_lock(&mu);
  if (!is_umad(fds[0].fd)) {
    pthread_mutex_unlock(&mu);
    return real_poll(fds, nfds, timeout);
  }
  int fd = fds[0].fd;
  uint64_t end = timeout < 0 ? UINT64_MAX : now_ms() + timeout;
  for (;;) {
    pull(fd);
    struct item* it = first_item(fd);
    uint64_t now = now_ms();
    fds[0].revents = 0;
    if ((it && it->due <= now) || spurious_left > 0) {
      if (!(it && it->due <= now)) spurious_left--;
      fds[0].revents = POLLIN;
      pthread_mutex_unlock(&mu);
      return 1;
    }
    if (now >= end) {
      pthread_mutex_unlock(&mu);
      return 0;
    }
    wait_below(fd, end, it, now);
  }
}
