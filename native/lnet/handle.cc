// LnetHandle: one open connection to the (real or emulated) LNet kernel.
// Owns a JobThread (every call below runs there, serialised), a libnl
// generic-netlink socket (connected lazily), a libkmod context (lazily) and
// nothing else: /dev/lnet is opened per ioctl and closed right after, because
// an open /dev/lnet holds a reference on the module that provides it and a
// long-lived handle must not stop `rmmod lnet`.
//
// The handle moves bytes. Struct packing, netlink attribute encoding and
// reply parsing are done by lib/lnet/kernel/ (TypeScript).
#include "lnet/handle.h"

#include <dirent.h>
#include <fcntl.h>
#include <libkmod.h>
#include <linux/netlink.h>
#include <netlink/genl/genl.h>
#include <netlink/msg.h>
#include <netlink/netlink.h>
#include <netlink/socket.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "common/job_thread.h"
#include "lnet/structs.h"

#ifndef SOL_NETLINK
#define SOL_NETLINK 270
#endif

namespace hpcnet::lnet {

namespace {

constexpr const char* kDevPath = "/dev/lnet";

NativeError Errno(int err, const std::string& op, const std::string& what = "") {
  return NativeError::FromErrno(err, op, what);
}

// State shared between the handle (JS thread) and its jobs (job thread).
struct State {
  std::atomic<bool> aborted{false};
  nl_sock* sk = nullptr;
  std::set<int> groups;
  kmod_ctx* kmod = nullptr;

  ~State() { Release(); }

  // After a transport failure (send/receive error, peer closed, reply cut
  // short) the socket may hold a half-read reply: the next call reconnects.
  void DropSocket() {
    if (sk != nullptr) {
      nl_close(sk);
      nl_socket_free(sk);
      sk = nullptr;
    }
    groups.clear();
  }

  void Release() {
    if (sk != nullptr) {
      nl_close(sk);
      nl_socket_free(sk);
      sk = nullptr;
    }
    if (kmod != nullptr) {
      kmod_unref(kmod);
      kmod = nullptr;
    }
  }

  nl_sock* Socket() {
    if (sk != nullptr) return sk;
    nl_sock* s = nl_socket_alloc();
    if (s == nullptr) throw Errno(ENOMEM, "nl_socket_alloc");
    int rc = nl_connect(s, NETLINK_GENERIC);
    if (rc < 0) {
      int err = errno != 0 ? errno : EPROTO;
      nl_socket_free(s);
      throw NativeError{ErrnoName(err), err, "nl_connect",
                        std::string("nl_connect(NETLINK_GENERIC): ") + nl_geterror(rc)};
    }
    int one = 1;
    // Kernel error strings (extack); ignored when unsupported.
    setsockopt(nl_socket_get_fd(s), SOL_NETLINK, NETLINK_EXT_ACK, &one, sizeof one);
    sk = s;
    return sk;
  }

