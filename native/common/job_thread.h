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
// pending, so an idle JobThread never keeps the process alive. Close()
// stops taking jobs: queued ones are rejected with ERR_CLOSED (delivered
// through the thread-safe function, so Close() may run in a GC finalizer),
// the running one settles when it ends; with joinOnClose = false Close()
// never waits for it. At environment teardown (cleanup hook) the thread is
// joined and results that cannot reach JS any more are dropped.
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

// The Linux name of an errno (EOPNOTSUPP, EAGAIN, ...), as glibc's
// strerrorname_np() gives it; "E<n>" for a number without one. The same names
// as the project's table in lib/errno.ts (test/unit/errno.test.ts compares them).
inline std::string ErrnoName(int err) {
  const char* name = strerrorname_np(err);
  if (name != nullptr) return name;
  std::string out = "E";
  out += std::to_string(err);
  return out;
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

  // joinOnClose: Close() waits for the running job (for owners whose jobs
  // use the owner's memory: short library calls). false: Close() never
  // waits; the running job finishes on its own thread (everything it uses
  // must be owned by the job itself, e.g. through shared_ptr captures) and
  // its promise settles then.
  JobThread(Napi::Env env, const char* name, bool joinOnClose = true) : env_(env), join_(joinOnClose), s_(std::make_shared<Shared>()) {
    s_->tsfn = Napi::ThreadSafeFunction::New(env, Napi::Function(), name, 0, 1, this, [](Napi::Env, JobThread*) {});
    s_->tsfn.Unref(env);
    // Registered after the TSFN: cleanup hooks run in reverse order, so at
    // environment teardown this runs while the TSFN is still intact.
    napi_add_env_cleanup_hook(env_, CleanupHook, this);
    thread_ = std::thread([s = s_] { Loop(s); });
  }

  ~JobThread() { Close(); }

  JobThread(const JobThread&) = delete;
  JobThread& operator=(const JobThread&) = delete;

  // Queue work; returns a Promise settled on the JS thread.
  Napi::Promise Run(Napi::Env env, Work work, Settle settle) {
    auto deferred = Napi::Promise::Deferred::New(env);
    if (closed_) {
      deferred.Reject(Closed().ToJs(env).Value());
      return deferred.Promise();
    }
    auto job = std::make_unique<Job>(Job{std::move(work), std::move(settle), deferred, {}, false});
    if (s_->pending++ == 0) s_->tsfn.Ref(env);
    {
      std::lock_guard<std::mutex> lock(s_->mu);
      s_->queue.push_back(std::move(job));
    }
    s_->cv.notify_one();
    return deferred.Promise();
  }

  // Stop taking jobs. Jobs still queued are rejected with ERR_CLOSED (on
  // the JS thread, later: never from here, which may be a GC finalizer);
  // the running one finishes and settles. Idempotent. JS thread only.
  void Close() { CloseImpl(false); }
  // Environment teardown (an owner's cleanup hook): stop and join the thread.
  void CloseForTeardown() { CloseImpl(true); }

 private:
  static NativeError Closed() { return NativeError{"ERR_CLOSED", 0, "", "the native worker is closed"}; }

  struct Job {
    Work work;
    Settle settle;
    Napi::Promise::Deferred deferred;
    NativeError error;
    bool failed;
  };

  // What the thread needs, owned jointly with it: the JobThread may be gone
  // before its thread ends.
  struct Shared {
    std::mutex mu;
    std::condition_variable cv;
    std::deque<std::unique_ptr<Job>> queue;
    bool stop = false;
    bool busy = false;  // a job's Work is running
    Napi::ThreadSafeFunction tsfn;
    size_t pending = 0;  // JS thread only
  };

  static void CleanupHook(void* arg) { static_cast<JobThread*>(arg)->CloseImpl(true); }

  void CloseImpl(bool fromHook) {
    if (closed_) return;
    closed_ = true;
    if (!fromHook) napi_remove_env_cleanup_hook(env_, CleanupHook, this);
    std::deque<std::unique_ptr<Job>> queued;
    bool busy;
    {
      std::lock_guard<std::mutex> lock(s_->mu);
      s_->stop = true;
      queued.swap(s_->queue);
      busy = s_->busy;
    }
    s_->cv.notify_one();
    // The queued jobs never run: reject them now, through the thread-safe
    // function (their promises settle on a later turn of the loop; nothing
    // JS runs here, which may be a GC finalizer). At teardown they are dropped.
    for (auto& j : queued) {
      j->error = Closed();
      j->failed = true;
      if (!fromHook) Deliver(s_, std::move(j), /*blocking=*/false);
    }
    if (join_ || fromHook || !busy) {
      // Teardown of the environment (nothing can settle any more), or an idle
      // thread, which ends at once: wait for it.
      if (thread_.joinable()) thread_.join();
    } else if (thread_.joinable()) {
      thread_.detach();  // a job is running: it finishes and settles on its own
    }
  }

  // The thread: run jobs in order; once stopped, the jobs left are delivered
  // as ERR_CLOSED. Then the thread-safe function is released.
  static void Loop(std::shared_ptr<Shared> s) {
    for (;;) {
      std::unique_ptr<Job> job;
      bool closing;
      {
        std::unique_lock<std::mutex> lock(s->mu);
        s->cv.wait(lock, [&s] { return s->stop || !s->queue.empty(); });
        if (s->queue.empty()) break;
        job = std::move(s->queue.front());
        s->queue.pop_front();
        closing = s->stop;
        s->busy = !closing;
      }
      if (closing) {
        job->error = Closed();
        job->failed = true;
      } else {
        try {
          job->work();
        } catch (const NativeError& e) {
          job->error = e;
          job->failed = true;
        } catch (const std::exception& e) {
          job->error = NativeError{"ERR_NATIVE", 0, "", e.what()};
          job->failed = true;
        }
        std::lock_guard<std::mutex> lock(s->mu);
        s->busy = false;
      }
      Deliver(s, std::move(job), /*blocking=*/true);
    }
    s->tsfn.Release();
  }

  // Settle a job's promise on the JS thread.
  static void Deliver(const std::shared_ptr<Shared>& s, std::unique_ptr<Job> job, bool blocking) {
    Job* raw = job.release();
    auto cb = [s](Napi::Env env, Napi::Function, Job* j) {
      std::unique_ptr<Job> owned(j);
      if (env == nullptr) return;  // environment is going away
      if (--s->pending == 0) s->tsfn.Unref(env);
      if (owned->failed) {
        owned->deferred.Reject(owned->error.ToJs(env).Value());
        return;
      }
      try {
        owned->deferred.Resolve(owned->settle(env));
      } catch (const Napi::Error& e) {
        owned->deferred.Reject(e.Value());
      }
    };
    napi_status st = blocking ? s->tsfn.BlockingCall(raw, cb) : s->tsfn.NonBlockingCall(raw, cb);
    if (st != napi_ok) delete raw;  // environment gone: the result cannot reach JS
  }

  napi_env env_;
  bool join_;
  std::shared_ptr<Shared> s_;
  std::thread thread_;
  bool closed_ = false;  // JS thread only
};

}  // namespace hpcnet
