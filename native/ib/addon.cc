// Entry point of the hpcnet_ib addon: libibumad + libibmad.
#include "ib/addon.h"

#include "ib/mad_port.h"

#include <infiniband/umad.h>

#include <mutex>

namespace hpcnet::ib {

void EnsureUmadInit() {
  static std::once_flag once;
  static int rc = 0;
  std::call_once(once, [] { rc = umad_init(); });
  if (rc < 0) {
    throw NativeError{"ENODEV", ENODEV, "umad_init",
                      "umad_init: no usable InfiniBand MAD interface (is ib_umad loaded, "
                      "or is the process running under the simulator?)"};
  }
}

IbAddon::~IbAddon() {
  // Ports and the job thread have closed themselves in their own environment
  // cleanup hooks by now (their thread-safe functions are gone): nothing to
  // release here.
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  auto* addon = new IbAddon();
  env.SetInstanceData<IbAddon>(addon);
  Napi::Function ctor = MadPort::Define(env);
  addon->madPortCtor = Napi::Persistent(ctor);
  exports.Set("available", Napi::Boolean::New(env, true));
  exports.Set("ibumadVersion", Napi::String::New(env, HPCNET_IBUMAD_VERSION));
  exports.Set("ibmadVersion", Napi::String::New(env, HPCNET_IBMAD_VERSION));
  exports.Set("napiVersion", Napi::Number::New(env, NAPI_VERSION));
  exports.Set("getCas", Napi::Function::New(env, GetCas, "getCas"));
  exports.Set("openPort", Napi::Function::New(env, OpenPort, "openPort"));
  exports.Set("decodeFields", Napi::Function::New(env, DecodeFields, "decodeFields"));
  exports.Set("encodeFields", Napi::Function::New(env, EncodeFields, "encodeFields"));
  exports.Set("decodeFieldsInto", Napi::Function::New(env, DecodeFieldsInto, "decodeFieldsInto"));
  exports.Set("dumpField", Napi::Function::New(env, DumpField, "dumpField"));
  exports.Set("fieldGroups", FieldGroups(env));
  exports.Set("MadPort", ctor);
  return exports;
}

}  // namespace hpcnet::ib

static Napi::Object InitModule(Napi::Env env, Napi::Object exports) {
  return hpcnet::ib::Init(env, exports);
}

NODE_API_MODULE(hpcnet_ib, InitModule)