  kmod_ctx* Kmod() {
    if (kmod != nullptr) return kmod;
    kmod_ctx* c = kmod_new(nullptr, nullptr);
    if (c == nullptr) throw Errno(ENOMEM, "kmod_new");
    kmod_set_log_priority(c, 0);
    int rc = kmod_load_resources(c);
    if (rc < 0) {
      // Missing modules.dep etc.: lookups still work through the slow path.
      (void)rc;
    }
    kmod = c;
    return kmod;
  }
};

uint32_t ToU32(const Napi::Value& v, const char* what) {
  if (!v.IsNumber()) throw Napi::TypeError::New(v.Env(), std::string(what) + " must be a number");
  double d = v.As<Napi::Number>().DoubleValue();
  if (!(d >= 0 && d <= 4294967295.0) || d != static_cast<double>(static_cast<uint64_t>(d)))
    throw Napi::TypeError::New(v.Env(), std::string(what) + " must be an integer in 0..2^32-1");
  return static_cast<uint32_t>(d);
}

std::string ToStr(const Napi::Value& v, const char* what) {
  if (!v.IsString()) throw Napi::TypeError::New(v.Env(), std::string(what) + " must be a string");
  std::string s = v.As<Napi::String>();
  if (s.find('\0') != std::string::npos)
    throw Napi::TypeError::New(v.Env(), std::string(what) + " must not contain NUL");
  return s;
}

std::vector<uint8_t> ToBytes(const Napi::Value& v, const char* what) {
  if (!v.IsBuffer()) throw Napi::TypeError::New(v.Env(), std::string(what) + " must be a Buffer");
  auto b = v.As<Napi::Buffer<uint8_t>>();
  return std::vector<uint8_t>(b.Data(), b.Data() + b.Length());
}

Napi::Buffer<uint8_t> ToBuffer(Napi::Env env, const std::vector<uint8_t>& v) {
  return Napi::Buffer<uint8_t>::Copy(env, v.data(), v.size());
}

// Builds one generic-netlink request with libnl, exactly as it is sent.
nl_msg* BuildMessage(nl_sock* sk, uint32_t family, uint32_t cmd, uint32_t version, uint32_t flags,
                     const std::vector<uint8_t>& payload) {
  nl_msg* msg = nlmsg_alloc_size(NLMSG_HDRLEN + GENL_HDRLEN + payload.size() + 64);
  if (msg == nullptr) throw Errno(ENOMEM, "nlmsg_alloc");
  if (genlmsg_put(msg, NL_AUTO_PORT, NL_AUTO_SEQ, static_cast<int>(family), 0,
                  static_cast<int>(flags), static_cast<uint8_t>(cmd),
                  static_cast<uint8_t>(version)) == nullptr ||
      (!payload.empty() &&
       nlmsg_append(msg, const_cast<uint8_t*>(payload.data()), payload.size(), NLMSG_ALIGNTO) < 0)) {
    nlmsg_free(msg);
    throw Errno(EMSGSIZE, "genlmsg_put");
  }
  nl_complete_msg(sk, msg);
  return msg;
}

std::vector<uint8_t> MessageBytes(nl_msg* msg) {
  nlmsghdr* h = nlmsg_hdr(msg);
  auto* p = reinterpret_cast<uint8_t*>(h);
  return std::vector<uint8_t>(p, p + h->nlmsg_len);
}

struct ModRec {
  std::string name;
  long refcnt;
  long size;
  int initstate;
  std::vector<std::string> holders;
};

struct InsertRec {
  std::string name, path, options;
  bool install;         // an install command ran instead of insmod
  std::string command;  // that install command
};

thread_local std::vector<InsertRec>* tl_inserted = nullptr;

void PrintAction(kmod_module* m, bool install, const char* options) {
  if (tl_inserted == nullptr) return;
  const char* path = kmod_module_get_path(m);
  const char* cmd = install ? kmod_module_get_install_commands(m) : nullptr;
  tl_inserted->push_back(InsertRec{kmod_module_get_name(m), path ? path : "",
                                   options ? options : "", install, cmd ? cmd : ""});
}

}  // namespace

struct LnetHandle::Impl {
  std::shared_ptr<State> st = std::make_shared<State>();
  std::unique_ptr<JobThread> jobs;
  bool closed = false;
};

Napi::Function LnetHandle::Class(Napi::Env env) {
  return DefineClass(env, "LnetHandle",
                     {
                         InstanceMethod<&LnetHandle::Ioctl>("ioctl"),
                         InstanceMethod<&LnetHandle::NlRequest>("nlRequest"),
                         InstanceMethod<&LnetHandle::NlPort>("nlPort"),
                         InstanceMethod<&LnetHandle::ReadFile>("readFile"),
                         InstanceMethod<&LnetHandle::WriteFile>("writeFile"),
                         InstanceMethod<&LnetHandle::ListDir>("listDir"),
                         InstanceMethod<&LnetHandle::ModLoad>("modLoad"),
                         InstanceMethod<&LnetHandle::ModList>("modList"),
                         InstanceMethod<&LnetHandle::ModRemove>("modRemove"),
                         InstanceMethod<&LnetHandle::Close>("close"),
                     });
}

namespace {
// Type tag of LnetHandle objects: a method called with `this` of another
// wrapped type throws instead of reading that object's memory.
constexpr napi_type_tag kLnetHandleTag = {0x6870636e65746c6eULL, 0x4c6e657448616e64ULL};
}  // namespace

bool LnetHandle::CheckTag(const Napi::CallbackInfo& info) {
  bool ok = false;
  if (napi_check_object_type_tag(info.Env(), info.This(), &kLnetHandleTag, &ok) != napi_ok || !ok) {
    Napi::TypeError::New(info.Env(), "LnetHandle method called on an object that is not an LnetHandle").ThrowAsJavaScriptException();
    return false;
  }
  return true;
}

LnetHandle::LnetHandle(const Napi::CallbackInfo& info)
    : Napi::ObjectWrap<LnetHandle>(info), impl_(std::make_unique<Impl>()) {
  Napi::Env env = info.Env();
  napi_type_tag_object(env, info.This(), &kLnetHandleTag);
  impl_->jobs = std::make_unique<JobThread>(env, "hpcnet-lnet-handle", /*joinOnClose=*/false);
  env_ = env;
  hooked_ = napi_add_env_cleanup_hook(env, CleanupHook, this) == napi_ok;
}

// Environment shutdown (process exit, worker termination): close natively.
void LnetHandle::CleanupHook(void* self) {
  auto* h = static_cast<LnetHandle*>(self);
  h->hooked_ = false;
  h->CloseNative(/*teardown=*/true);
}

LnetHandle::~LnetHandle() {
  CloseNative();
  if (hooked_) napi_remove_env_cleanup_hook(env_, CleanupHook, this);
}

void LnetHandle::CloseNative(bool teardown) {
  if (impl_->closed) return;
  impl_->closed = true;
  impl_->st->aborted = true;  // a netlink wait in progress ends at its next poll slice
  // Never waits for the running job (a ping can block in the kernel for its
  // whole timeout, and this may be a GC finalizer): queued jobs are rejected
  // with ERR_CLOSED, the running one keeps its own reference to the state,
  // which is released (socket, libkmod context) when the last job drops it.
  if (teardown)
    impl_->jobs->CloseForTeardown();  // the environment goes: wait for the thread
  else
    impl_->jobs->Close();
  impl_->st.reset();
}

Napi::Value LnetHandle::Closed(Napi::Env env) {
  NativeError e{"ERR_CLOSED", 0, "", "the LNet kernel handle is closed"};
  auto d = Napi::Promise::Deferred::New(env);
  d.Reject(e.ToJs(env).Value());
  return d.Promise();
}

// close(): stop the job thread (after the running job), free the socket and
// libkmod context. Idempotent, synchronous.
Napi::Value LnetHandle::Close(const Napi::CallbackInfo& info) {
  if (!CheckTag(info)) return info.Env().Undefined();
  CloseNative();
  return info.Env().Undefined();
}

namespace {

struct Patch {
  uint32_t at, kind, value;
};

// Where the kernel finds the length of what it reads or writes through a user
// pointer: the pointer at `ptrAt` of command `nr` covers `lenAt` x `unit` bytes.
struct LengthRule {
  uint32_t nr;  // 0: every V1 (libcfs_ioctl_data) command
  uint32_t ptrAt, lenAt, unit;
  const char* field;
};
constexpr LengthRule kLengthRules[] = {
    {0, 72, 64, 1, "ioc_inllen1"},   {0, 88, 80, 1, "ioc_inllen2"},   // V1 inline buffers
    {0, 104, 96, 1, "ioc_plen1"},    {0, 120, 112, 1, "ioc_plen2"},   // V1 user buffers
    {62, 40, 12, 16, "ping_count"},  {77, 40, 12, 16, "ping_count"},  // PING_PEER, DISCOVER: lnet_process_id[]
    {94, 40, 36, 1, "prcfg_size"},   {100, 40, 36, 1, "prcfg_size"},  // GET_PEER_NI, GET_PEER_LIST
    {105, 24, 16, 1, "iou_bulk_size"}, {108, 24, 16, 1, "iou_bulk_size"},  // ADD_UDSP, GET_UDSP
};

// The kernel copies ioc_len bytes of the argument and reads or writes the
// lengths its fields give through the pointers: check them all against the
// buffers actually passed, before the syscall (a wrong packer must not make
// the kernel read or write outside them).
void CheckLengths(Napi::Env env, uint32_t cmd, const std::vector<uint8_t>& arg, const std::vector<std::vector<uint8_t>>& aux,
                  const std::vector<Patch>& patches) {
  auto fail = [&](const std::string& what) -> void { throw Napi::RangeError::New(env, "ioctl: " + what); };
  uint32_t iocLen, version;
  std::memcpy(&iocLen, arg.data(), 4);
  std::memcpy(&version, arg.data() + 4, 4);
  if (iocLen < 8 || iocLen > arg.size())
    fail("ioc_len " + std::to_string(iocLen) + " does not fit the argument buffer (" + std::to_string(arg.size()) + " bytes)");
  auto u32 = [&](uint32_t off, const char* field) -> uint32_t {
    if (off + 4 > iocLen) fail(std::string(field) + " lies beyond ioc_len " + std::to_string(iocLen));
    uint32_t v;
    std::memcpy(&v, arg.data() + off, 4);
    return v;
  };
  const bool v1 = version == ::hpcnet::lnet::abi::kVersion1;
  if (v1) {
    auto r8 = [](uint64_t n) { return (n + 7) & ~uint64_t{7}; };
    uint64_t need = 128 + r8(u32(64, "ioc_inllen1")) + r8(u32(80, "ioc_inllen2"));
    if (need > iocLen) fail("inline buffers need " + std::to_string(need) + " bytes, ioc_len is " + std::to_string(iocLen));
  }
  const uint32_t nr = cmd & 0xff;
  for (const Patch& p : patches) {
    const LengthRule* rule = nullptr;
    for (const LengthRule& r : kLengthRules)
      if (r.ptrAt == p.at && (r.nr == nr || (r.nr == 0 && v1))) rule = &r;
    if (rule == nullptr) fail("no length field is known for the pointer at offset " + std::to_string(p.at) + " of command " + std::to_string(nr));
    uint64_t need = uint64_t{u32(rule->lenAt, rule->field)} * rule->unit;
    uint64_t have = p.kind == 1 ? aux[p.value].size() : (p.value <= iocLen ? iocLen - p.value : 0);
    if (need > have)
      fail(std::string(rule->field) + " asks for " + std::to_string(need) + " bytes at the pointer at offset " + std::to_string(p.at) + ", the buffer passed has " + std::to_string(have));
  }
}

}  // namespace

// ioctl(op: string, cmd: number, arg: Buffer, patches: number[][], aux: Buffer[])
//   -> Promise<{ errno: number, arg: Buffer, aux: Buffer[] }>
// Resolves also when the kernel refuses (errno != 0, arg as copied back);
// rejects only when /dev/lnet cannot be opened.
// Each patch [at, kind, value] writes a user pointer into arg at offset `at`
// before the call: kind 0 = arg + value (inline buffers), kind 1 = aux[value].
Napi::Value LnetHandle::Ioctl(const Napi::CallbackInfo& info) {
  if (!CheckTag(info)) return info.Env().Undefined();
  Napi::Env env = info.Env();
  if (impl_->closed) return Closed(env);
  std::string op = ToStr(info[0], "ioctl: op");
  uint32_t cmd = ToU32(info[1], "ioctl: cmd");
  auto arg = std::make_shared<std::vector<uint8_t>>(ToBytes(info[2], "ioctl: arg"));
  auto aux = std::make_shared<std::vector<std::vector<uint8_t>>>();
  if (info.Length() > 4 && !info[4].IsUndefined()) {
    if (!info[4].IsArray()) throw Napi::TypeError::New(env, "ioctl: aux must be an array of Buffers");
    auto a = info[4].As<Napi::Array>();
    for (uint32_t i = 0; i < a.Length(); i++) aux->push_back(ToBytes(a.Get(i), "ioctl: aux[i]"));
  }
  std::vector<Patch> patches;
  if (info.Length() > 3 && !info[3].IsUndefined()) {
    if (!info[3].IsArray()) throw Napi::TypeError::New(env, "ioctl: patches must be an array");
    auto a = info[3].As<Napi::Array>();
    for (uint32_t i = 0; i < a.Length(); i++) {
      Napi::Value pv = a.Get(i);
      if (!pv.IsArray() || pv.As<Napi::Array>().Length() != 3)
        throw Napi::TypeError::New(env, "ioctl: each patch is [at, kind, value]");
      auto p = pv.As<Napi::Array>();
      Patch x{ToU32(p.Get(0u), "patch.at"), ToU32(p.Get(1u), "patch.kind"),
              ToU32(p.Get(2u), "patch.value")};
      if (x.at + sizeof(void*) > arg->size()) throw Napi::RangeError::New(env, "ioctl: patch outside arg");
      if (x.kind == 0 && x.value > arg->size()) throw Napi::RangeError::New(env, "ioctl: inline pointer outside arg");
      if (x.kind == 1 && x.value >= aux->size()) throw Napi::RangeError::New(env, "ioctl: no such aux buffer");
      if (x.kind > 1) throw Napi::RangeError::New(env, "ioctl: patch kind is 0 or 1");
      patches.push_back(x);
    }
  }
  if (arg->size() < 8) throw Napi::RangeError::New(env, "ioctl: arg shorter than libcfs_ioctl_hdr");
  CheckLengths(env, cmd, *arg, *aux, patches);
  auto result = std::make_shared<int>(0);
  return impl_->jobs->Run(
      env,
      [op, cmd, arg, aux, patches, result] {
        for (const Patch& p : patches) {
          void* ptr = p.kind == 0 ? static_cast<void*>(arg->data() + p.value)
                                  : static_cast<void*>((*aux)[p.value].data());
          std::memcpy(arg->data() + p.at, &ptr, sizeof ptr);
        }
        int fd = open(kDevPath, O_RDWR | O_CLOEXEC);
        if (fd < 0) {
          int err = errno;
          throw NativeError{ErrnoName(err), err, "open",
                            op + ": opening /dev/lnet failed: " + strerror(err) +
                                (err == ENOENT ? " (hint: the kernel modules may not be loaded)" : "")};
        }
        int rc = ioctl(fd, static_cast<unsigned long>(cmd), arg->data());
        int err = errno;
        close(fd);
        // Pointers are process addresses: never hand them back to JS.
        for (const Patch& p : patches) std::memset(arg->data() + p.at, 0, sizeof(void*));
        // The kernel copies the argument back even when it fails (E2BIG
        // carries the size it needs), so a refusal resolves with errno set.
        *result = rc < 0 ? err : 0;
      },
      [arg, aux, result](Napi::Env env) -> Napi::Value {
        Napi::Object o = Napi::Object::New(env);
        o.Set("errno", Napi::Number::New(env, *result));
        o.Set("arg", ToBuffer(env, *arg));
        Napi::Array a = Napi::Array::New(env, aux->size());
        for (size_t i = 0; i < aux->size(); i++) a[i] = ToBuffer(env, (*aux)[i]);
        o.Set("aux", a);
        return o;
      });
}

// nlRequest(family, cmd, version, flags, payload: Buffer, opts: {group?, timeoutMs?})
//   -> Promise<{ request: Buffer, replies: Buffer[] }>
// Sends one request built by libnl (REQUEST|ACK added) and collects every
// reply message with its sequence number up to and including NLMSG_DONE or
// NLMSG_ERROR. Replies are whole netlink messages, parsed in TS.
Napi::Value LnetHandle::NlRequest(const Napi::CallbackInfo& info) {
  if (!CheckTag(info)) return info.Env().Undefined();
  Napi::Env env = info.Env();
  if (impl_->closed) return Closed(env);
  uint32_t family = ToU32(info[0], "nlRequest: family");
  uint32_t cmd = ToU32(info[1], "nlRequest: cmd");
  uint32_t version = ToU32(info[2], "nlRequest: version");
  uint32_t flags = ToU32(info[3], "nlRequest: flags");
  if (family > 0xffff || cmd > 0xff || version > 0xff || flags > 0xffff)
    throw Napi::RangeError::New(env, "nlRequest: family/flags are 16-bit, cmd/version 8-bit");
  auto payload = ToBytes(info[4], "nlRequest: payload");
  int group = -1;
  uint32_t timeoutMs = 30000;
  if (info.Length() > 5 && info[5].IsObject()) {
    auto o = info[5].As<Napi::Object>();
    if (o.Has("group") && !o.Get("group").IsUndefined()) group = static_cast<int>(ToU32(o.Get("group"), "group"));
    if (o.Has("timeoutMs") && !o.Get("timeoutMs").IsUndefined()) timeoutMs = ToU32(o.Get("timeoutMs"), "timeoutMs");
  }
  auto st = impl_->st;
  auto request = std::make_shared<std::vector<uint8_t>>();
  auto replies = std::make_shared<std::vector<std::vector<uint8_t>>>();
  return impl_->jobs->Run(
      env,
      [st, family, cmd, version, flags, payload, group, timeoutMs, request, replies] {
        nl_sock* sk = st->Socket();
        if (group > 0 && st->groups.count(group) == 0) {
          int rc = nl_socket_add_membership(sk, group);
          if (rc < 0) {
            int err = errno != 0 ? errno : EINVAL;
            throw NativeError{ErrnoName(err), err, "nl_socket_add_membership",
                              "joining netlink multicast group " + std::to_string(group) + ": " + nl_geterror(rc)};
          }
          st->groups.insert(group);
        }
        nl_msg* msg = BuildMessage(sk, family, cmd, version, flags, payload);
        *request = MessageBytes(msg);
        uint32_t seq = nlmsg_hdr(msg)->nlmsg_seq;
        int rc = nl_send(sk, msg);
        int sendErr = errno;
        nlmsg_free(msg);
        if (rc < 0) {
          int err = sendErr != 0 ? sendErr : EIO;
          st->DropSocket();
          throw NativeError{ErrnoName(err), err, "nl_send", std::string("nl_send: ") + nl_geterror(rc)};
        }
        auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeoutMs);
        int fd = nl_socket_get_fd(sk);
        for (bool done = false; !done;) {
          if (st->aborted) throw NativeError{"ERR_CLOSED", 0, "nl_recv", "handle closed during a netlink request"};
          auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now()).count();
          if (left <= 0)
            throw NativeError{"ETIMEDOUT", ETIMEDOUT, "nl_recv",
                              "no complete netlink reply within " + std::to_string(timeoutMs) + " ms"};
          pollfd pfd{fd, POLLIN, 0};
          int pr = poll(&pfd, 1, static_cast<int>(left < 200 ? left : 200));
          if (pr < 0) {
            if (errno == EINTR) continue;
            int err = errno;
            st->DropSocket();
            throw Errno(err, "poll");
          }
          if (pr == 0) continue;
          sockaddr_nl nla{};
          unsigned char* buf = nullptr;
          errno = 0;
          int n = nl_recv(sk, &nla, &buf, nullptr);
          if (n < 0) {
            int err = errno != 0 ? errno : EIO;
            free(buf);
            st->DropSocket();
            throw NativeError{ErrnoName(err), err, "nl_recv", std::string("nl_recv: ") + nl_geterror(n)};
          }
          if (n == 0) {
            free(buf);
            st->DropSocket();
            throw NativeError{"ECONNRESET", ECONNRESET, "nl_recv", "netlink socket closed by peer"};
          }
          auto* h = reinterpret_cast<nlmsghdr*>(buf);
          int remaining = n;
          while (nlmsg_ok(h, remaining)) {
            if (h->nlmsg_seq == seq) {
              auto* p = reinterpret_cast<uint8_t*>(h);
              replies->emplace_back(p, p + h->nlmsg_len);
              if (h->nlmsg_type == NLMSG_DONE || h->nlmsg_type == NLMSG_ERROR) done = true;
            }
            h = nlmsg_next(h, &remaining);
          }
          free(buf);
          if (replies->size() > 100000) {
            st->DropSocket();
            throw NativeError{"EMSGSIZE", EMSGSIZE, "nl_recv", "netlink reply exceeds 100000 messages"};
          }
        }
      },
      [request, replies](Napi::Env env) -> Napi::Value {
        Napi::Object o = Napi::Object::New(env);
        o.Set("request", ToBuffer(env, *request));
        Napi::Array a = Napi::Array::New(env, replies->size());
        for (size_t i = 0; i < replies->size(); i++) a[i] = ToBuffer(env, (*replies)[i]);
        o.Set("replies", a);
        return o;
      });
}

