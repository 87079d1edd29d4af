// The MAD engine.
//
// One MadPort = one CA port, four umad fds (SMI LID-routed, SMI directed
// route, SA, PMA), one engine thread. JavaScript submits requests (packets
// are built here with libibmad's mad_build_pkt on the JS thread: pure CPU);
// the engine thread owns everything on the wire:
//
// - a window of outstanding MADs per port and a per-destination limit, so a
//   script can pipeline thousands of queries without flooding one switch SMA;
// - its own deadlines and retries per request (umad2sim ignores the kernel's
//   timeout_ms); a reply whose umad status is ETIMEDOUT (the kernel's timeout
//   report, or ibsim's drop) counts as a timeout too;
// - replies matched to requests by the low 32 bits of the transaction id
//   (the kernel owns the upper half);
// - waiting is poll() on one fd at a time in short slices, never epoll or
//   libuv: under umad2sim the fds are fake (1024+) and its poll() looks at a
//   single fd only.
//
// - every attempt has its own transaction id and the kernel gets a longer
//   timeout than the engine's deadline: the engine owns timeouts, and a late
//   reply or ETIMEDOUT status of an earlier attempt is recognised (a valid
//   reply is accepted, a status ignored);
//
// Completions are batched to JavaScript through one thread-safe function,
// which is referenced only while requests are outstanding: an idle port does
// not keep the process alive. close() fails every outstanding request with
// "port closed" at once, then (asynchronously) stops sending, waits for the
// MADs on the wire until their reply or the kernel's timeout for them, and closes the fds.
#include "ib/mad_port.h"

#include <endian.h>
#include <infiniband/mad.h>
#include <infiniband/umad.h>
#include <poll.h>

#include <algorithm>
#include <bit>
#include <chrono>
#include <cstring>
#include <optional>

#include "common/job_thread.h"
#include "ib/addon.h"

namespace hpcnet::ib {

using Clock = std::chrono::steady_clock;

namespace {

constexpr int kClassOf[kSlots] = {IB_SMI_CLASS, IB_SMI_DIRECT_CLASS, IB_SA_CLASS, IB_PERFORMANCE_CLASS};
constexpr int kClassVersion[kSlots] = {1, 1, 2, 1};
constexpr int kPollSliceMs = 2;
// Numbers per completion record delivered to onComplete: id, outcome, attempts, errno, start, end.
constexpr size_t kRecord = 6;

int SlotOfClass(int mgmtClass) {
  for (int i = 0; i < kSlots; i++)
    if (kClassOf[i] == mgmtClass) return i;
  return -1;
}

}  // namespace

std::unique_ptr<OpenedPort> OpenUmadPort(const std::string& ca, int portNum) {
  EnsureUmadInit();
  auto p = std::make_unique<OpenedPort>();
  umad_port_t info{};
  int rc = umad_get_port(ca.empty() ? nullptr : ca.c_str(), portNum, &info);
  if (rc < 0) {
    throw NativeError::FromErrno(-rc, "umad_get_port",
                                 "(" + (ca.empty() ? std::string("default CA") : ca) + " port " +
                                     (portNum ? std::to_string(portNum) : std::string("default")) + ")");
  }
  p->caName = info.ca_name;
  p->portNum = info.portnum;
  p->baseLid = info.base_lid;
  p->smLid = info.sm_lid;
  p->lmc = info.lmc;
  p->state = info.state;
  p->portGuid = be64toh(info.port_guid);
  bool ib = strcmp(info.link_layer, "InfiniBand") == 0 || strcmp(info.link_layer, "IB") == 0;
  std::string layer = info.link_layer;
  umad_release_port(&info);
  if (!ib) {
    throw NativeError{"EPROTONOSUPPORT", EPROTONOSUPPORT, "umad_get_port",
                      p->caName + " port " + std::to_string(p->portNum) + " has link layer " + layer +
                          ": management datagrams need an InfiniBand port"};
  }
  for (int s = 0; s < kSlots; s++) {
    int fd = umad_open_port(p->caName.c_str(), p->portNum);
    if (fd < 0) {
      CloseUmadPort(*p);
      throw NativeError::FromErrno(-fd, "umad_open_port", "(" + p->caName + " port " + std::to_string(p->portNum) + ")");
    }
    p->fds[s] = fd;
    // SA replies larger than one MAD arrive through the kernel's RMPP.
    int agent = umad_register(fd, kClassOf[s], kClassVersion[s], s == kSa ? 1 : 0, nullptr);
    if (agent < 0) {
      CloseUmadPort(*p);
      throw NativeError::FromErrno(-agent, "umad_register",
                                   "(management class 0x" + std::to_string(kClassOf[s]) + ")");
    }
    p->agents[s] = agent;
  }
  return p;
}

void CloseUmadPort(OpenedPort& p) {
  for (int s = 0; s < kSlots; s++) {
    if (p.fds[s] < 0) continue;
    if (p.agents[s] >= 0) umad_unregister(p.fds[s], p.agents[s]);
    umad_close_port(p.fds[s]);
    p.fds[s] = -1;
    p.agents[s] = -1;
  }
}

// ---------------------------------------------------------------------------
// JS side

Napi::Function MadPort::Define(Napi::Env env) {
  return DefineClass(env, "MadPort",
                     {InstanceMethod<&MadPort::Send>("send"), InstanceMethod<&MadPort::OnComplete>("onComplete"),
                      InstanceMethod<&MadPort::Cancel>("cancel"),
                      InstanceMethod<&MadPort::Close>("close"), InstanceMethod<&MadPort::Info>("info"),
                      InstanceMethod<&MadPort::Stats>("stats")});
}

namespace {
// Type tag of MadPort objects: a method called with `this` of another
// wrapped type throws instead of reading the wrong memory.
constexpr napi_type_tag kMadPortTag = {0x6870636e65746962ULL, 0x4d6164506f727431ULL};
}  // namespace

bool MadPort::CheckTag(const Napi::CallbackInfo& info) {
  bool ok = false;
  napi_value self = info.This();
  if (napi_check_object_type_tag(info.Env(), self, &kMadPortTag, &ok) != napi_ok || !ok) {
    Napi::TypeError::New(info.Env(), "MadPort method called on an object that is not a MadPort").ThrowAsJavaScriptException();
    return false;
  }
  return true;
}

// new MadPort(external<OpenedPort>, window, perDest): only from OpenPort's settle.
MadPort::MadPort(const Napi::CallbackInfo& info) : Napi::ObjectWrap<MadPort>(info) {
  Napi::Env env = info.Env();
  IbAddon& addon = IbAddon::Of(env);
  if (info.Length() < 3 || !info[0].IsExternal() || !info[1].IsNumber() || !info[2].IsNumber() ||
      addon.openedPending.erase(info[0].As<Napi::External<void>>().Data()) == 0) {
    closed_ = finalized_ = true;
    Napi::TypeError::New(env, "MadPort cannot be constructed directly; use openPort()").ThrowAsJavaScriptException();
    return;
  }
  napi_type_tag_object(env, info.This(), &kMadPortTag);
  port_.reset(static_cast<OpenedPort*>(info[0].As<Napi::External<void>>().Data()));
  window_ = std::max(1, info[1].As<Napi::Number>().Int32Value());
  perDest_ = std::max(1, info[2].As<Napi::Number>().Int32Value());
  tsfn_ = Napi::ThreadSafeFunction::New(env, Napi::Function(), "hpcnet-mad-port", 0, 1);
  tsfn_.Unref(env);
  // After the TSFN: hooks run in reverse order, so at environment teardown
  // (process exit, worker termination) this port shuts down first.
  env_ = env;
  napi_add_env_cleanup_hook(env_, CleanupHook, this);
  owner_ = std::make_shared<MadPort*>(this);
  addon_ = &addon;
  addon_->ports.insert(this);
  thread_ = std::thread([this] { Loop(); });
}

MadPort::~MadPort() {
  Shutdown();
}

void MadPort::CleanupHook(void* arg) {
  static_cast<MadPort*>(arg)->ShutdownImpl(true);
}

// GC finalizer or environment teardown: no JavaScript may run. The engine
// thread drains what is in flight for at most a second, closes the fds and
// exits; then everything is released. Also finishes an async close that was
// still draining.
void MadPort::ShutdownImpl(bool fromHook) {
  if (finalized_) return;
  finalized_ = true;
  closed_ = true;
  if (!fromHook && env_ != nullptr) napi_remove_env_cleanup_hook(env_, CleanupHook, this);
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  hurry_ = true;
  cv_.notify_one();
  if (thread_.joinable()) thread_.join();
  if (port_) CloseUmadPort(*port_);
  for (auto& [id, r] : byId_) delete r;
  byId_.clear();
  for (MadRequest* r : submitted_) delete r;
  submitted_.clear();
  outstanding_.clear();
  onComplete_.Reset();
  closeDeferred_.reset();
  if (!closePromise_.IsEmpty()) closePromise_.Reset();
  if (owner_) *owner_ = nullptr;
  tsfn_.Release();
  if (addon_) addon_->ports.erase(this);
  addon_ = nullptr;
}

Napi::Value MadPort::Info(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!CheckTag(info)) return env.Undefined();
  Napi::Object o = Napi::Object::New(env);
  o.Set("ca", port_->caName);
  o.Set("port", port_->portNum);
  o.Set("baseLid", port_->baseLid);
  o.Set("lmc", port_->lmc);
  o.Set("smLid", port_->smLid);
  o.Set("state", port_->state);
  o.Set("portGuid", Napi::BigInt::New(env, port_->portGuid));
  o.Set("window", window_);
  o.Set("perDestination", perDest_);
  return o;
}

