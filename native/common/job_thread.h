// JobThread: a dedicated thread that runs blocking work for one owner (the
// addon instance, an LNet handle, ...) off the JavaScript thread and off
// libuv's thread pool, and settles a Promise on the JavaScript thread.
//
// Why not Napi::AsyncWorker: sysfs reads under umad2sim, ioctls on /dev/lnet
// and netlink round trips can block for an unbounded time; parked on libuv's
// four pool threads they would starve fs and dns for the whole process.
//
// Discipline (as sharp's batons): Work runs on the job thread and never
// touches N-API; it fills a plain C++ result. Settle runs on the JS thread
// and is the only place JS values are built. Work reports failure by
// throwing NativeError, which becomes an Error with errno/code/op set.
//
// Lifetime: the thread-safe function is referenced only while jobs are
// pending, so an idle JobThread never keeps the process alive. Close() (also
// called from the environment's cleanup hook) stops the thread and joins it;
// pending jobs whose results cannot reach JS any more are dropped.
#pragma once

#include <napi.h>

#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

namespace hpcnet {

// An error raised by native work, carried to JS as an Error with properties.
struct NativeError {
  std::string code;     // stable string code, e.g. "ENOENT" or "EUMAD"
  int errnum = 0;       // positive errno, 0 when not an errno
  std::string op;       // the operation, e.g. "umad_get_ca"
  std::string message;  // human text

  static NativeError FromErrno(int err, std::string op, std::string what = "");
  Napi::Error ToJs(Napi::Env env) const;
};

inline const char* ErrnoName(int err) {
  switch (err) {
#define HPCNET_E(x) case x: return #x;
    HPCNET_E(EPERM) HPCNET_E(ENOENT) HPCNET_E(ESRCH) HPCNET_E(EINTR) HPCNET_E(EIO)
    HPCNET_E(ENXIO) HPCNET_E(E2BIG) HPCNET_E(EBADF) HPCNET_E(EAGAIN) HPCNET_E(ENOMEM)
    HPCNET_E(EACCES) HPCNET_E(EFAULT) HPCNET_E(EBUSY) HPCNET_E(EEXIST) HPCNET_E(ENODEV)
    HPCNET_E(EINVAL) HPCNET_E(ENOSPC) HPCNET_E(ENOSYS) HPCNET_E(EPROTO) HPCNET_E(EMSGSIZE)
    HPCNET_E(EOPNOTSUPP) HPCNET_E(EADDRINUSE) HPCNET_E(ENETDOWN) HPCNET_E(ENETUNREACH)
    HPCNET_E(ECONNREFUSED) HPCNET_E(ETIMEDOUT) HPCNET_E(EHOSTUNREACH) HPCNET_E(EALREADY)
    HPCNET_E(ECANCELED) HPCNET_E(ENOTTY) HPCNET_E(ERANGE) HPCNET_E(ESHUTDOWN)
#undef HPCNET_E
    default: return "EUNKNOWN";
  }
}

inline NativeError NativeError::FromErrno(int err, std::string op, std::string what) {
  NativeError e;
  e.code = ErrnoName(err);
  e.errnum = err;
  e.op = std::move(op);
  char buf[128];
  const char* text = strerror_r(err, buf, sizeof buf);
  e.message = e.op + (what.empty() ? "" : " " + what) + ": " + text;
  return e;
}

inline Napi::Error NativeError::ToJs(Napi::Env env) const {
  Napi::Error err = Napi::Error::New(env, message);
  err.Set("code", Napi::String::New(env, code));
  if (errnum != 0) err.Set("errno", Napi::Number::New(env, errnum));
  if (!op.empty()) err.Set("op", Napi::String::New(env, op));
  return err;
}

class JobThread {
 public:
  // Runs on the job thread. Throws NativeError on failure.
  using Work = std::function<void()>;
  // Runs on the JS thread after Work succeeded; returns the resolution value.
  using Settle = std::function<Napi::Value(Napi::Env)>;

  JobThread(Napi::Env env, const char* name) : env_(env) {
    tsfn_ = Napi::ThreadSafeFunction::New(env, Napi::Function(), name, 0, 1, this,
                                          [](Napi::Env, JobThread*) {});
    tsfn_.Unref(env);
    // Registered after the TSFN: cleanup hooks run in reverse order, so at
    // environment teardown this runs while the TSFN is still intact.
    napi_add_env_cleanup_hook(env_, CleanupHook, this);
    thread_ = std::thread([this] { Loop(); });
  }

  ~JobThread() { Close(); }

  JobThread(const JobThread&) = delete;
  JobThread& operator=(const JobThread&) = delete;

  // Queue work; returns a Promise settled on the JS thread.
  Napi::Promise Run(Napi::Env env, Work work, Settle settle) {
    auto deferred = Napi::Promise::Deferred::New(env);
    if (closed_) {
      NativeError e{"ERR_CLOSED", 0, "", "the native worker is closed"};
      deferred.Reject(e.ToJs(env).Value());
      return deferred.Promise();
    }
    auto job = std::make_unique<Job>(Job{std::move(work), std::move(settle), deferred, {}, false});
    if (pending_++ == 0) tsfn_.Ref(env);
    {
      std::lock_guard<std::mutex> lock(mu_);
      queue_.push_back(std::move(job));
    }
    cv_.notify_one();
    return deferred.Promise();
  }

  // Stop the thread and join it. Idempotent. JS thread only.
  void Close() { CloseImpl(false); }

 private:
  static void CleanupHook(void* arg) { static_cast<JobThread*>(arg)->CloseImpl(true); }

  void CloseImpl(bool fromHook) {
    if (closed_) return;
    closed_ = true;
    if (!fromHook) napi_remove_env_cleanup_hook(env_, CleanupHook, this);
    {
      std::lock_guard<std::mutex> lock(mu_);
      stop_ = true;
    }
    cv_.notify_one();
    if (thread_.joinable()) thread_.join();
    tsfn_.Release();
  }

  struct Job {
    Work work;
    Settle settle;
    Napi::Promise::Deferred deferred;
    NativeError error;
    bool failed;
  };

  void Loop() {
    for (;;) {
      std::unique_ptr<Job> job;
      {
        std::unique_lock<std::mutex> lock(mu_);
        cv_.wait(lock, [this] { return stop_ || !queue_.empty(); });
        if (stop_) return;
        job = std::move(queue_.front());
        queue_.pop_front();
      }
      try {
        job->work();
      } catch (const NativeError& e) {
        job->error = e;
        job->failed = true;
      } catch (const std::exception& e) {
        job->error = NativeError{"ERR_NATIVE", 0, "", e.what()};
        job->failed = true;
      }
      Job* raw = job.release();
      napi_status st = tsfn_.BlockingCall(raw, [this](Napi::Env env, Napi::Function, Job* j) {
        std::unique_ptr<Job> owned(j);
        if (env == nullptr) return;  // environment is going away
        if (--pending_ == 0) tsfn_.Unref(env);
        if (owned->failed) {
          owned->deferred.Reject(owned->error.ToJs(env).Value());
          return;
        }
        try {
          owned->deferred.Resolve(owned->settle(env));
        } catch (const Napi::Error& e) {
          owned->deferred.Reject(e.Value());
        }
      });
      if (st != napi_ok) delete raw;  // closing: the result cannot reach JS
    }
  }

  napi_env env_;
  Napi::ThreadSafeFunction tsfn_;
  std::thread thread_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::unique_ptr<Job>> queue_;
  bool stop_ = false;
  bool closed_ = false;  // JS thread only
  size_t pending_ = 0;   // JS thread only
};

}  // namespace hpcnet