// nlPort() -> Promise<number>: the netlink port id (connects if needed).
Napi::Value LnetHandle::NlPort(const Napi::CallbackInfo& info) {
  if (!CheckTag(info)) return info.Env().Undefined();
  Napi::Env env = info.Env();
  if (impl_->closed) return Closed(env);
  auto st = impl_->st;
  auto port = std::make_shared<uint32_t>(0);
  return impl_->jobs->Run(
      env, [st, port] { *port = nl_socket_get_local_port(st->Socket()); },
      [port](Napi::Env env) -> Napi::Value { return Napi::Number::New(env, *port); });
}

// readFile(path) -> Promise<string>: open/read/close, as text.
Napi::Value LnetHandle::ReadFile(const Napi::CallbackInfo& info) {
  if (!CheckTag(info)) return info.Env().Undefined();
  Napi::Env env = info.Env();
  if (impl_->closed) return Closed(env);
  std::string path = ToStr(info[0], "readFile: path");
  auto out = std::make_shared<std::string>();
  return impl_->jobs->Run(
      env,
      [path, out] {
        int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
        if (fd < 0) throw Errno(errno, "open", path);
        char buf[4096];
        for (;;) {
          ssize_t n = read(fd, buf, sizeof buf);
          if (n < 0) {
            if (errno == EINTR) continue;
            int err = errno;
            close(fd);
            throw Errno(err, "read", path);
          }
          if (n == 0) break;
          out->append(buf, static_cast<size_t>(n));
          if (out->size() > (1u << 20)) break;
        }
        close(fd);
      },
      [out](Napi::Env env) -> Napi::Value { return Napi::String::New(env, *out); });
}

