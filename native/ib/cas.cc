// CA enumeration through libibumad (what ibstat reads). Under umad2sim only
// libibumad's own open/opendir/scandir calls see the simulated sysfs, so
// nothing here reads sysfs directly.
#include <endian.h>
#include <infiniband/umad.h>

#include <string>
#include <vector>

#include "ib/addon.h"

namespace hpcnet::ib {

namespace {

struct PortRec {
  int portNum;
  unsigned baseLid, lmc, smLid, smSl, state, physState, rate;
  uint32_t capMask;
  uint64_t gidPrefix, portGuid;
  std::string linkLayer;
};

struct CaRec {
  std::string name, caType, fwVer, hwVer;
  unsigned nodeType;
  int numPorts;
  uint64_t nodeGuid, systemGuid;
  std::vector<PortRec> ports;
};

CaRec ReadCa(const char* name) {
  umad_ca_t ca{};
  int rc = umad_get_ca(name, &ca);
  if (rc < 0) throw NativeError::FromErrno(-rc, "umad_get_ca", std::string("(") + name + ")");
  CaRec r;
  r.name = ca.ca_name;
  r.caType = ca.ca_type;
  r.fwVer = ca.fw_ver;
  r.hwVer = ca.hw_ver;
  r.nodeType = ca.node_type;
  r.numPorts = ca.numports;
  r.nodeGuid = be64toh(ca.node_guid);
  r.systemGuid = be64toh(ca.system_guid);
  for (int i = 0; i < UMAD_CA_MAX_PORTS; i++) {
    const umad_port_t* p = ca.ports[i];
    if (p == nullptr) continue;
    r.ports.push_back(PortRec{p->portnum, p->base_lid, p->lmc, p->sm_lid, p->sm_sl, p->state,
                              p->phys_state, p->rate, be32toh(p->capmask), be64toh(p->gid_prefix),
                              be64toh(p->port_guid), p->link_layer});
  }
  umad_release_ca(&ca);
  return r;
}

Napi::Object ToJs(Napi::Env env, const CaRec& c) {
  Napi::Object o = Napi::Object::New(env);
  o.Set("name", c.name);
  o.Set("caType", c.caType);
  o.Set("nodeType", c.nodeType);
  o.Set("numPorts", c.numPorts);
  o.Set("fwVer", c.fwVer);
  o.Set("hwVer", c.hwVer);
  o.Set("nodeGuid", Napi::BigInt::New(env, c.nodeGuid));
  o.Set("systemGuid", Napi::BigInt::New(env, c.systemGuid));
  Napi::Array ports = Napi::Array::New(env, c.ports.size());
  for (size_t i = 0; i < c.ports.size(); i++) {
    const PortRec& p = c.ports[i];
    Napi::Object po = Napi::Object::New(env);
    po.Set("portNum", p.portNum);
    po.Set("baseLid", p.baseLid);
    po.Set("lmc", p.lmc);
    po.Set("smLid", p.smLid);
    po.Set("smSl", p.smSl);
    po.Set("state", p.state);
    po.Set("physState", p.physState);
    po.Set("rate", p.rate);
    po.Set("capMask", p.capMask);
    po.Set("gidPrefix", Napi::BigInt::New(env, p.gidPrefix));
    po.Set("portGuid", Napi::BigInt::New(env, p.portGuid));
    po.Set("linkLayer", p.linkLayer);
    ports[i] = po;
  }
  o.Set("ports", ports);
  return o;
}

}  // namespace

// getCas(name?: string): Promise<CaRecord[]>: one CA by name, or all CAs.
Napi::Value GetCas(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string only;
  if (info.Length() > 0 && !info[0].IsUndefined() && !info[0].IsNull()) {
    if (!info[0].IsString()) {
      Napi::TypeError::New(env, "getCas: CA name must be a string").ThrowAsJavaScriptException();
      return env.Undefined();
    }
    only = info[0].As<Napi::String>();
    if (only.size() >= UMAD_CA_NAME_LEN) {
      Napi::TypeError::New(env, "getCas: CA name too long").ThrowAsJavaScriptException();
      return env.Undefined();
    }
  }
  auto result = std::make_shared<std::vector<CaRec>>();
  return IbAddon::Of(env).Jobs(env).Run(
      env,
      [only, result] {
        EnsureUmadInit();
        if (!only.empty()) {
          result->push_back(ReadCa(only.c_str()));
          return;
        }
        char names[UMAD_MAX_DEVICES][UMAD_CA_NAME_LEN];
        int n = umad_get_cas_names(names, UMAD_MAX_DEVICES);
        if (n < 0) throw NativeError::FromErrno(-n, "umad_get_cas_names");
        // With no CA present, libibumad still offers a default name; a CA
        // that vanished between listing and reading is skipped too.
        for (int i = 0; i < n; i++) {
          try {
            result->push_back(ReadCa(names[i]));
          } catch (const NativeError& e) {
            if (e.errnum != ENOENT && e.errnum != ENODEV) throw;
          }
        }
        if (result->empty()) {
          throw NativeError{"ENODEV", ENODEV, "umad_get_cas_names",
                            "no InfiniBand CA found (no device under /sys/class/infiniband_mad; "
                            "is ib_umad loaded, or did you mean to run under the simulator with --sim?)"};
        }
      },
      [result](Napi::Env env) -> Napi::Value {
        Napi::Array arr = Napi::Array::New(env, result->size());
        for (size_t i = 0; i < result->size(); i++) arr[i] = ToJs(env, (*result)[i]);
        return arr;
      });
}

}  // namespace hpcnet::ib