Napi::Value MadPort::Stats(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!CheckTag(info)) return env.Undefined();
  Napi::Object o = Napi::Object::New(env);
  o.Set("sent", static_cast<double>(sent_.load()));
  o.Set("received", static_cast<double>(received_.load()));
  o.Set("timeouts", static_cast<double>(timeouts_.load()));
  o.Set("retries", static_cast<double>(retries_.load()));
  o.Set("outstanding", static_cast<double>(outstanding_.size()));
  return o;
}

// onComplete(fn): the function every completion is delivered to, in
// batches: fn(records: Uint32Array, batch: Buffer|undefined), records being
// kRecord numbers per completion (id, outcome, attempts, errno, start, end);
// a reply MAD is batch[start, end). Set once, before the first send.
Napi::Value MadPort::OnComplete(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!CheckTag(info)) return env.Undefined();
  if (info.Length() < 1 || !info[0].IsFunction()) {
    Napi::TypeError::New(env, "onComplete(fn)").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  onComplete_ = Napi::Persistent(info[0].As<Napi::Function>());
  return env.Undefined();
}

// send(mgmtClass, method, attrId, attrMod, lid, path|null, drSlid, data|null,
//      componentMask|null, timeoutMs, retries, dest) -> id
// Positional arguments: this is the per-MAD hot path. Addresses were
// validated in TypeScript; this re-checks what could corrupt memory. The
// completion goes to the onComplete function.
Napi::Value MadPort::Send(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!CheckTag(info)) return env.Undefined();
  if (closed_) {
    Napi::Error::New(env, "port closed").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  if (info.Length() < 12 || !info[0].IsNumber()) {
    Napi::TypeError::New(env, "send(mgmtClass, method, attrId, attrMod, lid, path, drSlid, data, mask, timeoutMs, retries, dest)")
        .ThrowAsJavaScriptException();
    return env.Undefined();
  }
  if (onComplete_.IsEmpty()) {
    Napi::Error::New(env, "send before onComplete(fn)").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  auto u32 = [&](size_t i, uint32_t def) { return info[i].IsNumber() ? info[i].As<Napi::Number>().Uint32Value() : def; };
  int mgmtClass = static_cast<int>(u32(0, 0));
  int slot = SlotOfClass(mgmtClass);
  if (slot < 0) {
    Napi::RangeError::New(env, "unsupported management class " + std::to_string(mgmtClass)).ThrowAsJavaScriptException();
    return env.Undefined();
  }
  ib_rpc_t rpc{};
  rpc.mgtclass = mgmtClass;
  rpc.method = static_cast<int>(u32(1, IB_MAD_METHOD_GET));
  rpc.attr.id = u32(2, 0);
  rpc.attr.mod = u32(3, 0);
  ib_portid_t dport{};
  dport.lid = static_cast<int>(u32(4, 0));
  if (info[5].IsArray()) {
    Napi::Array path = info[5].As<Napi::Array>();
    if (path.Length() >= IB_SUBNET_PATH_HOPS_MAX) {
      Napi::RangeError::New(env, "directed route longer than 63 hops").ThrowAsJavaScriptException();
      return env.Undefined();
    }
    dport.drpath.cnt = static_cast<int>(path.Length());
    dport.drpath.p[0] = 0;
    for (uint32_t i = 0; i < path.Length(); i++) {
      Napi::Value hop = path.Get(i);
      dport.drpath.p[i + 1] = static_cast<uint8_t>(hop.IsNumber() ? hop.As<Napi::Number>().Uint32Value() : 0);
    }
    dport.drpath.drslid = static_cast<int>(u32(6, 0xffff));
    dport.drpath.drdlid = 0xffff;
  } else if (slot == kSmiDr) {
    Napi::TypeError::New(env, "directed-route SMP without a path").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  bool gs = slot == kSa || slot == kPma;
  if (gs) {
    dport.qp = 1;
    dport.qkey = IB_DEFAULT_QP1_QKEY;
  }
  if (info[8].IsBigInt()) {
    bool lossless;
    rpc.mask = info[8].As<Napi::BigInt>().Uint64Value(&lossless);
  }
  int dataOffs = slot == kSa ? IB_SA_DATA_OFFS : slot == kPma ? IB_PC_DATA_OFFS : IB_SMP_DATA_OFFS;
  int dataMax = IB_MAD_SIZE - dataOffs;
  std::vector<uint8_t> data;
  if (info[7].IsBuffer()) {
    auto buf = info[7].As<Napi::Buffer<uint8_t>>();
    if (static_cast<int>(buf.Length()) > dataMax) {
      Napi::RangeError::New(env, "attribute data longer than " + std::to_string(dataMax) + " bytes").ThrowAsJavaScriptException();
      return env.Undefined();
    }
    data.assign(buf.Data(), buf.Data() + buf.Length());
  }
  rpc.dataoffs = dataOffs;
  rpc.datasz = static_cast<int>(data.size());
  rpc.trid = 0;  // each attempt gets its own, on the engine thread (SendOne)

  auto r = new MadRequest();
  r->id = nextId_++;
  if (nextId_ == 0) nextId_ = 1;
  r->slot = slot;
  r->timeoutMs = static_cast<int>(std::clamp<uint32_t>(u32(9, 1000), 1, 600000));
  r->retriesLeft = static_cast<int>(std::min<uint32_t>(u32(10, 3), 100));
  r->dest = info[11].IsString() ? info[11].As<Napi::String>().Utf8Value() : std::string("lid:") + std::to_string(dport.lid);
  r->packet.assign(umad_size() + IB_MAD_SIZE, 0);
  int len = mad_build_pkt(r->packet.data(), &rpc, &dport, nullptr, data.empty() ? nullptr : data.data());
  if (len < 0) {
    delete r;
    Napi::Error::New(env, "mad_build_pkt failed for this request").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  r->length = len;
  uint32_t id = r->id;
  outstanding_.insert(id);
  if (!refd_) {
    tsfn_.Ref(env);
    Ref();  // keep this object alive while requests are outstanding
    refd_ = true;
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    submitted_.push_back(r);
  }
  cv_.notify_one();
  return Napi::Number::New(env, id);
}

// cancel(id): the request is dropped (its callback is not called). A MAD
// already sent stays tracked until its reply or the kernel's timeout (see MadAttempt).
Napi::Value MadPort::Cancel(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!CheckTag(info)) return env.Undefined();
  if (closed_ || info.Length() < 1 || !info[0].IsNumber()) return env.Undefined();
  uint32_t id = info[0].As<Napi::Number>().Uint32Value();
  if (outstanding_.erase(id) == 0) return env.Undefined();
  {
    std::lock_guard<std::mutex> lock(mu_);
    cancels_.push_back(id);
  }
  cv_.notify_one();
  if (outstanding_.empty() && refd_) {
    tsfn_.Unref(env);
    Unref();
    refd_ = false;
  }
  return env.Undefined();
}

// close() -> Promise<void>. At once: no more sends and no more completions
// (the JavaScript transport fails its outstanding requests itself). Then
// the engine thread stops sending, waits for the MADs already on the wire
// (until their reply or the kernel's timeout for them: umad2sim delivers a
// late reply into freed memory once its class's fd is gone), unregisters
// the agents and closes the fds; the promise resolves after that.
Napi::Value MadPort::Close(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!CheckTag(info)) return env.Undefined();
  if (!closePromise_.IsEmpty()) return closePromise_.Value();
  if (finalized_) {
    auto d = Napi::Promise::Deferred::New(env);
    d.Resolve(env.Undefined());
    return d.Promise();
  }
  closed_ = true;
  closeDeferred_ = std::make_unique<Napi::Promise::Deferred>(Napi::Promise::Deferred::New(env));
  closePromise_ = Napi::Persistent(closeDeferred_->Promise().As<Napi::Object>());
  if (!refd_) {  // keep the process and this object alive until the fds are closed
    tsfn_.Ref(env);
    Ref();
    refd_ = true;
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    closing_ = true;
  }
  cv_.notify_one();
  // The requests still outstanding are failed by the JavaScript side, which
  // holds their callbacks (before close() returns); none of them is delivered from here.
  outstanding_.clear();
  return closePromise_.Value();
}

// On the JS thread, once the engine thread has closed the fds (async close).
void MadPort::FinishClose(Napi::Env env) {
  if (finalized_) return;
  finalized_ = true;
  if (thread_.joinable()) thread_.join();  // it has posted this call and is returning
  if (env_ != nullptr) napi_remove_env_cleanup_hook(env_, CleanupHook, this);
  for (auto& [id, r] : byId_) delete r;
  byId_.clear();
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (MadRequest* r : submitted_) delete r;
    submitted_.clear();
  }
  if (owner_) *owner_ = nullptr;
  if (addon_) addon_->ports.erase(this);
  addon_ = nullptr;
  auto deferred = std::move(closeDeferred_);
  bool wasRefd = refd_;
  refd_ = false;
  tsfn_.Release();
  if (deferred) deferred->Resolve(env.Undefined());
  if (wasRefd) Unref();  // last: may let the GC collect this object
}

