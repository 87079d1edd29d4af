// LnetHandle: the N-API object behind openLnetKernel() (lib/lnet/kernel/).
#pragma once

#include <napi.h>

#include <memory>

namespace hpcnet::lnet {

class LnetHandle : public Napi::ObjectWrap<LnetHandle> {
 public:
  static Napi::Function Class(Napi::Env env);
  explicit LnetHandle(const Napi::CallbackInfo& info);
  ~LnetHandle() override;

 private:
  struct Impl;

  Napi::Value Ioctl(const Napi::CallbackInfo& info);
  Napi::Value NlRequest(const Napi::CallbackInfo& info);
  Napi::Value NlPort(const Napi::CallbackInfo& info);
  Napi::Value ReadFile(const Napi::CallbackInfo& info);
  Napi::Value WriteFile(const Napi::CallbackInfo& info);
  Napi::Value ListDir(const Napi::CallbackInfo& info);
  Napi::Value ModLoad(const Napi::CallbackInfo& info);
  Napi::Value ModList(const Napi::CallbackInfo& info);
  Napi::Value ModRemove(const Napi::CallbackInfo& info);
  Napi::Value Close(const Napi::CallbackInfo& info);

  void CloseNative(bool teardown = false);
  static Napi::Value Closed(Napi::Env env);
  static bool CheckTag(const Napi::CallbackInfo& info);

  std::unique_ptr<Impl> impl_;
  static void CleanupHook(void* self);
  napi_env env_ = nullptr;
  bool hooked_ = false;
};

Napi::Value BuildRequest(const Napi::CallbackInfo& info);

}  // namespace hpcnet::lnet
