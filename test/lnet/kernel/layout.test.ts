/**
 * The sizes, field offsets and ioctl numbers the addon was compiled with
 * (native/lnet/structs.h, exported by the addon) against the tables of
 * shared/reference/lnet.md sections 1.2-1.5 (x86_64). The expected numbers
 * below are copied from those tables.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { loadLnetNative } from '../../../lib/native/loader.js';

const L = loadLnetNative().layouts;

function expectStruct(name: string, size: number, fields: Record<string, number>, release?: 'master' | '2.16' | '2.15'): void {
  const s = release ? L.releases[release][name] : L.structs[name];
  assert.ok(s, `${name} exported${release ? ` for ${release}` : ''}`);
  assert.equal(s.size, size, `sizeof(${name})${release ? ` in ${release}` : ''}`);
  for (const [f, off] of Object.entries(fields)) assert.equal(s.fields[f], off, `offsetof(${name}, ${f})${release ? ` in ${release}` : ''}`);
}

test('the compiled layouts (printed for the record)', (t) => {
  for (const [name, st] of Object.entries(L.structs)) t.diagnostic(`${name}: size ${st.size} ${Object.entries(st.fields).map(([f, o]) => `${f}@${o}`).join(' ')}`);
  for (const [rel, structs] of Object.entries(L.releases)) {
    for (const [name, st] of Object.entries(structs)) t.diagnostic(`[${rel}] ${name}: size ${st.size} ${Object.entries(st.fields).map(([f, o]) => `${f}@${o}`).join(' ')}`);
  }
  assert.ok(Object.keys(L.structs).length >= 18, `${Object.keys(L.structs).length} structs exported`);
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

test('libcfs_ioctl_hdr and V1 libcfs_ioctl_data (1.3, 1.4)', () => {
  expectStruct('libcfs_ioctl_hdr', 8, { ioc_len: 0, ioc_version: 4 });
  expectStruct('libcfs_ioctl_data', 128, {
    ioc_hdr: 0, ioc_nid: 8, ioc_u64: 16, ioc_flags: 24, ioc_count: 28, ioc_net: 32, ioc_u32: 36,
    ioc_inllen1: 64, ioc_inlbuf1: 72, ioc_inllen2: 80, ioc_inlbuf2: 88, ioc_plen1: 96, ioc_pbuf1: 104,
    ioc_plen2: 112, ioc_pbuf2: 120, ioc_bulk: 128,
  });
});

test('DLC config structs (1.5)', () => {
  expectStruct('lnet_ioctl_config_data', 184, {
    cfg_hdr: 0, cfg_net: 8, cfg_count: 12, cfg_nid: 16, cfg_ncpts: 24,
    'cfg_config_u.cfg_route.rtr_hop': 28, 'cfg_config_u.cfg_route.rtr_priority': 32,
    'cfg_config_u.cfg_route.rtr_flags': 36, 'cfg_config_u.cfg_route.rtr_sensitivity': 40,
    'cfg_config_u.cfg_net.net_intf': 28, 'cfg_config_u.cfg_net.net_peer_timeout': 156,
    'cfg_config_u.cfg_net.net_peer_tx_credits': 160, 'cfg_config_u.cfg_net.net_peer_rtr_credits': 164,
    'cfg_config_u.cfg_net.net_max_tx_credits': 168, 'cfg_config_u.cfg_net.net_cksum_algo': 172,
    'cfg_config_u.cfg_net.net_interface_count': 176,
    'cfg_config_u.cfg_buffers.buf_enable': 28, 'cfg_config_u.cfg_buffers.buf_tiny': 32,
    'cfg_config_u.cfg_buffers.buf_small': 36, 'cfg_config_u.cfg_buffers.buf_large': 40,
    cfg_bulk: 180,
  });
  expectStruct('lnet_ioctl_net_config', 644, { ni_interface: 0, ni_status: 128, ni_cpts: 132, cfg_bulk: 644 });
  expectStruct('lnet_ioctl_config_ni', 808, {
    lic_cfg_hdr: 0, lic_nid: 8, lic_ni_intf: 16, lic_legacy_ip2nets: 144, lic_cpts: 272, lic_ncpts: 784,
    lic_status: 788, lic_idx: 792, lic_dev_cpt: 796, pad: 800, lic_bulk: 804,
  });
  expectStruct('lnet_ioctl_config_lnd_cmn_tunables', 20, {
    lct_version: 0, lct_peer_timeout: 4, lct_peer_tx_credits: 8, lct_peer_rtr_credits: 12, lct_max_tx_credits: 16,
  });
  expectStruct('lnet_ioctl_pool_cfg', 52, { pl_pools: 0, 'pl_pools[1]': 16, 'pl_pools[2]': 32, 'pl_pools[0].pl_npages': 0, 'pl_pools[0].pl_nbuffers': 4, 'pl_pools[0].pl_credits': 8, 'pl_pools[0].pl_mincredits': 12, pl_routing: 48 });
  expectStruct('lnet_ioctl_set_value', 12, { sv_hdr: 0, sv_value: 8 });
});

test('LND tunables per release (1.5: master 40/16/172, 2.16 168, 2.15 32/8/52)', () => {
  const o2ib = { lnd_version: 0, lnd_peercredits_hiw: 4, lnd_map_on_demand: 8, lnd_concurrent_sends: 12, lnd_fmr_pool_size: 16, lnd_fmr_flush_trigger: 20, lnd_fmr_cache: 24, lnd_conns_per_peer: 28, lnd_ntx: 30 };
  expectStruct('lnet_ioctl_config_o2iblnd_tunables', 40, { ...o2ib, lnd_timeout: 32, lnd_tos: 36 }, 'master');
  expectStruct('lnet_ioctl_config_o2iblnd_tunables', 40, { ...o2ib, lnd_timeout: 32, lnd_tos: 36 }, '2.16');
  expectStruct('lnet_ioctl_config_o2iblnd_tunables', 32, o2ib, '2.15');
  assert.equal(L.releases['2.15']['lnet_ioctl_config_o2iblnd_tunables']!.fields['lnd_timeout'], undefined, '2.15 o2ib has no timeout');
  const sock = { lnd_version: 0, lnd_conns_per_peer: 4, lnd_pad: 6 };
  expectStruct('lnet_ioctl_config_socklnd_tunables', 16, { ...sock, lnd_timeout: 8, lnd_tos: 12 }, 'master');
  expectStruct('lnet_ioctl_config_socklnd_tunables', 8, sock, '2.15');
  expectStruct('lnet_ioctl_config_kfilnd_tunables', 152, {}, 'master');
  expectStruct('lnet_lnd_tunables', 152, {}, 'master');
  expectStruct('lnet_lnd_tunables', 148, {}, '2.16');
  expectStruct('lnet_lnd_tunables', 32, {}, '2.15');
  expectStruct('lnet_ioctl_config_lnd_tunables', 172, { lt_cmn: 0, lt_tun: 20 }, 'master');
  expectStruct('lnet_ioctl_config_lnd_tunables', 168, { lt_cmn: 0, lt_tun: 20 }, '2.16');
  expectStruct('lnet_ioctl_config_lnd_tunables', 52, { lt_cmn: 0, lt_tun: 20 }, '2.15');
  // The buffers lnetctl sends (1.7): ADD_LOCAL_NI 808 + 172 = 980; GET_LOCAL_NI 808 + 12 + 172 = 992 (master).
  assert.equal(L.structs['lnet_ioctl_config_ni']!.size + L.releases.master['lnet_ioctl_config_lnd_tunables']!.size, 980);
  assert.equal(L.structs['lnet_ioctl_config_ni']!.size + L.structs['lnet_ioctl_element_stats']!.size + L.releases.master['lnet_ioctl_config_lnd_tunables']!.size, 992);
});

test('ping, statistics and peer structs (1.5)', () => {
  expectStruct('lnet_process_id', 16, { nid: 0, pid: 8 });
  expectStruct('lnet_ioctl_ping_data', 56, { ping_hdr: 0, op_param: 8, ping_count: 12, ping_flags: 16, mr_info: 20, ping_id: 24, 'ping_id.pid': 32, ping_buf: 40, ping_src: 48 });
  expectStruct('lnet_ioctl_comm_count', 20, { ico_get_count: 0, ico_put_count: 4, ico_reply_count: 8, ico_ack_count: 12, ico_hello_count: 16 });
  expectStruct('lnet_ioctl_element_stats', 12, { iel_send_count: 0, iel_recv_count: 4, iel_drop_count: 8 });
  expectStruct('lnet_ioctl_element_msg_stats', 72, { im_hdr: 0, im_idx: 8, im_send_stats: 12, im_recv_stats: 32, im_drop_stats: 52 });
  expectStruct('lnet_ioctl_local_ni_hstats', 64, {
    hlni_hdr: 0, hlni_nid: 8, hlni_local_interrupt: 16, hlni_local_dropped: 20, hlni_local_aborted: 24, hlni_local_no_route: 28,
    hlni_local_timeout: 32, hlni_local_error: 36, hlni_fatal_error: 40, hlni_health_value: 44, hlni_ping_count: 48, hlni_next_ping: 56,
  });
  expectStruct('lnet_ioctl_peer_ni_hstats', 32, {
    hlpni_remote_dropped: 0, hlpni_remote_timeout: 4, hlpni_remote_error: 8, hlpni_network_timeout: 12, hlpni_health_value: 16, hlpni_ping_count: 20, hlpni_next_ping: 24,
  });
  expectStruct('lnet_peer_ni_credit_info', 160, {
    cr_aliveness: 0, cr_refcount: 128, cr_ni_peer_tx_credits: 132, cr_peer_tx_credits: 136, cr_peer_min_tx_credits: 140,
    cr_peer_tx_qnob: 144, cr_peer_rtr_credits: 148, cr_peer_min_rtr_credits: 152, cr_ncpt: 156,
  });
  expectStruct('lnet_ioctl_peer', 184, { pr_hdr: 0, pr_count: 8, pr_pad: 12, pr_nid: 16, pr_lnd_u: 24 });
  expectStruct('lnet_ioctl_peer_cfg', 48, { prcfg_hdr: 0, prcfg_prim_nid: 8, prcfg_cfg_nid: 16, prcfg_count: 24, prcfg_mr: 28, prcfg_state: 32, prcfg_size: 36, prcfg_bulk: 40 });
  // GET_PEER_NI bulk per NI: 8 + 160 + 12 + 72 + 32 = 284 (1.7).
  const s = L.structs;
  assert.equal(8 + s['lnet_peer_ni_credit_info']!.size + s['lnet_ioctl_element_stats']!.size + s['lnet_ioctl_element_msg_stats']!.size + s['lnet_ioctl_peer_ni_hstats']!.size, 284);
  expectStruct('lnet_counters_common', 60, {
    lcc_msgs_alloc: 0, lcc_msgs_max: 4, lcc_errors: 8, lcc_send_count: 12, lcc_recv_count: 16, lcc_route_count: 20, lcc_drop_count: 24,
    lcc_send_length: 28, lcc_recv_length: 36, lcc_route_length: 44, lcc_drop_length: 52,
  });
  expectStruct('lnet_ioctl_lnet_stats', 128, { st_hdr: 0, st_cntrs: 8, lct_health: 68 }, 'master');
  expectStruct('lnet_ioctl_lnet_stats', 120, { st_hdr: 0, st_cntrs: 8, lct_health: 68 }, '2.16');
  expectStruct('lnet_ioctl_lnet_stats', 120, { st_hdr: 0, st_cntrs: 8, lct_health: 68 }, '2.15');
});