void MadPort::Deliver(Napi::Env env, std::vector<MadCompletion>* batch) {
  std::unique_ptr<std::vector<MadCompletion>> owned(batch);
  // Whatever happens below, the engine thread may post the next batch once this one is handled.
  struct NextBatch {
    MadPort* self;
    ~NextBatch() {
      {
        std::lock_guard<std::mutex> lock(self->mu_);
        self->delivering_ = false;
      }
      self->cv_.notify_one();
    }
  } next{this};
  if (env == nullptr || closed_) return;
  Napi::HandleScope scope(env);
  // One buffer for the whole batch, each reply a range of it, and one call
  // for the whole batch: one external allocation and one JS call per batch,
  // whatever the number of MADs in it.
  size_t total = 0;
  for (const MadCompletion& c : *owned) total += c.mad.size();
  Napi::Buffer<uint8_t> all = Napi::Buffer<uint8_t>::New(env, std::max<size_t>(total, 1));
  Napi::Uint32Array records = Napi::Uint32Array::New(env, owned->size() * kRecord);
  size_t at = 0;
  size_t n = 0;
  for (MadCompletion& c : *owned) {
    size_t start = at;
    if (!c.mad.empty()) {
      memcpy(all.Data() + at, c.mad.data(), c.mad.size());
      at += c.mad.size();
    }
    if (outstanding_.erase(c.id) == 0) continue;  // cancelled, or failed by close()
    uint32_t* rec = records.Data() + n++ * kRecord;
    rec[0] = c.id;
    rec[1] = static_cast<uint32_t>(c.outcome);
    rec[2] = static_cast<uint32_t>(c.attempts);
    rec[3] = static_cast<uint32_t>(c.err);
    rec[4] = static_cast<uint32_t>(start);
    rec[5] = static_cast<uint32_t>(at);
  }
  // The JS side delivers every completion of the batch even when a callback
  // throws, and rethrows the first exception after.
  std::optional<Napi::Error> first;
  if (n > 0) {
    try {
      onComplete_.Call({Napi::Uint32Array::New(env, n * kRecord, records.ArrayBuffer(), 0), all});
    } catch (const Napi::Error& e) {
      first = e;
    }
  }
  if (!closed_ && outstanding_.empty() && refd_) {
    tsfn_.Unref(env);
    refd_ = false;
    Unref();
  }
  // As an uncaught exception (process 'uncaughtException'), whatever Node's
  // policy for exceptions escaping N-API callbacks.
  if (first) napi_fatal_exception(env, first->Value());
}

