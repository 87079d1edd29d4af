// MadPort: one open CA port with one umad fd per management class, driven by
// a dedicated engine thread. See mad_port.cc for the engine's rules.
#pragma once

#include <napi.h>

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <unordered_set>
#include <vector>

namespace hpcnet::ib {

struct IbAddon;

// Class slots: each has its own umad fd (under umad2sim the last agent
// registered for a class in a process receives all of that class's traffic).
enum Slot : int { kSmiLid = 0, kSmiDr = 1, kSa = 2, kPma = 3, kSlots = 4 };

struct OpenedPort {
  std::string caName;
  int portNum = 0;
  int fds[kSlots] = {-1, -1, -1, -1};
  int agents[kSlots] = {-1, -1, -1, -1};
  unsigned baseLid = 0, smLid = 0, lmc = 0, state = 0;
  uint64_t portGuid = 0;
};

// Opens the port and registers the agents (runs on a job thread). Throws NativeError.
std::unique_ptr<OpenedPort> OpenUmadPort(const std::string& ca, int portNum);
void CloseUmadPort(OpenedPort& p);

struct MadRequest {
  uint32_t id = 0;
  int slot = 0;
  std::string dest;             // per-destination limit key
  std::vector<uint8_t> packet;  // umad header + MAD, immutable
  int length = 0;               // MAD length
  int timeoutMs = 1000;
  int retriesLeft = 3;
  int attempts = 0;
  uint32_t tid = 0;  // transaction id of the current attempt (each attempt has its own)
  std::chrono::steady_clock::time_point deadline;
};

// One sent attempt, by transaction id: kept until its reply or status
// arrives, or until the kernel's timeout for it has passed, so a late reply
// or status of an earlier attempt is recognised; close waits for the ones
// still unanswered.
struct MadAttempt {
  uint32_t reqId = 0;
  int slot = 0;
  std::chrono::steady_clock::time_point deadline;  // the engine's
  std::chrono::steady_clock::time_point forgetAt;  // after the kernel's timeout
};

enum class Outcome : int { kOk = 0, kTimeout = 1, kError = 2, kCancelled = 3, kClosed = 4 };

struct MadCompletion {
  uint32_t id = 0;
  Outcome outcome = Outcome::kOk;
  int err = 0;           // errno for kError
  int attempts = 0;
  std::vector<uint8_t> mad;  // reply MAD bytes (kOk)
};

class MadPort : public Napi::ObjectWrap<MadPort> {
 public:
  static Napi::Function Define(Napi::Env env);
  explicit MadPort(const Napi::CallbackInfo& info);
  ~MadPort() override;

  // Close without running JS callbacks (GC, environment cleanup).
  void Shutdown() { ShutdownImpl(false); }

 private:
  Napi::Value Send(const Napi::CallbackInfo& info);
  Napi::Value OnComplete(const Napi::CallbackInfo& info);
  Napi::Value Cancel(const Napi::CallbackInfo& info);
  Napi::Value Close(const Napi::CallbackInfo& info);
  Napi::Value Info(const Napi::CallbackInfo& info);
  Napi::Value Stats(const Napi::CallbackInfo& info);

  static void CleanupHook(void* arg);
  static bool CheckTag(const Napi::CallbackInfo& info);
  void ShutdownImpl(bool fromHook);
  void Loop();
  void Drain();
  bool ReadReply(int slot, std::vector<uint8_t>& buf, int& len);
  void FinishClose(Napi::Env env);
  void Deliver(Napi::Env env, std::vector<MadCompletion>* batch);

  // Engine-thread-only state.
  struct DestState {
    int inflight = 0;
    bool inReady = false;
    std::deque<MadRequest*> queue;
  };
  void Dispatch(std::unordered_map<std::string, DestState>& dests, std::deque<std::string>& ready,
                std::vector<MadCompletion>& done);
  bool SendOne(MadRequest* r, std::vector<MadCompletion>& done);

  std::unique_ptr<OpenedPort> port_;
  napi_env env_ = nullptr;
  struct IbAddon* addon_ = nullptr;
  // Queued completion batches reach this object through `owner_`, which
  // Shutdown() clears: a batch delivered after close or GC is dropped.
  std::shared_ptr<MadPort*> owner_;
  int window_ = 16;
  int perDest_ = 2;

  // Shared between JS thread and engine thread.
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<MadRequest*> submitted_;
  std::vector<uint32_t> cancels_;
  bool stop_ = false;     // environment teardown or GC: drain briefly, close, no JS
  bool closing_ = false;  // close(): drain, close the fds, then settle the close promise
  std::atomic<bool> hurry_{false};
  std::atomic<bool> delivering_{false};  // a batch is queued to JavaScript and not handled yet
  std::thread thread_;
  Napi::ThreadSafeFunction tsfn_;
  std::atomic<uint64_t> sent_{0}, received_{0}, timeouts_{0}, retries_{0};

  // Engine-thread-only.
  std::unordered_map<uint32_t, MadRequest*> inflight_;  // by tid
  std::unordered_map<std::string, DestState> dests_;
  std::deque<std::string> ready_;
  std::unordered_map<uint32_t, MadRequest*> byId_;  // queued or in flight
  std::unordered_map<uint32_t, MadAttempt> attempts_;  // by tid, see MadAttempt
  uint32_t nextTid_ = 1;

  // JS-thread-only.
  // Requests whose completion JavaScript still waits for, and the one
  // function completions are delivered to, a batch per call (not a function
  // reference and a call per MAD).
  std::unordered_set<uint32_t> outstanding_;
  Napi::FunctionReference onComplete_;
  uint32_t nextId_ = 1;
  bool closed_ = false;     // no more sends; callbacks flushed
  bool finalized_ = false;  // thread joined, fds closed, TSFN released
  bool refd_ = false;
  std::unique_ptr<Napi::Promise::Deferred> closeDeferred_;
  Napi::ObjectReference closePromise_;
};

// Field decoding through libibmad's tables.
Napi::Value FieldGroups(Napi::Env env);
Napi::Value DecodeFields(const Napi::CallbackInfo& info);
Napi::Value EncodeFields(const Napi::CallbackInfo& info);
Napi::Value DumpField(const Napi::CallbackInfo& info);
Napi::Value DecodeFieldsInto(const Napi::CallbackInfo& info);
Napi::Value OpenPort(const Napi::CallbackInfo& info);

}  // namespace hpcnet::ib
