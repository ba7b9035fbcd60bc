// NativeEventFd: an eventfd(2) for irqfd, ioeventfd and Xen EVTCHN eventfd delivery, and a watch
// that runs a JS callback on this thread's event loop when the kernel signals it.
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/eventfd.h>
#include <unistd.h>
#include <uv.h>

#include <mutex>

#include "common.h"

namespace kvmsys {

namespace {

class NativeEventFd : public Napi::ObjectWrap<NativeEventFd> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "NativeEventFd",
                       {
                           InstanceMethod<&NativeEventFd::Read>("read"),
                           InstanceMethod<&NativeEventFd::Write>("write"),
                           InstanceMethod<&NativeEventFd::Close>("close"),
                           InstanceMethod<&NativeEventFd::Watch>("watch"),
                           InstanceMethod<&NativeEventFd::Unwatch>("unwatch"),
                           InstanceAccessor<&NativeEventFd::Fd>("fd"),
                           InstanceAccessor<&NativeEventFd::Watching>("watching"),
                       });
  }

  explicit NativeEventFd(const Napi::CallbackInfo& info) : Napi::ObjectWrap<NativeEventFd>(info) {
    fd_ = std::make_unique<FdGuard>(*static_cast<int*>(UntagExternal(info.Env(), info[0])));
  }

  // Never collected while watched (the watch holds a reference), so only an environment torn
  // down under a watch gets here with one; its cleanup hook has stopped it by then.
  ~NativeEventFd() override { StopPoll(); }

 private:
  // The counter as a bigint, or null when it is 0 on a non-blocking eventfd.
  Napi::Value Read(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    FdUse use(*fd_);
    if (use.fd() < 0) ThrowErrno(env, EBADF, "read", "eventfd closed");
    uint64_t v = 0;
    ssize_t n;
    do {
      n = ::read(use.fd(), &v, sizeof(v));
    } while (n < 0 && errno == EINTR);
    if (n < 0) {
      if (errno == EAGAIN) return env.Null();
      ThrowErrno(env, errno, "read");
    }
    return Napi::BigInt::New(env, v);
  }

  Napi::Value Write(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    uint64_t v = ToU64(env, info[0], "eventfd value must be a u64");
    FdUse use(*fd_);
    if (use.fd() < 0) ThrowErrno(env, EBADF, "write", "eventfd closed");
    ssize_t n;
    do {
      n = ::write(use.fd(), &v, sizeof(v));
    } while (n < 0 && errno == EINTR);
    if (n < 0) ThrowErrno(env, errno, "write");
    return env.Undefined();
  }

  Napi::Value Close(const Napi::CallbackInfo& info) {
    // The poll leaves epoll before the number can be reused.
    StopWatch();
    fd_->BeginClose();
    fd_->WaitIdle();
    fd_->Close();
    return info.Env().Undefined();
  }

  Napi::Value Fd(const Napi::CallbackInfo& info) {
    FdUse use(*fd_);
    return Napi::Number::New(info.Env(), use.fd());
  }

  // watch(callback): a uv_poll_t on the fd. The callback gets the poll's status (0, or a negative
  // libuv errno) and must read the counter, or the level-triggered poll fires again at once.
  // The handle is unref'd: a watch alone does not keep the process alive, as with an unref'd
  // timer; the VMM's own handles do.
  Napi::Value Watch(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!info[0].IsFunction()) ThrowType(env, "watch callback must be a function");
    if (poll_ != nullptr) ThrowErrno(env, EBUSY, "watch", "this eventfd is already watched");
    FdUse use(*fd_);
    if (use.fd() < 0) ThrowErrno(env, EBADF, "watch", "eventfd closed");
    int fl = fcntl(use.fd(), F_GETFL);
    if (fl < 0) ThrowErrno(env, errno, "fcntl");
    // A read after a readiness that another reader already took would block the loop.
    if (!(fl & O_NONBLOCK)) ThrowErrno(env, EINVAL, "watch", "a blocking eventfd cannot be watched");
    uv_loop_t* loop = nullptr;
    if (napi_get_uv_event_loop(env, &loop) != napi_ok || loop == nullptr)
      ThrowErrno(env, ENOSYS, "watch", "no libuv loop on this thread");
    auto* poll = new uv_poll_t;
    int rc = uv_poll_init(loop, poll, use.fd());
    if (rc < 0) {
      delete poll;
      ThrowErrno(env, -rc, "uv_poll_init");
    }
    poll->data = this;
    rc = uv_poll_start(poll, UV_READABLE, OnReadable);
    if (rc < 0) {
      uv_close(reinterpret_cast<uv_handle_t*>(poll), FreePoll);
      ThrowErrno(env, -rc, "uv_poll_start");
    }
    uv_unref(reinterpret_cast<uv_handle_t*>(poll));
    poll_ = poll;
    callback_ = Napi::Persistent(info[0].As<Napi::Function>());
    context_ = std::make_unique<Napi::AsyncContext>(env, "EventFdWatch");
    Ref();
    napi_add_env_cleanup_hook(env, OnEnvCleanup, this);
    return env.Undefined();
  }

  Napi::Value Unwatch(const Napi::CallbackInfo& info) {
    StopWatch();
    return info.Env().Undefined();
  }

  Napi::Value Watching(const Napi::CallbackInfo& info) {
    return Napi::Boolean::New(info.Env(), poll_ != nullptr);
  }

  static void OnReadable(uv_poll_t* poll, int status, int /*events*/) {
    auto* self = static_cast<NativeEventFd*>(poll->data);
    if (self == nullptr || self->poll_ != poll) return;
    Napi::Env env = self->Env();
    Napi::HandleScope scope(env);
    try {
      // MakeCallback, as Node's own handles do: async hooks see it and microtasks run after it.
      // The callback may unwatch or close: nothing here touches self afterwards.
      self->callback_.MakeCallback(self->Value(), {Napi::Number::New(env, status)}, *self->context_);
    } catch (const Napi::Error& e) {
      // An exception in the callback is the process's uncaught exception, as from a socket's.
      napi_fatal_exception(env, e.Value());
    }
  }

  static void FreePoll(uv_handle_t* h) { delete reinterpret_cast<uv_poll_t*>(h); }

  static void OnEnvCleanup(void* arg) { static_cast<NativeEventFd*>(arg)->StopWatch(); }

  // Stops the poll and closes its handle (freed on the loop's next turn).
  void StopPoll() {
    if (poll_ == nullptr) return;
    poll_->data = nullptr;
    uv_poll_stop(poll_);
    uv_close(reinterpret_cast<uv_handle_t*>(poll_), FreePoll);
    poll_ = nullptr;
  }

  // Ends a watch: the poll, the callback and the reference that kept this object alive.
  void StopWatch() {
    if (poll_ == nullptr) return;
    StopPoll();
    napi_remove_env_cleanup_hook(Env(), OnEnvCleanup, this);
    callback_.Reset();
    context_.reset();
    Unref();
  }

  std::unique_ptr<FdGuard> fd_;
  uv_poll_t* poll_ = nullptr;
  Napi::FunctionReference callback_;
  std::unique_ptr<Napi::AsyncContext> context_;
};

}  // namespace