// writeFile(path, text) -> Promise<void>: open(O_WRONLY|O_TRUNC) + one
// write of text plus its NUL, as lnetctl writes module parameters.
Napi::Value LnetHandle::WriteFile(const Napi::CallbackInfo& info) {
  if (!CheckTag(info)) return info.Env().Undefined();
  Napi::Env env = info.Env();
  if (impl_->closed) return Closed(env);
  std::string path = ToStr(info[0], "writeFile: path");
  std::string text = ToStr(info[1], "writeFile: text");
  return impl_->jobs->Run(
      env,
      [path, text] {
        int fd = open(path.c_str(), O_WRONLY | O_TRUNC | O_CLOEXEC);
        if (fd < 0) throw Errno(errno, "open", path);
        ssize_t n;
        do {
          n = write(fd, text.c_str(), text.size() + 1);
        } while (n < 0 && errno == EINTR);
        int err = errno;
        close(fd);
        if (n < 0) throw Errno(err, "write", path);
      },
      [](Napi::Env env) -> Napi::Value { return env.Undefined(); });
}

// listDir(path) -> Promise<string[]> (without . and ..).
Napi::Value LnetHandle::ListDir(const Napi::CallbackInfo& info) {
  if (!CheckTag(info)) return info.Env().Undefined();
  Napi::Env env = info.Env();
  if (impl_->closed) return Closed(env);
  std::string path = ToStr(info[0], "listDir: path");
  auto names = std::make_shared<std::vector<std::string>>();
  return impl_->jobs->Run(
      env,
      [path, names] {
        DIR* d = opendir(path.c_str());
        if (d == nullptr) throw Errno(errno, "opendir", path);
        while (dirent* e = readdir(d)) {
          if (std::strcmp(e->d_name, ".") == 0 || std::strcmp(e->d_name, "..") == 0) continue;
          names->push_back(e->d_name);
        }
        closedir(d);
      },
      [names](Napi::Env env) -> Napi::Value {
        Napi::Array a = Napi::Array::New(env, names->size());
        for (size_t i = 0; i < names->size(); i++) a[i] = Napi::String::New(env, (*names)[i]);
        return a;
      });
}

