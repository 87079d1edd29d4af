// Entry point of the hpcnet_lnet addon: /dev/lnet ioctls, generic netlink
// (libnl-genl-3) and kernel modules (libkmod). Operations land with the LNet
// native-layer work; this entry already proves build and link.
#include <libkmod.h>
#include <napi.h>
#include <netlink/genl/genl.h>
#include <netlink/version.h>

namespace hpcnet::lnet {

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("available", Napi::Boolean::New(env, true));
  exports.Set("libnlVersion", Napi::String::New(env, LIBNL_VERSION));
  return exports;
}

}  // namespace hpcnet::lnet

static Napi::Object InitModule(Napi::Env env, Napi::Object exports) {
  return hpcnet::lnet::Init(env, exports);
}

NODE_API_MODULE(hpcnet_lnet, InitModule)
