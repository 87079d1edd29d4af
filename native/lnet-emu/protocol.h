/*
 * Wire protocol between the LD_PRELOAD library (preload.c) and the LNet
 * emulator daemon (lib/sim/lnet/daemon.ts). Mirrored in
 * lib/sim/lnet/protocol.ts; keep both in sync.
 *
 * Stream unix socket, little-endian, one request in flight per connection:
 *   request:  u32 len (bytes after this field), u32 op, u32 caps, payload
 *   response: u32 len (bytes after this field), i32 rc (>= 0 or -errno), payload
 * caps: bit 0 CAP_SYS_ADMIN, bit 1 CAP_NET_ADMIN, bit 2 CAP_SYS_MODULE
 * (effective set of the calling process at the time of the call).
 */
#ifndef HPCNET_LNETEMU_PROTOCOL_H
#define HPCNET_LNETEMU_PROTOCOL_H

enum lnetemu_op {
  LNETEMU_OP_HELLO = 1,      /* u32 pid, host name (rest)                         */
  LNETEMU_OP_OPEN_DEV = 2,   /* -> rc = handle (>0) or -errno                     */
  LNETEMU_OP_CLOSE_DEV = 3,  /* u32 handle                                         */
  LNETEMU_OP_IOCTL = 4,      /* u32 cmd, struct bytes -> see lnetemu_ioctl_reply   */
  LNETEMU_OP_NL_SEND = 5,    /* u32 portid, u32 nlflags, message bytes
                                -> rc = bytes accepted, payload: {u32 len, bytes}* datagrams */
  LNETEMU_OP_PARAM_WRITE = 6,/* u32 pathlen, path, data -> rc = bytes or -errno    */
  LNETEMU_OP_MOD_INIT = 7,   /* u32 namelen, name, params (rest)                   */
  LNETEMU_OP_MOD_DELETE = 8, /* u32 flags, name (rest)                             */
  LNETEMU_OP_CTRL = 9,       /* JSON request -> JSON reply (API and CLI)           */
};

#define LNETEMU_CAP_SYS_ADMIN 1u
#define LNETEMU_CAP_NET_ADMIN 2u
#define LNETEMU_CAP_SYS_MODULE 4u

/* NL_SEND nlflags */
#define LNETEMU_NL_EXT_ACK 1u
#define LNETEMU_NL_CAP_ACK 2u

/* IOCTL reply payload:
 *   u32 copyback_len, copyback bytes (the argument struct, written back in place),
 *   u32 nwrites, then nwrites x { u32 ptr_offset, u32 len, bytes }:
 *   bytes to store at the user pointer found at ptr_offset in the caller's struct. */

/* Emulated module files (small ELF objects) carry this line in a section ".hpcnet_lnetemu":
 * "HPCNET-LNETEMU-MODULE name=<name>\n" */
#define LNETEMU_MODULE_MAGIC "HPCNET-LNETEMU-MODULE name="

#endif