// modLoad(name, options, {dryRun?, ignoreCommands?})
//   -> Promise<Array<{name, path, options, install}>>: what modprobe -v prints.
Napi::Value LnetHandle::ModLoad(const Napi::CallbackInfo& info) {
  if (!CheckTag(info)) return info.Env().Undefined();
  Napi::Env env = info.Env();
  if (impl_->closed) return Closed(env);
  std::string name = ToStr(info[0], "modLoad: name");
  std::string options = info.Length() > 1 && !info[1].IsUndefined() ? ToStr(info[1], "modLoad: options") : "";
  unsigned flags = 0;
  if (info.Length() > 2 && info[2].IsObject()) {
    auto o = info[2].As<Napi::Object>();
    if (o.Get("dryRun").ToBoolean()) flags |= KMOD_PROBE_DRY_RUN;
    if (o.Get("ignoreCommands").ToBoolean()) flags |= KMOD_PROBE_IGNORE_COMMAND;
  }
  auto st = impl_->st;
  auto inserted = std::make_shared<std::vector<InsertRec>>();
  return impl_->jobs->Run(
      env,
      [st, name, options, flags, inserted] {
        kmod_ctx* ctx = st->Kmod();
        kmod_list* list = nullptr;
        int rc = kmod_module_new_from_lookup(ctx, name.c_str(), &list);
        if (rc < 0) throw Errno(-rc, "kmod_module_new_from_lookup", name);
        if (list == nullptr)
          throw NativeError{"ENOENT", ENOENT, "kmod_module_new_from_lookup",
                            "module " + name + " not found in directory /lib/modules/<release>"};
        tl_inserted = inserted.get();
        int err = 0;
        std::string failed;
        kmod_list* it;
        kmod_list_foreach(it, list) {
          kmod_module* mod = kmod_module_get_module(it);
          if (err == 0) {
            rc = kmod_module_probe_insert_module(mod, flags, options.empty() ? nullptr : options.c_str(),
                                                 nullptr, nullptr, PrintAction);
            if (rc < 0) {
              err = -rc;
              failed = kmod_module_get_name(mod);
            } else if (rc > 0) {  // KMOD_PROBE_APPLY_BLACKLIST* refusals
              err = EPERM;
              failed = kmod_module_get_name(mod);
            }
          }
          kmod_module_unref(mod);
        }
        kmod_module_unref_list(list);
        tl_inserted = nullptr;
        if (err != 0) throw Errno(err, "kmod_module_probe_insert_module", "(" + failed + ")");
      },
      [inserted](Napi::Env env) -> Napi::Value {
        Napi::Array a = Napi::Array::New(env, inserted->size());
        for (size_t i = 0; i < inserted->size(); i++) {
          const InsertRec& r = (*inserted)[i];
          Napi::Object o = Napi::Object::New(env);
          o.Set("name", r.name);
          o.Set("path", r.path);
          o.Set("options", r.options);
          o.Set("install", r.install);
          if (r.install) o.Set("command", r.command);
          a[i] = o;
        }
        return a;
      });
}