// ---------------------------------------------------------------------------
// Engine thread

namespace {
// The kernel's timeout for one attempt: longer than the engine's deadline, so
// the engine owns timeouts and the kernel's ETIMEDOUT for an attempt comes
// after the engine has moved on (recognised by its transaction id). Not 0: a
// send with timeout 0 expects no response and the kernel would drop the reply.
int KernelTimeoutMs(int timeoutMs) {
  return static_cast<int>(std::min<long>(2L * timeoutMs + 100, 1200000L));
}
}  // namespace

bool MadPort::SendOne(MadRequest* r, std::vector<MadCompletion>& done) {
  // umad_send may write into the buffer: send a scratch copy, keep the original for retries.
  std::vector<uint8_t> scratch(r->packet);
  uint32_t tid = nextTid_++;
  if (nextTid_ == 0) nextTid_ = 1;
  // Each attempt its own transaction id (low 32 bits; the kernel owns the upper half).
  mad_set_field64(umad_get_mad(scratch.data()), 0, IB_MAD_TRID_F, tid);
  r->tid = tid;
  r->attempts++;
  auto now = Clock::now();
  r->deadline = now + std::chrono::milliseconds(r->timeoutMs);
  int kernelMs = KernelTimeoutMs(r->timeoutMs);
  int rc = umad_send(port_->fds[r->slot], port_->agents[r->slot], scratch.data(), r->length, kernelMs, 0);
  if (rc < 0) {
    done.push_back(MadCompletion{r->id, Outcome::kError, -rc, r->attempts, {}});
    return false;
  }
  attempts_[tid] = MadAttempt{r->id, r->slot, r->deadline, now + std::chrono::milliseconds(kernelMs + 100)};
  sent_++;
  return true;
}

void MadPort::Dispatch(std::unordered_map<std::string, DestState>& dests, std::deque<std::string>& ready,
                       std::vector<MadCompletion>& done) {
  while (static_cast<int>(inflight_.size()) < window_ && !ready.empty()) {
    std::string key = std::move(ready.front());
    ready.pop_front();
    DestState& d = dests[key];
    d.inReady = false;
    if (d.queue.empty() || d.inflight >= perDest_) continue;
    MadRequest* r = d.queue.front();
    d.queue.pop_front();
    if (SendOne(r, done)) {
      d.inflight++;
      inflight_[r->tid] = r;
    } else {
      byId_.erase(r->id);
      delete r;
    }
    if (!d.queue.empty() && d.inflight < perDest_) {
      d.inReady = true;
      ready.push_back(key);
    }
    if (d.queue.empty() && d.inflight == 0) dests.erase(key);
  }
}

// One MAD from a slot's fd after poll() reported it readable. Timeout 0:
// readiness can be spurious, and libibumad polls again with the timeout it is
// given (a -1 would block the engine thread, and close() with it, forever).
bool MadPort::ReadReply(int s, std::vector<uint8_t>& buf, int& len) {
  len = IB_MAD_SIZE;
  buf.resize(umad_size() + IB_MAD_SIZE);
  int agent = umad_recv(port_->fds[s], buf.data(), &len, 0);
  if (agent == -ENOSPC && len > IB_MAD_SIZE) {
    buf.resize(umad_size() + len);  // RMPP reply: the kernel kept it queued
    agent = umad_recv(port_->fds[s], buf.data(), &len, 0);
  }
  return agent >= 0;
}

