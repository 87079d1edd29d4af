// Per-environment state of the InfiniBand addon (context-aware: one instance
// per main thread or worker, nothing process-global but libibumad's init).
#pragma once

#include <napi.h>

#include <memory>
#include <set>

#include "common/job_thread.h"

namespace hpcnet::ib {

class MadPort;

struct IbAddon {
  // Runs short library calls that read (simulated) sysfs: CA enumeration, port opening.
  std::unique_ptr<JobThread> jobs;
  // Open MAD ports of this environment, closed at environment teardown.
  std::set<MadPort*> ports;
  // Opened umad ports handed from openPort's job to the MadPort constructor:
  // the constructor accepts only one of these (no External of another kind).
  std::set<const void*> openedPending;
  Napi::FunctionReference madPortCtor;

  ~IbAddon();

  JobThread& Jobs(Napi::Env env) {
    if (!jobs) jobs = std::make_unique<JobThread>(env, "hpcnet-ib-jobs");
    return *jobs;
  }
  static IbAddon& Of(Napi::Env env) { return *env.GetInstanceData<IbAddon>(); }
};

// libibumad's umad_init(), once per process, from whichever thread first
// needs it. Throws NativeError when the kernel ABI is missing.
void EnsureUmadInit();

Napi::Value GetCas(const Napi::CallbackInfo& info);

}  // namespace hpcnet::ib