// modList() -> Promise<Array<{name, refcnt, size, initstate, holders}>>
Napi::Value LnetHandle::ModList(const Napi::CallbackInfo& info) {
  if (!CheckTag(info)) return info.Env().Undefined();
  Napi::Env env = info.Env();
  if (impl_->closed) return Closed(env);
  auto st = impl_->st;
  auto mods = std::make_shared<std::vector<ModRec>>();
  return impl_->jobs->Run(
      env,
      [st, mods] {
        kmod_ctx* ctx = st->Kmod();
        kmod_list* list = nullptr;
        int rc = kmod_module_new_from_loaded(ctx, &list);
        if (rc < 0) throw Errno(-rc, "kmod_module_new_from_loaded");
        kmod_list* it;
        kmod_list_foreach(it, list) {
          kmod_module* mod = kmod_module_get_module(it);
          ModRec r{kmod_module_get_name(mod), kmod_module_get_refcnt(mod), kmod_module_get_size(mod),
                   kmod_module_get_initstate(mod), {}};
          kmod_list* holders = kmod_module_get_holders(mod);
          kmod_list* h;
          kmod_list_foreach(h, holders) {
            kmod_module* hm = kmod_module_get_module(h);
            r.holders.push_back(kmod_module_get_name(hm));
            kmod_module_unref(hm);
          }
          kmod_module_unref_list(holders);
          mods->push_back(std::move(r));
          kmod_module_unref(mod);
        }
        kmod_module_unref_list(list);
      },
      [mods](Napi::Env env) -> Napi::Value {
        Napi::Array a = Napi::Array::New(env, mods->size());
        for (size_t i = 0; i < mods->size(); i++) {
          const ModRec& r = (*mods)[i];
          Napi::Object o = Napi::Object::New(env);
          o.Set("name", r.name);
          o.Set("refcnt", Napi::Number::New(env, static_cast<double>(r.refcnt)));
          o.Set("size", Napi::Number::New(env, static_cast<double>(r.size)));
          o.Set("initstate", Napi::Number::New(env, r.initstate));
          Napi::Array hs = Napi::Array::New(env, r.holders.size());
          for (size_t j = 0; j < r.holders.size(); j++) hs[j] = Napi::String::New(env, r.holders[j]);
          o.Set("holders", hs);
          a[i] = o;
        }
        return a;
      });
}

