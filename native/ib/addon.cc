// Entry point of the hpcnet_ib addon: libibumad + libibmad.
#include "ib/addon.h"

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

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  env.SetInstanceData<IbAddon>(new IbAddon());
  exports.Set("available", Napi::Boolean::New(env, true));
  exports.Set("ibumadVersion", Napi::String::New(env, HPCNET_IBUMAD_VERSION));
  exports.Set("ibmadVersion", Napi::String::New(env, HPCNET_IBMAD_VERSION));
  exports.Set("napiVersion", Napi::Number::New(env, NAPI_VERSION));
  exports.Set("getCas", Napi::Function::New(env, GetCas, "getCas"));
  return exports;
}

}  // namespace hpcnet::ib

static Napi::Object InitModule(Napi::Env env, Napi::Object exports) {
  return hpcnet::ib::Init(env, exports);
}

NODE_API_MODULE(hpcnet_ib, InitModule)
