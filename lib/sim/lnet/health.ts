/**
 * Health values and recovery queues of the emulated kernel (lnet/lnet/
 * lib-msg.c, api-ni.c lnet_set_healthv, lnet_get_recovery_queue): an NI or a
 * peer NI whose health value is below LNET_MAX_HEALTH_VALUE (1000) sits on
 * the local or the peer recovery queue; `net set --health` / `peer set
 * --health` (IOC_LIBCFS_SET_HEALHV, or NETS/PEERS with NLM_F_REPLACE) set the
 * value of one NID or of all (`--all`).
 *
 * Layouts: struct lnet_ioctl_reset_health_cfg (24 bytes) = hdr@0, rh_type@8
 * (0 local NI, 1 peer NI), rh_all:1 bit 0 of the u16 @12, s16 rh_value@14,
 * lnet_nid_t rh_nid@16; struct lnet_ioctl_recovery_list (1040 bytes) = hdr@0,
 * rlst_type@8, s32 rlst_num_nids@12, lnet_nid_t rlst_nid_array[128]@16.
 */
import { E, kerr, type Host, type Peer } from './kernel.js';

export const MAX_HEALTH = 1000;
export const HEALTH_TYPE = { LOCAL_NI: 0, PEER_NI: 1 } as const;
export const RECOVERY_LIST_MAX = 128;

const peerHealth = new WeakMap<Peer, Map<bigint, number>>();

export function peerNiHealth(p: Peer, nid: bigint): number {
  return peerHealth.get(p)?.get(nid) ?? MAX_HEALTH;
}

function clamp(v: number): number {
  return Math.max(0, Math.min(MAX_HEALTH, v));
}

/** lnet_set_healthv semantics: one NID (ENOENT when unknown) or all. */
export function setHealth(h: Host, type: number, all: boolean, nid: bigint, value: number): void {
  const v = clamp(value);
  if (type === HEALTH_TYPE.LOCAL_NI) {
    const nis = h.allNis().filter((n) => n.nid >> 32n !== 0x90000n); // not lo
    const hit = all ? nis : nis.filter((n) => n.nid === nid);
    if (!hit.length && !all) kerr(E.ENOENT, 'NI not found');
    for (const ni of hit) ni.health = v;
    return;
  }
  if (type !== HEALTH_TYPE.PEER_NI) kerr(E.EINVAL, 'invalid health type');
  let found = false;
  for (const p of h.ln.peers) {
    for (const n of p.nis) {
      if (!all && n !== nid) continue;
      let m = peerHealth.get(p);
      if (!m) peerHealth.set(p, (m = new Map()));
      m.set(n, v);
      found = true;
    }
  }
  if (!found && !all) kerr(E.ENOENT, 'peer NI not found');
}

/** NIDs on the local (type 0) or peer (type 1) recovery queue. */
export function recoveryQueue(h: Host, type: number): bigint[] {
  if (type === HEALTH_TYPE.LOCAL_NI) return h.allNis().filter((n) => n.health < MAX_HEALTH).map((n) => n.nid);
  if (type !== HEALTH_TYPE.PEER_NI) kerr(E.EINVAL);
  return h.ln.peers.flatMap((p) => p.nis.filter((n) => peerNiHealth(p, n) < MAX_HEALTH));
}

/** IOC_LIBCFS_SET_HEALHV. */
export function setHealthIoctl(h: Host, d: Buffer): void {
  if (d.readUInt32LE(0) < 24) kerr(E.EINVAL);
  setHealth(h, d.readUInt32LE(8), (d.readUInt16LE(12) & 1) !== 0, d.readBigUInt64LE(16), d.readInt16LE(14));
}

/** IOC_LIBCFS_GET_RECOVERY_QUEUE: at most 128 NIDs. */
export function recoveryQueueIoctl(h: Host, d: Buffer): void {
  if (d.readUInt32LE(0) < 16 + 8 * RECOVERY_LIST_MAX) kerr(E.EINVAL);
  const nids = recoveryQueue(h, d.readUInt32LE(8)).slice(0, RECOVERY_LIST_MAX);
  d.writeInt32LE(nids.length, 12);
  d.fill(0, 16, 16 + 8 * RECOVERY_LIST_MAX);
  nids.forEach((n, i) => d.writeBigUInt64LE(n, 16 + i * 8));
}
