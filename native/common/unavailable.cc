// Stand-in addon built when a part's system libraries are missing at build
// time (see binding.gyp). It loads, so the package still imports, and tells
// lib/native/loader.ts exactly what was missing.
#include <napi.h>

#define HPCNET_STR2(x) #x
#define HPCNET_STR(x) HPCNET_STR2(x)

static Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("available", Napi::Boolean::New(env, false));
  exports.Set("missing", Napi::String::New(env, HPCNET_MISSING));
  return exports;
}

NODE_API_MODULE(HPCNET_ADDON_NAME, Init)