// modRemove(name) -> Promise<void>: delete_module(name, O_NONBLOCK).
Napi::Value LnetHandle::ModRemove(const Napi::CallbackInfo& info) {
  if (!CheckTag(info)) return info.Env().Undefined();
  Napi::Env env = info.Env();
  if (impl_->closed) return Closed(env);
  std::string name = ToStr(info[0], "modRemove: name");
  auto st = impl_->st;
  return impl_->jobs->Run(
      env,
      [st, name] {
        kmod_ctx* ctx = st->Kmod();
        kmod_module* mod = nullptr;
        int rc = kmod_module_new_from_name(ctx, name.c_str(), &mod);
        if (rc < 0) throw Errno(-rc, "kmod_module_new_from_name", name);
        // As kmod's rmmod: refuse a module that is not loaded or in use
        // before asking the kernel (whose delete_module answers EWOULDBLOCK).
        int state = kmod_module_get_initstate(mod);
        if (state < 0 || state == KMOD_MODULE_BUILTIN) {
          kmod_module_unref(mod);
          throw NativeError{"ENOENT", ENOENT, "kmod_module_get_initstate",
                            "Module " + name + (state < 0 ? " is not currently loaded" : " is builtin")};
        }
        kmod_list* holders = kmod_module_get_holders(mod);
        if (holders != nullptr) {
          std::string by;
          kmod_list* h;
          kmod_list_foreach(h, holders) {
            kmod_module* hm = kmod_module_get_module(h);
            by += std::string(" ") + kmod_module_get_name(hm);
            kmod_module_unref(hm);
          }
          kmod_module_unref_list(holders);
          kmod_module_unref(mod);
          throw NativeError{"EBUSY", EBUSY, "kmod_module_get_holders", "Module " + name + " is in use by:" + by};
        }
        if (kmod_module_get_refcnt(mod) > 0) {
          kmod_module_unref(mod);
          throw NativeError{"EBUSY", EBUSY, "kmod_module_get_refcnt", "Module " + name + " is in use"};
        }
        rc = kmod_module_remove_module(mod, KMOD_REMOVE_NOLOG);
        kmod_module_unref(mod);
        if (rc < 0) throw Errno(-rc, "kmod_module_remove_module", "(" + name + ")");
      },
      [](Napi::Env env) -> Napi::Value { return env.Undefined(); });
}