// libuv runs a closed watch's FreePoll on the loop's next turn, and a worker's last turn comes
// after Node has unloaded the addons that worker was the last to hold: pin this one in memory.
static void PinAddon() {
  static std::once_flag once;
  std::call_once(once, [] {
    Dl_info self;
    if (dladdr(reinterpret_cast<void*>(&PinAddon), &self) != 0 && self.dli_fname != nullptr)
      dlopen(self.dli_fname, RTLD_NOW | RTLD_NOLOAD | RTLD_NODELETE);
  });
}

Napi::Object InitEventFd(Napi::Env env, Napi::Object exports) {
  PinAddon();
  Data(env).eventFdCtor = Napi::Persistent(NativeEventFd::Define(env));
  // (initval, nonBlocking, semaphore) -> NativeEventFd
  exports.Set("createEventFd", Napi::Function::New(env, [](const Napi::CallbackInfo& info) {
                Napi::Env env = info.Env();
                uint32_t init = ToU32(env, info[0], "initval must be a u32");
                int flags = EFD_CLOEXEC;
                if (info[1].ToBoolean()) flags |= EFD_NONBLOCK;
                if (info[2].ToBoolean()) flags |= EFD_SEMAPHORE;
                int fd = eventfd(init, flags);
                if (fd < 0) ThrowErrno(env, errno, "eventfd");
                try {
                  return Napi::Value(Data(env).eventFdCtor.New({TaggedExternal(env, &fd)}));
                } catch (...) {
                  ::close(fd);
                  throw;
                }
              }));
  return exports;
}

}  // namespace kvmsys
