// Exports the compiled LNet ABI (structs.h) to JS: ioctl numbers, header
// versions, and for every struct its size and field offsets, per release
// where layouts differ. lib/lnet/kernel/ packs by these numbers and the
// layout test compares them with the reference tables.
#include "lnet/structs.h"

namespace hpcnet::lnet::abi {

namespace {

class StructOut {
 public:
  StructOut(Napi::Env env, Napi::Object parent, const char* name, size_t size)
      : env_(env), obj_(Napi::Object::New(env)), fields_(Napi::Object::New(env)) {
    obj_.Set("size", Napi::Number::New(env, static_cast<double>(size)));
    obj_.Set("fields", fields_);
    parent.Set(name, obj_);
  }
  StructOut& Field(const char* name, size_t off) {
    fields_.Set(name, Napi::Number::New(env_, static_cast<double>(off)));
    return *this;
  }

 private:
  Napi::Env env_;
  Napi::Object obj_;
  Napi::Object fields_;
};

#define S(parent, T) StructOut(env, parent, #T, sizeof(T))
#define F(T, f) Field(#f, offsetof(T, f))

template <class Tun, class O2ib, class Sock, class Stats, bool kHasTimeout>
void Release(Napi::Env env, Napi::Object out) {
  StructOut(env, out, "lnet_lnd_tunables", sizeof(decltype(Tun::lt_tun)));
  StructOut(env, out, "lnet_ioctl_config_lnd_tunables", sizeof(Tun))
      .Field("lt_cmn", offsetof(Tun, lt_cmn))
      .Field("lt_tun", offsetof(Tun, lt_tun));
  StructOut o2ib(env, out, "lnet_ioctl_config_o2iblnd_tunables", sizeof(O2ib));
  o2ib
      .Field("lnd_version", offsetof(O2ib, lnd_version))
      .Field("lnd_peercredits_hiw", offsetof(O2ib, lnd_peercredits_hiw))
      .Field("lnd_map_on_demand", offsetof(O2ib, lnd_map_on_demand))
      .Field("lnd_concurrent_sends", offsetof(O2ib, lnd_concurrent_sends))
      .Field("lnd_fmr_pool_size", offsetof(O2ib, lnd_fmr_pool_size))
      .Field("lnd_fmr_flush_trigger", offsetof(O2ib, lnd_fmr_flush_trigger))
      .Field("lnd_fmr_cache", offsetof(O2ib, lnd_fmr_cache))
      .Field("lnd_conns_per_peer", offsetof(O2ib, lnd_conns_per_peer))
      .Field("lnd_ntx", offsetof(O2ib, lnd_ntx));
  StructOut sock(env, out, "lnet_ioctl_config_socklnd_tunables", sizeof(Sock));
  sock.Field("lnd_version", offsetof(Sock, lnd_version))
      .Field("lnd_conns_per_peer", offsetof(Sock, lnd_conns_per_peer))
      .Field("lnd_pad", offsetof(Sock, lnd_pad));
  if constexpr (kHasTimeout) {  // master and 2.16 only
    o2ib.Field("lnd_timeout", offsetof(O2ib, lnd_timeout)).Field("lnd_tos", offsetof(O2ib, lnd_tos));
    sock.Field("lnd_timeout", offsetof(Sock, lnd_timeout)).Field("lnd_tos", offsetof(Sock, lnd_tos));
  }
  StructOut(env, out, "lnet_ioctl_lnet_stats", sizeof(Stats))
      .Field("st_hdr", offsetof(Stats, st_hdr))
      .Field("st_cntrs", offsetof(Stats, st_cntrs))
      .Field("lct_health", offsetof(Stats, st_cntrs.lct_health));
}

}  // namespace

Napi::Object Layouts(Napi::Env env) {
  Napi::Object root = Napi::Object::New(env);

  Napi::Object ioc = Napi::Object::New(env);
  struct {
    const char* name;
    uint32_t value;
  } const table[] = {
      {"CLEAR_DEBUG", Legacy(31)},   {"MARK_DEBUG", Legacy(32)},     {"GET_NI", Legacy(50)},
      {"FAIL_NID", Legacy(51)},      {"NOTIFY_ROUTER", Legacy(55)},  {"UNCONFIGURE", Legacy(56)},
      {"LNET_DIST", Legacy(58)},     {"CONFIGURE", Legacy(59)},      {"TESTPROTOCOMPAT", Legacy(60)},
      {"PING", Legacy(61)},          {"PING_PEER", Legacy(62)},      {"LNETST", Legacy(63)},
      {"LNET_FAULT", Legacy(64)},    {"DISCOVER", Legacy(77)},       {"ADD_ROUTE", Dlc(81)},
      {"DEL_ROUTE", Dlc(82)},        {"GET_ROUTE", Dlc(83)},         {"ADD_NET", Dlc(84)},
      {"DEL_NET", Dlc(85)},          {"GET_NET", Dlc(86)},           {"CONFIG_RTR", Dlc(87)},
      {"ADD_BUF", Dlc(88)},          {"GET_BUF", Dlc(89)},           {"GET_PEER_INFO", Dlc(90)},
      {"GET_LNET_STATS", Dlc(91)},   {"ADD_PEER_NI", Dlc(92)},       {"DEL_PEER_NI", Dlc(93)},
      {"GET_PEER_NI", Dlc(94)},      {"ADD_LOCAL_NI", Dlc(95)},      {"DEL_LOCAL_NI", Dlc(96)},
      {"GET_LOCAL_NI", Dlc(97)},     {"SET_NUMA_RANGE", Dlc(98)},    {"GET_NUMA_RANGE", Dlc(99)},
      {"GET_PEER_LIST", Dlc(100)},   {"GET_LOCAL_NI_MSG_STATS", Dlc(101)},
      {"SET_HEALHV", Dlc(102)},      {"GET_LOCAL_HSTATS", Dlc(103)}, {"GET_RECOVERY_QUEUE", Dlc(104)},
      {"ADD_UDSP", Dlc(105)},        {"DEL_UDSP", Dlc(106)},         {"GET_UDSP_SIZE", Dlc(107)},
      {"GET_UDSP", Dlc(108)},        {"GET_CONST_UDSP_INFO", Dlc(109)},
      {"RESET_LNET_STATS", Dlc(110)}, {"SET_CONNS_PER_PEER", Dlc(111)}, {"SET_PEER", Dlc(112)},
  };
  for (const auto& e : table) ioc.Set(e.name, Napi::Number::New(env, e.value));
  root.Set("ioctl", ioc);
  root.Set("version1", Napi::Number::New(env, kVersion1));
  root.Set("version2", Napi::Number::New(env, kVersion2));

  Napi::Object s = Napi::Object::New(env);
  S(s, libcfs_ioctl_hdr).F(libcfs_ioctl_hdr, ioc_len).F(libcfs_ioctl_hdr, ioc_version);
  S(s, libcfs_ioctl_data)
      .F(libcfs_ioctl_data, ioc_hdr).F(libcfs_ioctl_data, ioc_nid).F(libcfs_ioctl_data, ioc_u64)
      .F(libcfs_ioctl_data, ioc_flags).F(libcfs_ioctl_data, ioc_count).F(libcfs_ioctl_data, ioc_net)
      .F(libcfs_ioctl_data, ioc_u32).F(libcfs_ioctl_data, ioc_inllen1).F(libcfs_ioctl_data, ioc_inlbuf1)
      .F(libcfs_ioctl_data, ioc_inllen2).F(libcfs_ioctl_data, ioc_inlbuf2)
      .F(libcfs_ioctl_data, ioc_plen1).F(libcfs_ioctl_data, ioc_pbuf1)
      .F(libcfs_ioctl_data, ioc_plen2).F(libcfs_ioctl_data, ioc_pbuf2).F(libcfs_ioctl_data, ioc_bulk);
  S(s, lnet_process_id).F(lnet_process_id, nid).F(lnet_process_id, pid);
  S(s, lnet_ioctl_config_data)
      .F(lnet_ioctl_config_data, cfg_hdr).F(lnet_ioctl_config_data, cfg_net)
      .F(lnet_ioctl_config_data, cfg_count).F(lnet_ioctl_config_data, cfg_nid)
      .F(lnet_ioctl_config_data, cfg_ncpts)
      .F(lnet_ioctl_config_data, cfg_config_u.cfg_route.rtr_hop)
      .F(lnet_ioctl_config_data, cfg_config_u.cfg_route.rtr_priority)
      .F(lnet_ioctl_config_data, cfg_config_u.cfg_route.rtr_flags)
      .F(lnet_ioctl_config_data, cfg_config_u.cfg_route.rtr_sensitivity)
      .F(lnet_ioctl_config_data, cfg_config_u.cfg_net.net_intf)
      .F(lnet_ioctl_config_data, cfg_config_u.cfg_net.net_peer_timeout)
      .F(lnet_ioctl_config_data, cfg_config_u.cfg_net.net_peer_tx_credits)
      .F(lnet_ioctl_config_data, cfg_config_u.cfg_net.net_peer_rtr_credits)
      .F(lnet_ioctl_config_data, cfg_config_u.cfg_net.net_max_tx_credits)
      .F(lnet_ioctl_config_data, cfg_config_u.cfg_net.net_cksum_algo)
      .F(lnet_ioctl_config_data, cfg_config_u.cfg_net.net_interface_count)
      .F(lnet_ioctl_config_data, cfg_config_u.cfg_buffers.buf_enable)
      .F(lnet_ioctl_config_data, cfg_config_u.cfg_buffers.buf_tiny)
      .F(lnet_ioctl_config_data, cfg_config_u.cfg_buffers.buf_small)
      .F(lnet_ioctl_config_data, cfg_config_u.cfg_buffers.buf_large)
      .F(lnet_ioctl_config_data, cfg_bulk);
  S(s, lnet_ioctl_net_config)
      .F(lnet_ioctl_net_config, ni_interface).F(lnet_ioctl_net_config, ni_status)
      .F(lnet_ioctl_net_config, ni_cpts).F(lnet_ioctl_net_config, cfg_bulk);
  S(s, lnet_ioctl_config_ni)
      .F(lnet_ioctl_config_ni, lic_cfg_hdr).F(lnet_ioctl_config_ni, lic_nid)
      .F(lnet_ioctl_config_ni, lic_ni_intf).F(lnet_ioctl_config_ni, lic_legacy_ip2nets)
      .F(lnet_ioctl_config_ni, lic_cpts).F(lnet_ioctl_config_ni, lic_ncpts)
      .F(lnet_ioctl_config_ni, lic_status).F(lnet_ioctl_config_ni, lic_idx)
      .F(lnet_ioctl_config_ni, lic_dev_cpt).F(lnet_ioctl_config_ni, pad)
      .F(lnet_ioctl_config_ni, lic_bulk);
  S(s, lnet_ioctl_config_lnd_cmn_tunables)
      .F(lnet_ioctl_config_lnd_cmn_tunables, lct_version)
      .F(lnet_ioctl_config_lnd_cmn_tunables, lct_peer_timeout)
      .F(lnet_ioctl_config_lnd_cmn_tunables, lct_peer_tx_credits)
      .F(lnet_ioctl_config_lnd_cmn_tunables, lct_peer_rtr_credits)
      .F(lnet_ioctl_config_lnd_cmn_tunables, lct_max_tx_credits);
  S(s, lnet_ioctl_pool_cfg)
      .F(lnet_ioctl_pool_cfg, pl_pools).F(lnet_ioctl_pool_cfg, pl_pools[0].pl_npages)
      .F(lnet_ioctl_pool_cfg, pl_pools[0].pl_nbuffers).F(lnet_ioctl_pool_cfg, pl_pools[0].pl_credits)
      .F(lnet_ioctl_pool_cfg, pl_pools[0].pl_mincredits).F(lnet_ioctl_pool_cfg, pl_pools[1])
      .F(lnet_ioctl_pool_cfg, pl_pools[2]).F(lnet_ioctl_pool_cfg, pl_routing);
  S(s, lnet_ioctl_ping_data)
      .F(lnet_ioctl_ping_data, ping_hdr).F(lnet_ioctl_ping_data, op_param)
      .F(lnet_ioctl_ping_data, ping_count).F(lnet_ioctl_ping_data, ping_flags)
      .F(lnet_ioctl_ping_data, mr_info).F(lnet_ioctl_ping_data, ping_id)
      .F(lnet_ioctl_ping_data, ping_id.nid).F(lnet_ioctl_ping_data, ping_id.pid)
      .F(lnet_ioctl_ping_data, ping_buf).F(lnet_ioctl_ping_data, ping_src);
  S(s, lnet_ioctl_comm_count)
      .F(lnet_ioctl_comm_count, ico_get_count).F(lnet_ioctl_comm_count, ico_put_count)
      .F(lnet_ioctl_comm_count, ico_reply_count).F(lnet_ioctl_comm_count, ico_ack_count)
      .F(lnet_ioctl_comm_count, ico_hello_count);
  S(s, lnet_ioctl_element_stats)
      .F(lnet_ioctl_element_stats, iel_send_count).F(lnet_ioctl_element_stats, iel_recv_count)
      .F(lnet_ioctl_element_stats, iel_drop_count);
  S(s, lnet_ioctl_element_msg_stats)
      .F(lnet_ioctl_element_msg_stats, im_hdr).F(lnet_ioctl_element_msg_stats, im_idx)
      .F(lnet_ioctl_element_msg_stats, im_send_stats).F(lnet_ioctl_element_msg_stats, im_recv_stats)
      .F(lnet_ioctl_element_msg_stats, im_drop_stats);
  S(s, lnet_ioctl_local_ni_hstats)
      .F(lnet_ioctl_local_ni_hstats, hlni_hdr).F(lnet_ioctl_local_ni_hstats, hlni_nid)
      .F(lnet_ioctl_local_ni_hstats, hlni_local_interrupt)
      .F(lnet_ioctl_local_ni_hstats, hlni_local_dropped)
      .F(lnet_ioctl_local_ni_hstats, hlni_local_aborted)
      .F(lnet_ioctl_local_ni_hstats, hlni_local_no_route)
      .F(lnet_ioctl_local_ni_hstats, hlni_local_timeout)
      .F(lnet_ioctl_local_ni_hstats, hlni_local_error)
      .F(lnet_ioctl_local_ni_hstats, hlni_fatal_error)
      .F(lnet_ioctl_local_ni_hstats, hlni_health_value)
      .F(lnet_ioctl_local_ni_hstats, hlni_ping_count)
      .F(lnet_ioctl_local_ni_hstats, hlni_next_ping);
  S(s, lnet_ioctl_peer_ni_hstats)
      .F(lnet_ioctl_peer_ni_hstats, hlpni_remote_dropped)
      .F(lnet_ioctl_peer_ni_hstats, hlpni_remote_timeout)
      .F(lnet_ioctl_peer_ni_hstats, hlpni_remote_error)
      .F(lnet_ioctl_peer_ni_hstats, hlpni_network_timeout)
      .F(lnet_ioctl_peer_ni_hstats, hlpni_health_value)
      .F(lnet_ioctl_peer_ni_hstats, hlpni_ping_count)
      .F(lnet_ioctl_peer_ni_hstats, hlpni_next_ping);
  S(s, lnet_peer_ni_credit_info)
      .F(lnet_peer_ni_credit_info, cr_aliveness).F(lnet_peer_ni_credit_info, cr_refcount)
      .F(lnet_peer_ni_credit_info, cr_ni_peer_tx_credits)
      .F(lnet_peer_ni_credit_info, cr_peer_tx_credits)
      .F(lnet_peer_ni_credit_info, cr_peer_min_tx_credits)
      .F(lnet_peer_ni_credit_info, cr_peer_tx_qnob)
      .F(lnet_peer_ni_credit_info, cr_peer_rtr_credits)
      .F(lnet_peer_ni_credit_info, cr_peer_min_rtr_credits)
      .F(lnet_peer_ni_credit_info, cr_ncpt);
  S(s, lnet_ioctl_peer)
      .F(lnet_ioctl_peer, pr_hdr).F(lnet_ioctl_peer, pr_count).F(lnet_ioctl_peer, pr_pad)
      .F(lnet_ioctl_peer, pr_nid).F(lnet_ioctl_peer, pr_lnd_u);
  S(s, lnet_ioctl_peer_cfg)
      .F(lnet_ioctl_peer_cfg, prcfg_hdr).F(lnet_ioctl_peer_cfg, prcfg_prim_nid)
      .F(lnet_ioctl_peer_cfg, prcfg_cfg_nid).F(lnet_ioctl_peer_cfg, prcfg_count)
      .F(lnet_ioctl_peer_cfg, prcfg_mr).F(lnet_ioctl_peer_cfg, prcfg_state)
      .F(lnet_ioctl_peer_cfg, prcfg_size).F(lnet_ioctl_peer_cfg, prcfg_bulk);
  S(s, lnet_ioctl_set_value).F(lnet_ioctl_set_value, sv_hdr).F(lnet_ioctl_set_value, sv_value);
  S(s, lnet_counters_common)
      .F(lnet_counters_common, lcc_msgs_alloc).F(lnet_counters_common, lcc_msgs_max)
      .F(lnet_counters_common, lcc_errors).F(lnet_counters_common, lcc_send_count)
      .F(lnet_counters_common, lcc_recv_count).F(lnet_counters_common, lcc_route_count)
      .F(lnet_counters_common, lcc_drop_count).F(lnet_counters_common, lcc_send_length)
      .F(lnet_counters_common, lcc_recv_length).F(lnet_counters_common, lcc_route_length)
      .F(lnet_counters_common, lcc_drop_length);
  root.Set("structs", s);

  Napi::Object rel = Napi::Object::New(env);
  Napi::Object m = Napi::Object::New(env);
  Release<master::config_lnd_tunables, master::o2iblnd_tunables, master::socklnd_tunables,
          master::lnet_stats, true>(env, m);
  StructOut(env, m, "lnet_ioctl_config_kfilnd_tunables", sizeof(master::kfilnd_tunables));
  Napi::Object r16 = Napi::Object::New(env);
  Release<r2_16::config_lnd_tunables, r2_16::o2iblnd_tunables, r2_16::socklnd_tunables,
          r2_16::lnet_stats, true>(env, r16);
  StructOut(env, r16, "lnet_ioctl_config_kfilnd_tunables", sizeof(r2_16::kfilnd_tunables));
  Napi::Object r15 = Napi::Object::New(env);
  Release<r2_15::config_lnd_tunables, r2_15::o2iblnd_tunables, r2_15::socklnd_tunables,
          r2_15::lnet_stats, false>(env, r15);
  rel.Set("master", m);
  rel.Set("2.16", r16);
  rel.Set("2.15", r15);
  root.Set("releases", rel);
  return root;
}

#undef S
#undef F

}  // namespace hpcnet::lnet::abi