// After close: no more sends; wait for every attempt still unanswered (its
// reply or status) until the kernel's timeout for it has passed, then return
// so the fds can be closed. On a kernel, unregistering would cancel them;
// under umad2sim a reply that arrives after its class's fd is closed is
// written through a NULL queue (SIGSEGV), and a loaded simulator can answer
// after the engine's deadline. Environment teardown shortens the wait to a second.
void MadPort::Drain() {
  std::vector<uint8_t> buf(umad_size() + IB_MAD_SIZE);
  Clock::time_point hurryUntil = Clock::time_point::max();
  for (;;) {
    auto now = Clock::now();
    if (hurry_ && hurryUntil == Clock::time_point::max()) hurryUntil = now + std::chrono::seconds(1);
    if (now >= hurryUntil) return;
    bool active[kSlots] = {false, false, false, false};
    bool any = false;
    for (auto it = attempts_.begin(); it != attempts_.end();) {
      if (it->second.forgetAt <= now) {
        it = attempts_.erase(it);
      } else {
        active[it->second.slot] = any = true;
        ++it;
      }
    }
    if (!any) return;
    for (int s = 0; s < kSlots; s++) {
      if (!active[s]) continue;
      struct pollfd pfd = {port_->fds[s], POLLIN, 0};
      int pr = poll(&pfd, 1, 1);
      int len = 0;
      while (pr > 0 && (pfd.revents & POLLIN) && ReadReply(s, buf, len)) {
        received_++;
        uint8_t* mad = static_cast<uint8_t*>(umad_get_mad(buf.data()));
        attempts_.erase(static_cast<uint32_t>(mad_get_field64(mad, 0, IB_MAD_TRID_F) & 0xffffffffu));
        pfd.revents = 0;
        pr = poll(&pfd, 1, 0);
      }
    }
  }
}

void MadPort::Loop() {
  std::vector<uint8_t> buf(umad_size() + IB_MAD_SIZE);
  std::vector<MadCompletion> done;
  int rr = 0;  // round-robin start among slots
  auto lastForget = Clock::now();
  auto release = [&](MadRequest* r) {
    auto it = dests_.find(r->dest);
    if (it != dests_.end()) {
      DestState& d = it->second;
      d.inflight--;
      if (!d.queue.empty() && !d.inReady && d.inflight < perDest_) {
        d.inReady = true;
        ready_.push_back(r->dest);
      }
      if (d.queue.empty() && d.inflight <= 0) dests_.erase(it);
    }
  };
  auto finish = [&](MadRequest* r, Outcome outcome, std::vector<uint8_t>&& mad, int err) {
    done.push_back(MadCompletion{r->id, outcome, err, r->attempts, std::move(mad)});
    inflight_.erase(r->tid);
    byId_.erase(r->id);
    release(r);
    delete r;
  };
  // A timed-out attempt (engine deadline, or the transport's ETIMEDOUT status
  // for the current attempt): send again, with a new transaction id, while
  // retries are left, else complete as a timeout.
  auto retryOrTimeout = [&](MadRequest* r) {
    if (r->retriesLeft > 0) {
      r->retriesLeft--;
      retries_++;
      inflight_.erase(r->tid);
      if (SendOne(r, done)) {
        inflight_[r->tid] = r;
        return;
      }
      byId_.erase(r->id);
      release(r);
      delete r;
      return;
    }
    timeouts_++;
    finish(r, Outcome::kTimeout, {}, ETIMEDOUT);
  };
  bool asyncClose = false;
  for (;;) {
    std::vector<MadRequest*> fresh;
    std::vector<uint32_t> cancels;
    {
      std::unique_lock<std::mutex> lock(mu_);
      if (!stop_ && !closing_ && submitted_.empty() && cancels_.empty() && inflight_.empty() && byId_.empty() &&
          (done.empty() || delivering_)) {
        cv_.wait(lock, [this, &done] {
          return stop_ || closing_ || !submitted_.empty() || !cancels_.empty() || (!done.empty() && !delivering_);
        });
      }
      if (stop_ || closing_) {
        asyncClose = !stop_;
        break;
      }
      fresh.swap(submitted_);
      cancels.swap(cancels_);
    }
    for (MadRequest* r : fresh) {
      byId_[r->id] = r;
      DestState& d = dests_[r->dest];
      d.queue.push_back(r);
      if (!d.inReady && d.inflight < perDest_) {
        d.inReady = true;
        ready_.push_back(r->dest);
      }
    }
    for (uint32_t id : cancels) {
      auto it = byId_.find(id);
      if (it == byId_.end()) continue;
      MadRequest* r = it->second;
      byId_.erase(it);
      if (inflight_.erase(r->tid)) {
        release(r);  // its attempt stays in attempts_ until its reply or the kernel's timeout
      } else {
        auto d = dests_.find(r->dest);
        if (d != dests_.end()) {
          auto& q = d->second.queue;
          q.erase(std::remove(q.begin(), q.end(), r), q.end());
          if (q.empty() && d->second.inflight == 0) dests_.erase(d);
        }
      }
      delete r;
    }
    Dispatch(dests_, ready_, done);

    // Receive: drain every slot with MADs in flight; if nothing came, wait a
    // short slice on one of them (round robin), bounded by the next deadline.
    bool got = false;
    bool active[kSlots] = {false, false, false, false};
    for (auto& [tid, r] : inflight_) active[r->slot] = true;
    auto now = Clock::now();
    auto next = now + std::chrono::milliseconds(kPollSliceMs);
    for (auto& [tid, r] : inflight_) next = std::min(next, r->deadline);
    for (int pass = 0; pass < 2 && !got; pass++) {
      for (int k = 0; k < kSlots; k++) {
        int s = (rr + k) % kSlots;
        if (!active[s]) continue;
        int waitMs = 0;
        if (pass == 1) {
          auto left = std::chrono::duration_cast<std::chrono::milliseconds>(next - Clock::now()).count();
          waitMs = static_cast<int>(std::clamp<long>(left, 0, kPollSliceMs));
        }
        struct pollfd pfd = {port_->fds[s], POLLIN, 0};
        int pr = poll(&pfd, 1, waitMs);
        int len = 0;
        while (pr > 0 && (pfd.revents & POLLIN) && ReadReply(s, buf, len)) {
          got = true;
          received_++;
          pfd.revents = 0;
          pr = poll(&pfd, 1, 0);
          uint8_t* mad = static_cast<uint8_t*>(umad_get_mad(buf.data()));
          uint32_t tid = static_cast<uint32_t>(mad_get_field64(mad, 0, IB_MAD_TRID_F) & 0xffffffffu);
          auto at = attempts_.find(tid);
          if (at == attempts_.end() || at->second.slot != s) continue;  // unknown, or long forgotten
          uint32_t reqId = at->second.reqId;
          attempts_.erase(at);  // a reply or status ends that attempt
          auto rit = byId_.find(reqId);
          if (rit == byId_.end()) continue;  // late answer to a finished or cancelled request
          MadRequest* r = rit->second;
          bool current = r->tid == tid;
          int st = umad_status(buf.data());
          if (st == ETIMEDOUT) {
            if (current) retryOrTimeout(r);  // an earlier attempt's late status: ignored
          } else if (st != 0) {
            if (current) finish(r, Outcome::kError, {}, st);
          } else {
            // A valid reply, of this attempt or an earlier one.
            int n = std::clamp(len, 0, static_cast<int>(buf.size() - umad_size()));
            finish(r, Outcome::kOk, std::vector<uint8_t>(mad, mad + n), 0);
          }
        }
        if (pass == 1) {
          rr = (s + 1) % kSlots;
          break;
        }
      }
      if (inflight_.empty()) break;
    }

    // Deadlines (the engine's own: the kernel's timeout is longer, umad2sim has none).
    now = Clock::now();
    std::vector<MadRequest*> expired;
    for (auto& [tid, r] : inflight_)
      if (r->deadline <= now) expired.push_back(r);
    for (MadRequest* r : expired) retryOrTimeout(r);
    Dispatch(dests_, ready_, done);
    if (now - lastForget > std::chrono::milliseconds(100)) {
      lastForget = now;
      for (auto it = attempts_.begin(); it != attempts_.end();) {
        if (it->second.forgetAt <= now) it = attempts_.erase(it);
        else ++it;
      }
    }

    // One batch at a time: while JavaScript works through the last one,
    // completions gather here and go as the next batch. And while replies
    // keep coming, gather until at least as many are done as are still in
    // flight (the fabric still has half the window to answer meanwhile):
    // one wake-up of the event loop per several MADs instead of per MAD.
    if (!done.empty() && (!got || done.size() >= inflight_.size()) && !delivering_.exchange(true)) {
      auto* batch = new std::vector<MadCompletion>(std::move(done));
      done.clear();
      std::shared_ptr<MadPort*> owner = owner_;
      napi_status st = tsfn_.BlockingCall(batch, [owner](Napi::Env env, Napi::Function, std::vector<MadCompletion>* b) {
        if (env == nullptr || *owner == nullptr) {
          delete b;
          return;
        }
        (*owner)->Deliver(env, b);
      });
      if (st != napi_ok) {
        delete batch;
        delivering_ = false;
      }
    }
  }

  // Closing: nothing more is sent; wait for what is on the wire, then close.
  Drain();
  CloseUmadPort(*port_);
  if (asyncClose) {
    std::shared_ptr<MadPort*> owner = owner_;
    tsfn_.BlockingCall([owner](Napi::Env env, Napi::Function) {
      if (env != nullptr && *owner != nullptr) (*owner)->FinishClose(env);
    });
  }
}

