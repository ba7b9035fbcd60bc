// NativeEventFd: an eventfd(2) for irqfd, ioeventfd and Xen EVTCHN eventfd delivery.
#include <errno.h>
#include <sys/eventfd.h>
#include <unistd.h>

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
                           InstanceAccessor<&NativeEventFd::Fd>("fd"),
                       });
  }

  explicit NativeEventFd(const Napi::CallbackInfo& info) : Napi::ObjectWrap<NativeEventFd>(info) {
    fd_ = std::make_unique<FdGuard>(*static_cast<int*>(UntagExternal(info.Env(), info[0])));
  }

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
    fd_->BeginClose();
    fd_->WaitIdle();
    fd_->Close();
    return info.Env().Undefined();
  }

  Napi::Value Fd(const Napi::CallbackInfo& info) {
    FdUse use(*fd_);
    return Napi::Number::New(info.Env(), use.fd());
  }

  std::unique_ptr<FdGuard> fd_;
};

}  // namespace

Napi::Object InitEventFd(Napi::Env env, Napi::Object exports) {
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
