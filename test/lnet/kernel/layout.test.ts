/**
 * What the addon exports about the LNet ioctl ABI it was compiled with: the
 * struct table (names, sizes, offsets, printed for the record) and the ioctl
 * numbers, which the addon computes from command number and argument size
 * and which are compared here with reference lnet.md 1.2.
 *
 * What this test cannot do: check the struct sizes and offsets. The only
 * source for them here is the reference tables, which native/lnet/structs.h
 * already static_asserts at compile time, so a comparison with the same
 * tables could never fail on a built addon (it was removed). An independent
 * check needs Lustre's UAPI headers (linux/lnet/lnet-dlc.h, libcfs_ioctl.h)
 * to compile a probe against; they are not on this machine and Debian does
 * not package them. The layouts are exercised against the emulator
 * (test/sim/lnet, test/lnet/kernel/emulator.test.ts), whose offsets are
 * written independently in lib/sim/lnet/ioctl.ts.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { loadLnetNative } from '../../../lib/native/loader.js';

const L = loadLnetNative().layouts;

test('the compiled layouts (printed for the record)', (t) => {
  for (const [name, st] of Object.entries(L.structs)) t.diagnostic(`${name}: size ${st.size} ${Object.entries(st.fields).map(([f, o]) => `${f}@${o}`).join(' ')}`);
  for (const [rel, structs] of Object.entries(L.releases)) {
    for (const [name, st] of Object.entries(structs)) t.diagnostic(`[${rel}] ${name}: size ${st.size} ${Object.entries(st.fields).map(([f, o]) => `${f}@${o}`).join(' ')}`);
  }
  const want = ['libcfs_ioctl_hdr', 'libcfs_ioctl_data', 'lnet_ioctl_config_data', 'lnet_ioctl_config_ni', 'lnet_ioctl_ping_data', 'lnet_ioctl_peer_cfg', 'lnet_ioctl_pool_cfg', 'lnet_process_id'];
  assert.deepEqual(want.filter((n) => !L.structs[n]), [], 'structs the kernel layer packs are exported');
  for (const rel of ['master', '2.16', '2.15'] as const) assert.ok(L.releases[rel]?.['lnet_ioctl_config_lnd_tunables'], `release-specific tunables exported for ${rel}`);
});

test('ioctl numbers (reference 1.2 table)', () => {
  const table: Record<string, number> = {
    CLEAR_DEBUG: 0xc008651f, MARK_DEBUG: 0xc0086520, GET_NI: 0xc0086532, FAIL_NID: 0xc0086533, NOTIFY_ROUTER: 0xc0086537,
    UNCONFIGURE: 0xc0086538, LNET_DIST: 0xc008653a, CONFIGURE: 0xc008653b, TESTPROTOCOMPAT: 0xc008653c, PING: 0xc008653d,
    PING_PEER: 0xc008653e, LNETST: 0xc008653f, LNET_FAULT: 0xc0086540, ADD_ROUTE: 0xc0b86551, DEL_ROUTE: 0xc0b86552,
    GET_ROUTE: 0xc0b86553, ADD_NET: 0xc0b86554, DEL_NET: 0xc0b86555, GET_NET: 0xc0b86556, CONFIG_RTR: 0xc0b86557,
    ADD_BUF: 0xc0b86558, GET_BUF: 0xc0b86559, GET_PEER_INFO: 0xc0b8655a, GET_LNET_STATS: 0xc0b8655b, ADD_PEER_NI: 0xc0b8655c,
    DEL_PEER_NI: 0xc0b8655d, GET_PEER_NI: 0xc0b8655e, ADD_LOCAL_NI: 0xc0b8655f, DEL_LOCAL_NI: 0xc0b86560, GET_LOCAL_NI: 0xc0b86561,
    SET_NUMA_RANGE: 0xc0b86562, GET_NUMA_RANGE: 0xc0b86563, GET_PEER_LIST: 0xc0b86564, GET_LOCAL_NI_MSG_STATS: 0xc0b86565,
    SET_HEALHV: 0xc0b86566, GET_LOCAL_HSTATS: 0xc0b86567, GET_RECOVERY_QUEUE: 0xc0b86568, ADD_UDSP: 0xc0b86569, DEL_UDSP: 0xc0b8656a,
    GET_UDSP_SIZE: 0xc0b8656b, GET_UDSP: 0xc0b8656c, GET_CONST_UDSP_INFO: 0xc0b8656d, RESET_LNET_STATS: 0xc0b8656e,
    SET_CONNS_PER_PEER: 0xc0b8656f, SET_PEER: 0xc0b86570,
  };
  for (const [name, v] of Object.entries(table)) assert.equal(L.ioctl[name], v, `IOC_LIBCFS_${name}`);
  // DISCOVER is nr 77 in the legacy range (reference 1.7 "IOC_LIBCFS_DISCOVER (77)").
  assert.equal(L.ioctl['DISCOVER'], (0xc0086500 | 77) >>> 0);
  assert.equal(L.version1, 0x0001000a);
  assert.equal(L.version2, 0x0001000b);
});