// ---------------------------------------------------------------------------
// openPort(ca?: string, port?: number, window, perDest) -> Promise<MadPort>

Napi::Value OpenPort(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string ca = info.Length() > 0 && info[0].IsString() ? info[0].As<Napi::String>().Utf8Value() : "";
  int portNum = info.Length() > 1 && info[1].IsNumber() ? info[1].As<Napi::Number>().Int32Value() : 0;
  int window = info.Length() > 2 && info[2].IsNumber() ? info[2].As<Napi::Number>().Int32Value() : 16;
  int perDest = info.Length() > 3 && info[3].IsNumber() ? info[3].As<Napi::Number>().Int32Value() : 2;
  if (ca.size() >= UMAD_CA_NAME_LEN || portNum < 0 || portNum > 254 || window < 1 || window > 4096 || perDest < 1 ||
      perDest > 4096) {
    Napi::RangeError::New(env, "openPort: invalid CA name, port number, window or per-destination limit")
        .ThrowAsJavaScriptException();
    return env.Undefined();
  }
  auto opened = std::make_shared<std::unique_ptr<OpenedPort>>();
  return IbAddon::Of(env).Jobs(env).Run(
      env, [ca, portNum, opened] { *opened = OpenUmadPort(ca, portNum); },
      [opened, window, perDest](Napi::Env env) -> Napi::Value {
        OpenedPort* p = opened->release();
        IbAddon& addon = IbAddon::Of(env);
        addon.openedPending.insert(p);
        auto ext = Napi::External<void>::New(env, p);
        Napi::Value port = addon.madPortCtor.New({ext, Napi::Number::New(env, window), Napi::Number::New(env, perDest)});
        if (addon.openedPending.erase(p) != 0) {  // the constructor did not take it
          CloseUmadPort(*p);
          delete p;
        }
        return port;
      });
}

// ---------------------------------------------------------------------------
// Field decoding with libibmad's field tables.

