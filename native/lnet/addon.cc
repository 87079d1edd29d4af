// Entry point of the hpcnet_lnet addon: /dev/lnet ioctls, generic netlink
// (libnl-genl-3) and kernel modules (libkmod). Context-aware: nothing here is
// process-global; each LnetHandle owns its thread and resources and closes
// them on close(), on GC and at environment shutdown (worker_threads too).
#include <libkmod.h>
#include <napi.h>
#include <netlink/genl/genl.h>
#include <netlink/version.h>

#include "common/job_thread.h"
#include "lnet/handle.h"
#include "lnet/structs.h"

namespace hpcnet::lnet {

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("available", Napi::Boolean::New(env, true));
  exports.Set("libnlVersion", Napi::String::New(env, LIBNL_VERSION));
  exports.Set("layouts", abi::Layouts(env));
  exports.Set("LnetHandle", LnetHandle::Class(env));
  exports.Set("buildRequest", Napi::Function::New(env, BuildRequest, "buildRequest"));
  // The name the addon gives an errno (for the test that holds it to lib/errno.ts).
  exports.Set("errnoName", Napi::Function::New(
                               env,
                               [](const Napi::CallbackInfo& info) -> Napi::Value {
                                 return Napi::String::New(info.Env(), ErrnoName(info[0].As<Napi::Number>().Int32Value()));
                               },
                               "errnoName"));
  return exports;
}

}  // namespace hpcnet::lnet

static Napi::Object InitModule(Napi::Env env, Napi::Object exports) {
  return hpcnet::lnet::Init(env, exports);
}

NODE_API_MODULE(hpcnet_lnet, InitModule)