// buildRequest(family, cmd, version, flags, payload, seq, port) -> Buffer:
// the request exactly as libnl frames it for sending (for encoding tests).
Napi::Value BuildRequest(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  uint32_t family = ToU32(info[0], "buildRequest: family");
  uint32_t cmd = ToU32(info[1], "buildRequest: cmd");
  uint32_t version = ToU32(info[2], "buildRequest: version");
  uint32_t flags = ToU32(info[3], "buildRequest: flags");
  if (family > 0xffff || cmd > 0xff || version > 0xff || flags > 0xffff)
    throw Napi::RangeError::New(env, "buildRequest: family/flags are 16-bit, cmd/version 8-bit");
  auto payload = ToBytes(info[4], "buildRequest: payload");
  uint32_t seq = ToU32(info[5], "buildRequest: seq");
  uint32_t port = ToU32(info[6], "buildRequest: port");
  nl_sock* sk = nl_socket_alloc();
  if (sk == nullptr) throw Napi::Error::New(env, "nl_socket_alloc failed");
  nl_socket_set_local_port(sk, port);
  std::vector<uint8_t> bytes;
  try {
    nl_msg* msg = BuildMessage(sk, family, cmd, version, flags, payload);
    nlmsg_hdr(msg)->nlmsg_seq = seq;
    bytes = MessageBytes(msg);
    nlmsg_free(msg);
  } catch (const NativeError& e) {
    nl_socket_free(sk);
    throw e.ToJs(env);
  }
  nl_socket_free(sk);
  return ToBuffer(env, bytes);
}

}  // namespace hpcnet::lnet