namespace {

struct FieldMeta {
  int bits = 0;
  const char* name = nullptr;
};

// Bit width of a field, probed through libibmad itself: decoding an all-ones
// attribute sets exactly `bitlen` bits in the output.
const FieldMeta& Meta(int f) {
  static std::vector<FieldMeta> table = [] {
    std::vector<FieldMeta> t(IB_FIELD_LAST_);
    std::vector<uint8_t> ones(IB_MAD_SIZE * 4, 0xff);
    for (int i = 1; i < IB_FIELD_LAST_; i++) {
      uint8_t val[IB_MAD_SIZE];
      memset(val, 0, sizeof val);
      mad_decode_field(ones.data(), static_cast<MAD_FIELDS>(i), val);
      int bits = 0;
      for (uint8_t b : val) bits += std::popcount(b);
      t[i] = FieldMeta{bits, mad_field_name(static_cast<MAD_FIELDS>(i))};
    }
    return t;
  }();
  return table[f];
}

struct Group {
  const char* name;
  std::vector<std::pair<int, int>> ranges;  // [first, last)
};

const std::vector<Group>& Groups() {
  static const std::vector<Group> groups = {
      {"NodeInfo", {{IB_NODE_FIRST_F, IB_NODE_LAST_F}}},
      {"NodeDescription", {{IB_NODE_DESC_F, IB_NODE_DESC_F + 1}}},
      {"PortInfo", {{IB_PORT_FIRST_F, IB_PORT_LAST_F}, {IB_PORT_CAPMASK2_F, IB_PORT_LINK_SPEED_EXT_LAST_F}}},
      {"SwitchInfo", {{IB_SW_FIRST_F, IB_SW_LAST_F}}},
      {"SMInfo", {{IB_SMINFO_GUID_F, IB_SMINFO_STATE_F + 1}}},
      {"ClassPortInfo", {{IB_CPI_BASEVER_F, IB_CPI_TRAP_QKEY_F + 1}}},
      {"PortCounters", {{IB_PC_FIRST_F, IB_PC_LAST_F}}},
      {"PortCountersExtended", {{IB_PC_EXT_FIRST_F, IB_PC_EXT_LAST_F}}},
      // issue 4: SMP tables, SA records, PMA extras, SA/RMPP header fields.
      {"PortCountersExtendedErrors", {{IB_PC_EXT_COUNTER_SELECT2_F, IB_PC_EXT_ERR_LAST_F}}},
      {"PortCountersQP1Drop", {{IB_PC_QP1_DROP_F, IB_PC_QP1_DROP_F + 1}}},
      {"GUIDInfo", {{IB_GI_GUID0_F, IB_GI_GUID7_F + 1}}},
      {"LinearForwardingTable", {{IB_LINEAR_FORW_TBL_F, IB_LINEAR_FORW_TBL_F + 1}}},
      {"MulticastForwardingTable", {{IB_MULTICAST_FORW_TBL_F, IB_MULTICAST_FORW_TBL_F + 1}}},
      {"SLtoVLMappingTable", {{IB_SLTOVL_MAPPING_TABLE_F, IB_SLTOVL_MAPPING_TABLE_F + 1}}},
      {"VLArbitrationTable", {{IB_VL_ARBITRATION_TABLE_F, IB_VL_ARBITRATION_TABLE_F + 1}}},
      {"NodeRecord", {{IB_SA_NR_FIRST_F, IB_SA_NR_LAST_F}}},
      {"PathRecord", {{IB_SA_PR_DGID_F, IB_SA_PR_SL_F + 1}}},
      {"MCMemberRecord", {{IB_SA_MCM_MGID_F, IB_SA_MCM_PROXY_JOIN_F + 1}}},
      {"ServiceRecord", {{IB_SA_SR_ID_F, IB_SA_SR_DATA_F + 1}}},
      {"GUIDInfoRecord", {{IB_SA_GIR_LID_F, IB_SA_GIR_GUID7_F + 1}}},
      {"SAHeader", {{IB_SA_ATTROFFS_F, IB_SA_ATTROFFS_F + 1}, {IB_SA_COMPMASK_F, IB_SA_COMPMASK_F + 1},
                    {IB_SA_RMPP_VERS_F, IB_SA_RMPP_NEWWIN_F + 1}}},
  };
  return groups;
}

}  // namespace

// Field groups: { NodeInfo: [[field, name, bits], ...], ... }
Napi::Value FieldGroups(Napi::Env env) {
  Napi::Object out = Napi::Object::New(env);
  for (const Group& g : Groups()) {
    Napi::Array arr = Napi::Array::New(env);
    uint32_t n = 0;
    for (auto [first, last] : g.ranges) {
      for (int f = first; f < last; f++) {
        const FieldMeta& m = Meta(f);
        if (m.name == nullptr || m.bits == 0) continue;
        Napi::Array e = Napi::Array::New(env, 3);
        e[0u] = Napi::Number::New(env, f);
        e[1u] = Napi::String::New(env, m.name);
        e[2u] = Napi::Number::New(env, m.bits);
        arr[n++] = e;
      }
    }
    out.Set(g.name, arr);
  }
  return out;
}

