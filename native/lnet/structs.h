// LNet kernel ABI: /dev/lnet ioctl numbers and argument structs, written from
// the reference tables (shared/reference/lnet.md sections 1.2-1.5; x86_64,
// LP64). Every size and field offset is checked with static_assert below.
//
// Three layouts exist where releases differ:
//   master (2.17.5x)  - o2ib tunables 40, socklnd 16, kfilnd 152; lnet_stats 128
//   r2_16             - kfilnd 148 (union 148, full 168); lnet_stats 120
//   r2_15             - o2ib 32, socklnd 8 (union 32, full 52); lnet_stats 120
// Everything else is identical in 2.15, 2.16 and master.
//
// These definitions are the single source of the layout: the addon exports
// every size and offset (Layouts()) and lib/lnet/kernel/ packs by them.
#pragma once

#include <napi.h>

#include <cstddef>
#include <cstdint>

namespace hpcnet::lnet::abi {

// ---- ioctl numbers (reference 1.2) ------------------------------------------
constexpr uint32_t kIocType = 'e';
constexpr uint32_t IowrNr(uint32_t nr, uint32_t size) {
  return (3u << 30) | (size << 16) | (kIocType << 8) | nr;
}
constexpr uint32_t Legacy(uint32_t nr) { return IowrNr(nr, sizeof(long)); }
constexpr uint32_t Dlc(uint32_t nr) { return IowrNr(nr, 184); }

constexpr uint32_t kVersion1 = 0x0001000a;
constexpr uint32_t kVersion2 = 0x0001000b;

// ---- common --------------------------------------------------------------------
struct libcfs_ioctl_hdr {
  uint32_t ioc_len;
  uint32_t ioc_version;
};
static_assert(sizeof(libcfs_ioctl_hdr) == 8);

struct libcfs_ioctl_data {  // V1, 1.4
  libcfs_ioctl_hdr ioc_hdr;
  uint64_t ioc_nid;
  uint64_t ioc_u64[1];
  uint32_t ioc_flags;
  uint32_t ioc_count;
  uint32_t ioc_net;
  uint32_t ioc_u32[7];
  uint32_t ioc_inllen1;
  char* ioc_inlbuf1;
  uint32_t ioc_inllen2;
  char* ioc_inlbuf2;
  uint32_t ioc_plen1;
  void* ioc_pbuf1;
  uint32_t ioc_plen2;
  void* ioc_pbuf2;
  char ioc_bulk[];
};

struct lnet_process_id {
  uint64_t nid;
  uint32_t pid;
};

struct lnet_ioctl_config_data {  // 1.5
  libcfs_ioctl_hdr cfg_hdr;
  uint32_t cfg_net;
  uint32_t cfg_count;
  uint64_t cfg_nid;
  uint32_t cfg_ncpts;
  union {
    struct {
      uint32_t rtr_hop;
      uint32_t rtr_priority;
      uint32_t rtr_flags;
      uint32_t rtr_sensitivity;
    } cfg_route;
    struct {
      char net_intf[128];
      int32_t net_peer_timeout;
      int32_t net_peer_tx_credits;
      int32_t net_peer_rtr_credits;
      int32_t net_max_tx_credits;
      uint32_t net_cksum_algo;
      uint32_t net_interface_count;
    } cfg_net;
    struct {
      uint32_t buf_enable;
      int32_t buf_tiny;
      int32_t buf_small;
      int32_t buf_large;
    } cfg_buffers;
  } cfg_config_u;
  char cfg_bulk[];
};

struct lnet_ioctl_net_config {
  char ni_interface[128];
  uint32_t ni_status;
  uint32_t ni_cpts[128];
  char cfg_bulk[];
};

struct lnet_ioctl_config_ni {
  libcfs_ioctl_hdr lic_cfg_hdr;
  uint64_t lic_nid;
  char lic_ni_intf[128];
  char lic_legacy_ip2nets[128];
  uint32_t lic_cpts[128];
  uint32_t lic_ncpts;
  uint32_t lic_status;
  uint32_t lic_idx;
  int32_t lic_dev_cpt;
  char pad[4];
  char lic_bulk[];
};

struct lnet_ioctl_config_lnd_cmn_tunables {
  uint32_t lct_version;
  int32_t lct_peer_timeout;
  int32_t lct_peer_tx_credits;
  int32_t lct_peer_rtr_credits;
  int32_t lct_max_tx_credits;
};

struct lnet_ioctl_pool_cfg {
  struct {
    uint32_t pl_npages;
    uint32_t pl_nbuffers;
    uint32_t pl_credits;
    uint32_t pl_mincredits;
  } pl_pools[3];
  uint32_t pl_routing;
};

struct lnet_ioctl_ping_data {
  libcfs_ioctl_hdr ping_hdr;
  uint32_t op_param;
  uint32_t ping_count;
  uint32_t ping_flags;
  uint32_t mr_info;
  lnet_process_id ping_id;
  lnet_process_id* ping_buf;
  uint64_t ping_src;
};

struct lnet_ioctl_comm_count {
  uint32_t ico_get_count, ico_put_count, ico_reply_count, ico_ack_count, ico_hello_count;
};

struct lnet_ioctl_element_stats {
  uint32_t iel_send_count, iel_recv_count, iel_drop_count;
};

struct lnet_ioctl_element_msg_stats {
  libcfs_ioctl_hdr im_hdr;
  uint32_t im_idx;
  lnet_ioctl_comm_count im_send_stats;
  lnet_ioctl_comm_count im_recv_stats;
  lnet_ioctl_comm_count im_drop_stats;
};

struct lnet_ioctl_local_ni_hstats {
  libcfs_ioctl_hdr hlni_hdr;
  uint64_t hlni_nid;
  uint32_t hlni_local_interrupt;
  uint32_t hlni_local_dropped;
  uint32_t hlni_local_aborted;
  uint32_t hlni_local_no_route;
  uint32_t hlni_local_timeout;
  uint32_t hlni_local_error;
  int32_t hlni_fatal_error;
  int32_t hlni_health_value;
  uint32_t hlni_ping_count;
  uint64_t hlni_next_ping;
};

struct lnet_ioctl_peer_ni_hstats {
  uint32_t hlpni_remote_dropped;
  uint32_t hlpni_remote_timeout;
  uint32_t hlpni_remote_error;
  uint32_t hlpni_network_timeout;
  int32_t hlpni_health_value;
  uint32_t hlpni_ping_count;
  uint64_t hlpni_next_ping;
};

struct lnet_peer_ni_credit_info {
  char cr_aliveness[128];
  uint32_t cr_refcount;
  int32_t cr_ni_peer_tx_credits;
  int32_t cr_peer_tx_credits;
  int32_t cr_peer_min_tx_credits;
  uint32_t cr_peer_tx_qnob;
  int32_t cr_peer_rtr_credits;
  int32_t cr_peer_min_rtr_credits;
  uint32_t cr_ncpt;
};

struct lnet_ioctl_peer {
  libcfs_ioctl_hdr pr_hdr;
  uint32_t pr_count;
  uint32_t pr_pad;
  uint64_t pr_nid;
  lnet_peer_ni_credit_info pr_lnd_u;
};

struct lnet_ioctl_peer_cfg {
  libcfs_ioctl_hdr prcfg_hdr;
  uint64_t prcfg_prim_nid;
  uint64_t prcfg_cfg_nid;
  uint32_t prcfg_count;
  uint32_t prcfg_mr;
  uint32_t prcfg_state;
  uint32_t prcfg_size;
  void* prcfg_bulk;
};

struct lnet_ioctl_set_value {
  libcfs_ioctl_hdr sv_hdr;
  uint32_t sv_value;
};

// lnet_counters: the common part is packed (u64s unaligned after 7 u32s).
struct __attribute__((packed)) lnet_counters_common {
  uint32_t lcc_msgs_alloc, lcc_msgs_max, lcc_errors, lcc_send_count, lcc_recv_count,
      lcc_route_count, lcc_drop_count;
  uint64_t lcc_send_length, lcc_recv_length, lcc_route_length, lcc_drop_length;
};

struct lnet_counters_health_2_15 {  // 2.15 and 2.16: 13 u32
  uint32_t lch_rst_alloc, lch_resend_count, lch_response_timeout_count, lch_local_interrupt_count,
      lch_local_dropped_count, lch_local_aborted_count, lch_local_no_route_count,
      lch_local_timeout_count, lch_local_error_count, lch_remote_dropped_count,
      lch_remote_error_count, lch_remote_timeout_count, lch_network_timeout_count;
};
struct lnet_counters_health_master {  // master appends two counters
  uint32_t lch_rst_alloc, lch_resend_count, lch_response_timeout_count, lch_local_interrupt_count,
      lch_local_dropped_count, lch_local_aborted_count, lch_local_no_route_count,
      lch_local_timeout_count, lch_local_error_count, lch_remote_dropped_count,
      lch_remote_error_count, lch_remote_timeout_count, lch_network_timeout_count,
      lch_failed_resends, lch_successful_resends;
};

template <class Health>
struct lnet_ioctl_lnet_stats_t {
  libcfs_ioctl_hdr st_hdr;
  struct {
    lnet_counters_common lct_common;
    Health lct_health;
  } st_cntrs;
};

// ---- LND tunables per release -------------------------------------------------
namespace master {
struct o2iblnd_tunables {
  uint32_t lnd_version, lnd_peercredits_hiw, lnd_map_on_demand, lnd_concurrent_sends,
      lnd_fmr_pool_size, lnd_fmr_flush_trigger, lnd_fmr_cache;
  uint16_t lnd_conns_per_peer, lnd_ntx;
  uint32_t lnd_timeout;
  int16_t lnd_tos;
};
struct socklnd_tunables {
  uint32_t lnd_version;
  uint16_t lnd_conns_per_peer, lnd_pad;
  uint32_t lnd_timeout;
  int16_t lnd_tos;
};
struct kfilnd_tunables {
  uint32_t lnd_version, lnd_prov_major_version, lnd_prov_minor_version, lnd_auth_key;
  char lnd_traffic_class_str[128];
  uint32_t lnd_traffic_class, lnd_timeout;
};
struct efalnd_tunables {
  uint32_t lnd_version, lnd_nqps;
};
struct gnilnd_tunables {
  uint32_t lnd_version, lnd_timeout;
};
union lnd_tunables {
  o2iblnd_tunables lnd_o2ib;
  socklnd_tunables lnd_sock;
  kfilnd_tunables lnd_kfi;
  efalnd_tunables lnd_efa;
  gnilnd_tunables lnd_gni;
};
struct config_lnd_tunables {
  lnet_ioctl_config_lnd_cmn_tunables lt_cmn;
  lnd_tunables lt_tun;
};
using lnet_stats = lnet_ioctl_lnet_stats_t<lnet_counters_health_master>;
}  // namespace master

namespace r2_16 {
using master::o2iblnd_tunables;
using master::socklnd_tunables;
struct kfilnd_tunables {  // no lnd_timeout yet
  uint32_t lnd_version, lnd_prov_major_version, lnd_prov_minor_version, lnd_auth_key;
  char lnd_traffic_class_str[128];
  uint32_t lnd_traffic_class;
};
union lnd_tunables {
  o2iblnd_tunables lnd_o2ib;
  socklnd_tunables lnd_sock;
  kfilnd_tunables lnd_kfi;
};
struct config_lnd_tunables {
  lnet_ioctl_config_lnd_cmn_tunables lt_cmn;
  lnd_tunables lt_tun;
};
using lnet_stats = lnet_ioctl_lnet_stats_t<lnet_counters_health_2_15>;
}  // namespace r2_16

namespace r2_15 {
struct o2iblnd_tunables {
  uint32_t lnd_version, lnd_peercredits_hiw, lnd_map_on_demand, lnd_concurrent_sends,
      lnd_fmr_pool_size, lnd_fmr_flush_trigger, lnd_fmr_cache;
  uint16_t lnd_conns_per_peer, lnd_ntx;
};
struct socklnd_tunables {
  uint32_t lnd_version;
  uint16_t lnd_conns_per_peer, lnd_pad;
};
// (2.15's kfilnd variant is not in the reference; it does not exceed the
// o2ib one, the union size 32 is what the kernel checks.)
union lnd_tunables {
  o2iblnd_tunables lnd_o2ib;
  socklnd_tunables lnd_sock;
};
struct config_lnd_tunables {
  lnet_ioctl_config_lnd_cmn_tunables lt_cmn;
  lnd_tunables lt_tun;
};
using lnet_stats = lnet_ioctl_lnet_stats_t<lnet_counters_health_2_15>;
}  // namespace r2_15

// ---- static checks against the reference tables --------------------------------
#define HPCNET_OFF(T, f, o) static_assert(offsetof(T, f) == (o), #T "." #f)
static_assert(sizeof(libcfs_ioctl_data) == 128);
HPCNET_OFF(libcfs_ioctl_data, ioc_nid, 8);
HPCNET_OFF(libcfs_ioctl_data, ioc_u64, 16);
HPCNET_OFF(libcfs_ioctl_data, ioc_flags, 24);
HPCNET_OFF(libcfs_ioctl_data, ioc_count, 28);
HPCNET_OFF(libcfs_ioctl_data, ioc_net, 32);
HPCNET_OFF(libcfs_ioctl_data, ioc_u32, 36);
HPCNET_OFF(libcfs_ioctl_data, ioc_inllen1, 64);
HPCNET_OFF(libcfs_ioctl_data, ioc_inlbuf1, 72);
HPCNET_OFF(libcfs_ioctl_data, ioc_inllen2, 80);
HPCNET_OFF(libcfs_ioctl_data, ioc_inlbuf2, 88);
HPCNET_OFF(libcfs_ioctl_data, ioc_plen1, 96);
HPCNET_OFF(libcfs_ioctl_data, ioc_pbuf1, 104);
HPCNET_OFF(libcfs_ioctl_data, ioc_plen2, 112);
HPCNET_OFF(libcfs_ioctl_data, ioc_pbuf2, 120);
HPCNET_OFF(libcfs_ioctl_data, ioc_bulk, 128);

static_assert(sizeof(lnet_process_id) == 16);

static_assert(sizeof(lnet_ioctl_config_data) == 184);
static_assert(alignof(lnet_ioctl_config_data) == 8);
HPCNET_OFF(lnet_ioctl_config_data, cfg_net, 8);
HPCNET_OFF(lnet_ioctl_config_data, cfg_count, 12);
HPCNET_OFF(lnet_ioctl_config_data, cfg_nid, 16);
HPCNET_OFF(lnet_ioctl_config_data, cfg_ncpts, 24);
HPCNET_OFF(lnet_ioctl_config_data, cfg_config_u, 28);
HPCNET_OFF(lnet_ioctl_config_data, cfg_config_u.cfg_route.rtr_hop, 28);
HPCNET_OFF(lnet_ioctl_config_data, cfg_config_u.cfg_route.rtr_priority, 32);
HPCNET_OFF(lnet_ioctl_config_data, cfg_config_u.cfg_route.rtr_flags, 36);
HPCNET_OFF(lnet_ioctl_config_data, cfg_config_u.cfg_route.rtr_sensitivity, 40);
HPCNET_OFF(lnet_ioctl_config_data, cfg_config_u.cfg_net.net_intf, 28);
HPCNET_OFF(lnet_ioctl_config_data, cfg_config_u.cfg_net.net_peer_timeout, 156);
HPCNET_OFF(lnet_ioctl_config_data, cfg_config_u.cfg_net.net_peer_tx_credits, 160);
HPCNET_OFF(lnet_ioctl_config_data, cfg_config_u.cfg_net.net_peer_rtr_credits, 164);
HPCNET_OFF(lnet_ioctl_config_data, cfg_config_u.cfg_net.net_max_tx_credits, 168);
HPCNET_OFF(lnet_ioctl_config_data, cfg_config_u.cfg_net.net_cksum_algo, 172);
HPCNET_OFF(lnet_ioctl_config_data, cfg_config_u.cfg_net.net_interface_count, 176);
HPCNET_OFF(lnet_ioctl_config_data, cfg_config_u.cfg_buffers.buf_enable, 28);
HPCNET_OFF(lnet_ioctl_config_data, cfg_config_u.cfg_buffers.buf_tiny, 32);
HPCNET_OFF(lnet_ioctl_config_data, cfg_config_u.cfg_buffers.buf_small, 36);
HPCNET_OFF(lnet_ioctl_config_data, cfg_config_u.cfg_buffers.buf_large, 40);
HPCNET_OFF(lnet_ioctl_config_data, cfg_bulk, 180);

static_assert(sizeof(lnet_ioctl_net_config) == 644);
HPCNET_OFF(lnet_ioctl_net_config, ni_status, 128);
HPCNET_OFF(lnet_ioctl_net_config, ni_cpts, 132);
HPCNET_OFF(lnet_ioctl_net_config, cfg_bulk, 644);

static_assert(sizeof(lnet_ioctl_config_ni) == 808);
HPCNET_OFF(lnet_ioctl_config_ni, lic_nid, 8);
HPCNET_OFF(lnet_ioctl_config_ni, lic_ni_intf, 16);
HPCNET_OFF(lnet_ioctl_config_ni, lic_legacy_ip2nets, 144);
HPCNET_OFF(lnet_ioctl_config_ni, lic_cpts, 272);
HPCNET_OFF(lnet_ioctl_config_ni, lic_ncpts, 784);
HPCNET_OFF(lnet_ioctl_config_ni, lic_status, 788);
HPCNET_OFF(lnet_ioctl_config_ni, lic_idx, 792);
HPCNET_OFF(lnet_ioctl_config_ni, lic_dev_cpt, 796);
HPCNET_OFF(lnet_ioctl_config_ni, pad, 800);
HPCNET_OFF(lnet_ioctl_config_ni, lic_bulk, 804);

static_assert(sizeof(lnet_ioctl_config_lnd_cmn_tunables) == 20);
HPCNET_OFF(lnet_ioctl_config_lnd_cmn_tunables, lct_peer_timeout, 4);
HPCNET_OFF(lnet_ioctl_config_lnd_cmn_tunables, lct_peer_tx_credits, 8);
HPCNET_OFF(lnet_ioctl_config_lnd_cmn_tunables, lct_peer_rtr_credits, 12);
HPCNET_OFF(lnet_ioctl_config_lnd_cmn_tunables, lct_max_tx_credits, 16);

static_assert(sizeof(master::o2iblnd_tunables) == 40);
static_assert(sizeof(r2_15::o2iblnd_tunables) == 32);
HPCNET_OFF(master::o2iblnd_tunables, lnd_peercredits_hiw, 4);
HPCNET_OFF(master::o2iblnd_tunables, lnd_map_on_demand, 8);
HPCNET_OFF(master::o2iblnd_tunables, lnd_concurrent_sends, 12);
HPCNET_OFF(master::o2iblnd_tunables, lnd_fmr_pool_size, 16);
HPCNET_OFF(master::o2iblnd_tunables, lnd_fmr_flush_trigger, 20);
HPCNET_OFF(master::o2iblnd_tunables, lnd_fmr_cache, 24);
HPCNET_OFF(master::o2iblnd_tunables, lnd_conns_per_peer, 28);
HPCNET_OFF(master::o2iblnd_tunables, lnd_ntx, 30);
HPCNET_OFF(master::o2iblnd_tunables, lnd_timeout, 32);
HPCNET_OFF(master::o2iblnd_tunables, lnd_tos, 36);
HPCNET_OFF(r2_15::o2iblnd_tunables, lnd_conns_per_peer, 28);
HPCNET_OFF(r2_15::o2iblnd_tunables, lnd_ntx, 30);

static_assert(sizeof(master::socklnd_tunables) == 16);
static_assert(sizeof(r2_15::socklnd_tunables) == 8);
HPCNET_OFF(master::socklnd_tunables, lnd_conns_per_peer, 4);
HPCNET_OFF(master::socklnd_tunables, lnd_pad, 6);
HPCNET_OFF(master::socklnd_tunables, lnd_timeout, 8);
HPCNET_OFF(master::socklnd_tunables, lnd_tos, 12);
HPCNET_OFF(r2_15::socklnd_tunables, lnd_conns_per_peer, 4);

static_assert(sizeof(master::kfilnd_tunables) == 152);
HPCNET_OFF(master::kfilnd_tunables, lnd_prov_major_version, 4);
HPCNET_OFF(master::kfilnd_tunables, lnd_prov_minor_version, 8);
HPCNET_OFF(master::kfilnd_tunables, lnd_auth_key, 12);
HPCNET_OFF(master::kfilnd_tunables, lnd_traffic_class_str, 16);
HPCNET_OFF(master::kfilnd_tunables, lnd_traffic_class, 144);
HPCNET_OFF(master::kfilnd_tunables, lnd_timeout, 148);
static_assert(sizeof(master::efalnd_tunables) == 8);
static_assert(sizeof(master::gnilnd_tunables) == 8);

static_assert(sizeof(master::lnd_tunables) == 152);
static_assert(sizeof(master::config_lnd_tunables) == 172);
static_assert(sizeof(r2_16::lnd_tunables) == 148);
static_assert(sizeof(r2_16::config_lnd_tunables) == 168);
static_assert(sizeof(r2_15::lnd_tunables) == 32);
static_assert(sizeof(r2_15::config_lnd_tunables) == 52);
HPCNET_OFF(master::config_lnd_tunables, lt_tun, 20);
HPCNET_OFF(r2_16::config_lnd_tunables, lt_tun, 20);
HPCNET_OFF(r2_15::config_lnd_tunables, lt_tun, 20);

static_assert(sizeof(lnet_ioctl_pool_cfg) == 52);
HPCNET_OFF(lnet_ioctl_pool_cfg, pl_pools[1], 16);
HPCNET_OFF(lnet_ioctl_pool_cfg, pl_pools[2], 32);
HPCNET_OFF(lnet_ioctl_pool_cfg, pl_pools[0].pl_nbuffers, 4);
HPCNET_OFF(lnet_ioctl_pool_cfg, pl_pools[0].pl_credits, 8);
HPCNET_OFF(lnet_ioctl_pool_cfg, pl_pools[0].pl_mincredits, 12);
HPCNET_OFF(lnet_ioctl_pool_cfg, pl_routing, 48);

static_assert(sizeof(lnet_ioctl_ping_data) == 56);
HPCNET_OFF(lnet_ioctl_ping_data, op_param, 8);
HPCNET_OFF(lnet_ioctl_ping_data, ping_count, 12);
HPCNET_OFF(lnet_ioctl_ping_data, ping_flags, 16);
HPCNET_OFF(lnet_ioctl_ping_data, mr_info, 20);
HPCNET_OFF(lnet_ioctl_ping_data, ping_id, 24);
HPCNET_OFF(lnet_ioctl_ping_data, ping_id.pid, 32);
HPCNET_OFF(lnet_ioctl_ping_data, ping_buf, 40);
HPCNET_OFF(lnet_ioctl_ping_data, ping_src, 48);

static_assert(sizeof(lnet_ioctl_comm_count) == 20);
static_assert(sizeof(lnet_ioctl_element_stats) == 12);
static_assert(sizeof(lnet_ioctl_element_msg_stats) == 72);
HPCNET_OFF(lnet_ioctl_element_msg_stats, im_idx, 8);
HPCNET_OFF(lnet_ioctl_element_msg_stats, im_send_stats, 12);
HPCNET_OFF(lnet_ioctl_element_msg_stats, im_recv_stats, 32);
HPCNET_OFF(lnet_ioctl_element_msg_stats, im_drop_stats, 52);

static_assert(sizeof(lnet_ioctl_local_ni_hstats) == 64);
HPCNET_OFF(lnet_ioctl_local_ni_hstats, hlni_nid, 8);
HPCNET_OFF(lnet_ioctl_local_ni_hstats, hlni_local_interrupt, 16);
HPCNET_OFF(lnet_ioctl_local_ni_hstats, hlni_local_dropped, 20);
HPCNET_OFF(lnet_ioctl_local_ni_hstats, hlni_local_aborted, 24);
HPCNET_OFF(lnet_ioctl_local_ni_hstats, hlni_local_no_route, 28);
HPCNET_OFF(lnet_ioctl_local_ni_hstats, hlni_local_timeout, 32);
HPCNET_OFF(lnet_ioctl_local_ni_hstats, hlni_local_error, 36);
HPCNET_OFF(lnet_ioctl_local_ni_hstats, hlni_fatal_error, 40);
HPCNET_OFF(lnet_ioctl_local_ni_hstats, hlni_health_value, 44);
HPCNET_OFF(lnet_ioctl_local_ni_hstats, hlni_ping_count, 48);
HPCNET_OFF(lnet_ioctl_local_ni_hstats, hlni_next_ping, 56);

static_assert(sizeof(lnet_ioctl_peer_ni_hstats) == 32);
HPCNET_OFF(lnet_ioctl_peer_ni_hstats, hlpni_remote_timeout, 4);
HPCNET_OFF(lnet_ioctl_peer_ni_hstats, hlpni_remote_error, 8);
HPCNET_OFF(lnet_ioctl_peer_ni_hstats, hlpni_network_timeout, 12);
HPCNET_OFF(lnet_ioctl_peer_ni_hstats, hlpni_health_value, 16);
HPCNET_OFF(lnet_ioctl_peer_ni_hstats, hlpni_ping_count, 20);
HPCNET_OFF(lnet_ioctl_peer_ni_hstats, hlpni_next_ping, 24);

static_assert(sizeof(lnet_peer_ni_credit_info) == 160);
HPCNET_OFF(lnet_peer_ni_credit_info, cr_refcount, 128);
HPCNET_OFF(lnet_peer_ni_credit_info, cr_ni_peer_tx_credits, 132);
HPCNET_OFF(lnet_peer_ni_credit_info, cr_peer_tx_credits, 136);
HPCNET_OFF(lnet_peer_ni_credit_info, cr_peer_min_tx_credits, 140);
HPCNET_OFF(lnet_peer_ni_credit_info, cr_peer_tx_qnob, 144);
HPCNET_OFF(lnet_peer_ni_credit_info, cr_peer_rtr_credits, 148);
HPCNET_OFF(lnet_peer_ni_credit_info, cr_peer_min_rtr_credits, 152);
HPCNET_OFF(lnet_peer_ni_credit_info, cr_ncpt, 156);

static_assert(sizeof(lnet_ioctl_peer) == 184);
HPCNET_OFF(lnet_ioctl_peer, pr_count, 8);
HPCNET_OFF(lnet_ioctl_peer, pr_pad, 12);
HPCNET_OFF(lnet_ioctl_peer, pr_nid, 16);
HPCNET_OFF(lnet_ioctl_peer, pr_lnd_u, 24);

static_assert(sizeof(lnet_ioctl_peer_cfg) == 48);
HPCNET_OFF(lnet_ioctl_peer_cfg, prcfg_prim_nid, 8);
HPCNET_OFF(lnet_ioctl_peer_cfg, prcfg_cfg_nid, 16);
HPCNET_OFF(lnet_ioctl_peer_cfg, prcfg_count, 24);
HPCNET_OFF(lnet_ioctl_peer_cfg, prcfg_mr, 28);
HPCNET_OFF(lnet_ioctl_peer_cfg, prcfg_state, 32);
HPCNET_OFF(lnet_ioctl_peer_cfg, prcfg_size, 36);
HPCNET_OFF(lnet_ioctl_peer_cfg, prcfg_bulk, 40);

static_assert(sizeof(lnet_ioctl_set_value) == 12);
HPCNET_OFF(lnet_ioctl_set_value, sv_value, 8);

static_assert(sizeof(lnet_counters_common) == 60);
HPCNET_OFF(lnet_counters_common, lcc_send_length, 28);
HPCNET_OFF(lnet_counters_common, lcc_recv_length, 36);
HPCNET_OFF(lnet_counters_common, lcc_route_length, 44);
HPCNET_OFF(lnet_counters_common, lcc_drop_length, 52);
static_assert(sizeof(lnet_counters_health_2_15) == 52);
static_assert(sizeof(lnet_counters_health_master) == 60);
static_assert(sizeof(master::lnet_stats) == 128);
static_assert(sizeof(r2_16::lnet_stats) == 120);
static_assert(sizeof(r2_15::lnet_stats) == 120);
HPCNET_OFF(master::lnet_stats, st_cntrs, 8);
HPCNET_OFF(master::lnet_stats, st_cntrs.lct_health, 68);
#undef HPCNET_OFF

static_assert(Legacy(59) == 0xc008653b);
static_assert(Dlc(81) == 0xc0b86551);
static_assert(Dlc(112) == 0xc0b86570);

// Export every size/offset/ioctl number for the TS packer and the layout test.
Napi::Object Layouts(Napi::Env env);

}  // namespace hpcnet::lnet::abi