// decodeFields(buf, offset, fields: number[]) -> Array<number | bigint | Buffer>
// Throws RangeError when a field would read past the end of buf.
Napi::Value DecodeFields(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 3 || !info[0].IsBuffer() || !info[1].IsNumber() || !info[2].IsArray()) {
    Napi::TypeError::New(env, "decodeFields(buffer, offset, fields)").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  auto buf = info[0].As<Napi::Buffer<uint8_t>>();
  int64_t offset = info[1].As<Napi::Number>().Int64Value();
  Napi::Array fields = info[2].As<Napi::Array>();
  if (offset < 0 || offset > static_cast<int64_t>(buf.Length())) {
    Napi::RangeError::New(env, "decodeFields: offset outside the buffer").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  // libibmad reads by bit offset with no bounds: decode from a zero-padded
  // copy of a whole MAD so a short reply can never read out of bounds.
  std::vector<uint8_t> padded(IB_MAD_SIZE * 2, 0);
  size_t avail = std::min<size_t>(buf.Length() - offset, IB_MAD_SIZE);
  memcpy(padded.data(), buf.Data() + offset, avail);
  Napi::Array out = Napi::Array::New(env, fields.Length());
  for (uint32_t i = 0; i < fields.Length(); i++) {
    int f = fields.Get(i).As<Napi::Number>().Int32Value();
    if (f <= 0 || f >= IB_FIELD_LAST_) {
      Napi::RangeError::New(env, "decodeFields: unknown field " + std::to_string(f)).ThrowAsJavaScriptException();
      return env.Undefined();
    }
    const FieldMeta& m = Meta(f);
    uint8_t val[IB_MAD_SIZE];
    memset(val, 0, sizeof val);
    mad_decode_field(padded.data(), static_cast<MAD_FIELDS>(f), val);
    if (m.bits <= 32) {
      uint32_t v;
      memcpy(&v, val, 4);
      out[i] = Napi::Number::New(env, v);
    } else if (m.bits <= 64) {
      uint64_t v;
      memcpy(&v, val, 8);
      out[i] = Napi::BigInt::New(env, v);
    } else {
      out[i] = Napi::Buffer<uint8_t>::Copy(env, val, static_cast<size_t>(m.bits / 8));
    }
  }
  return out;
}

// dumpField(field, value: number | bigint | Buffer) -> string, formatted by
// libibmad's own dumper (what smpquery/perfquery print after the dots).
Napi::Value DumpField(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 2 || !info[0].IsNumber()) {
    Napi::TypeError::New(env, "dumpField(field, value)").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  int f = info[0].As<Napi::Number>().Int32Value();
  if (f <= 0 || f >= IB_FIELD_LAST_) {
    Napi::RangeError::New(env, "dumpField: unknown field " + std::to_string(f)).ThrowAsJavaScriptException();
    return env.Undefined();
  }
  uint8_t val[IB_MAD_SIZE];
  memset(val, 0, sizeof val);
  Napi::Value v = info[1];
  if (v.IsBigInt()) {
    bool lossless;
    uint64_t x = v.As<Napi::BigInt>().Uint64Value(&lossless);
    memcpy(val, &x, 8);
  } else if (v.IsNumber()) {
    uint32_t x = v.As<Napi::Number>().Uint32Value();
    memcpy(val, &x, 4);
  } else if (v.IsBuffer()) {
    auto b = v.As<Napi::Buffer<uint8_t>>();
    memcpy(val, b.Data(), std::min<size_t>(b.Length(), sizeof val));
  }
  char out[512];
  out[0] = 0;
  mad_dump_val(static_cast<MAD_FIELDS>(f), out, sizeof out, val);
  return Napi::String::New(env, out);
}

// decodeFieldsInto(buf, offset, fields: number[], out: Uint32Array): for each
// field of at most 64 bits, writes its value as (low, high) 32-bit words at
// out[2i], out[2i+1]; wider fields are left as zero (use decodeFields).
// No JS value is created per field: the hot path of discovery.
Napi::Value DecodeFieldsInto(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 4 || !info[0].IsBuffer() || !info[1].IsNumber() || !info[2].IsArray() || !info[3].IsTypedArray()) {
    Napi::TypeError::New(env, "decodeFieldsInto(buffer, offset, fields, out)").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  auto buf = info[0].As<Napi::Buffer<uint8_t>>();
  int64_t offset = info[1].As<Napi::Number>().Int64Value();
  Napi::Array fields = info[2].As<Napi::Array>();
  Napi::TypedArray ta = info[3].As<Napi::TypedArray>();
  if (ta.TypedArrayType() != napi_uint32_array || ta.ElementLength() < 2 * fields.Length()) {
    Napi::TypeError::New(env, "decodeFieldsInto: out must be a Uint32Array of 2 words per field").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  if (offset < 0 || offset > static_cast<int64_t>(buf.Length())) {
    Napi::RangeError::New(env, "decodeFields: offset outside the buffer").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  uint32_t* out = reinterpret_cast<uint32_t*>(static_cast<uint8_t*>(ta.ArrayBuffer().Data()) + ta.ByteOffset());
  uint8_t padded[IB_MAD_SIZE * 2];
  memset(padded, 0, sizeof padded);
  size_t avail = std::min<size_t>(buf.Length() - offset, IB_MAD_SIZE);
  memcpy(padded, buf.Data() + offset, avail);
  uint32_t n = fields.Length();
  for (uint32_t i = 0; i < n; i++) {
    int f = fields.Get(i).As<Napi::Number>().Int32Value();
    out[2 * i] = out[2 * i + 1] = 0;
    if (f <= 0 || f >= IB_FIELD_LAST_) {
      Napi::RangeError::New(env, "decodeFields: unknown field " + std::to_string(f)).ThrowAsJavaScriptException();
      return env.Undefined();
    }
    if (Meta(f).bits > 64) continue;
    uint64_t v = 0;
    uint8_t val[IB_MAD_SIZE];
    memset(val, 0, 8);
    mad_decode_field(padded, static_cast<MAD_FIELDS>(f), val);
    memcpy(&v, val, Meta(f).bits <= 32 ? 4 : 8);
    out[2 * i] = static_cast<uint32_t>(v);
    out[2 * i + 1] = static_cast<uint32_t>(v >> 32);
  }
  return env.Undefined();
}

// encodeFields(buf, offset, fields: number[], values: Array<number|bigint>) writes in place.
Napi::Value EncodeFields(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 4 || !info[0].IsBuffer() || !info[1].IsNumber() || !info[2].IsArray() || !info[3].IsArray()) {
    Napi::TypeError::New(env, "encodeFields(buffer, offset, fields, values)").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  auto buf = info[0].As<Napi::Buffer<uint8_t>>();
  int64_t offset = info[1].As<Napi::Number>().Int64Value();
  Napi::Array fields = info[2].As<Napi::Array>();
  Napi::Array values = info[3].As<Napi::Array>();
  if (offset < 0 || buf.Length() < static_cast<size_t>(offset) + IB_SMP_DATA_SIZE) {
    Napi::RangeError::New(env, "encodeFields: buffer too short").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  std::vector<uint8_t> padded(IB_MAD_SIZE * 2, 0);
  size_t avail = std::min<size_t>(buf.Length() - offset, IB_MAD_SIZE);
  memcpy(padded.data(), buf.Data() + offset, avail);
  for (uint32_t i = 0; i < fields.Length() && i < values.Length(); i++) {
    int f = fields.Get(i).As<Napi::Number>().Int32Value();
    if (f <= 0 || f >= IB_FIELD_LAST_ || Meta(f).bits > 64) {
      Napi::RangeError::New(env, "encodeFields: field " + std::to_string(f) + " cannot be encoded").ThrowAsJavaScriptException();
      return env.Undefined();
    }
    Napi::Value v = values.Get(i);
    if (v.IsBigInt()) {
      bool lossless;
      mad_set_field64(padded.data(), 0, static_cast<MAD_FIELDS>(f), v.As<Napi::BigInt>().Uint64Value(&lossless));
    } else {
      mad_set_field(padded.data(), 0, static_cast<MAD_FIELDS>(f), v.As<Napi::Number>().Uint32Value());
    }
  }
  memcpy(buf.Data() + offset, padded.data(), avail);
  return env.Undefined();
}

}  // namespace hpcnet::ib
