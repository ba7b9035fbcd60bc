// NativeKvm: the JS wrapper of an open /dev/kvm (system ioctls, KVM_CREATE_VM).
#include <errno.h>
#include <fcntl.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <string>

#include "state.h"

namespace kvmsys {

namespace {

class NativeKvm : public Napi::ObjectWrap<NativeKvm> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "NativeKvm",
                       {
                           InstanceMethod<&NativeKvm::Ioctl>("ioctl"),
                           InstanceMethod<&NativeKvm::CreateVm>("createVm"),
                           InstanceMethod<&NativeKvm::Close>("close"),
                           InstanceAccessor<&NativeKvm::Closed>("closed"),
                       });
  }

  explicit NativeKvm(const Napi::CallbackInfo& info) : Napi::ObjectWrap<NativeKvm>(info) {
    fd_ = std::make_unique<FdGuard>(*static_cast<int*>(UntagExternal(info.Env(), info[0])));
  }

 private:
  Napi::Value Ioctl(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    PreparedIoctl p = PrepareIoctl(info, KVMSYS_FD_SYSTEM);
    FdUse use(*fd_);
    if (use.fd() < 0) ThrowErrno(env, EBADF, p.op->name, "kvm closed");
    return Napi::Number::New(env, IssueIoctl(env, use.fd(), p));
  }

  // (type) -> NativeVm
  Napi::Value CreateVm(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    unsigned long type = ToU32(env, info[0], "vm type must be a u32");
    FdUse use(*fd_);
    if (use.fd() < 0) ThrowErrno(env, EBADF, "KVM_CREATE_VM", "kvm closed");
    int vmfd;
    do {
      vmfd = ioctl(use.fd(), kvmsys_nr_create_vm, type);
    } while (vmfd < 0 && errno == EINTR);
    if (vmfd < 0) ThrowErrno(env, errno, "KVM_CREATE_VM");
    int size = ioctl(use.fd(), kvmsys_nr_get_vcpu_mmap_size, 0UL);
    if (size <= 0) {
      int err = size < 0 ? errno : EINVAL;
      ::close(vmfd);
      ThrowErrno(env, err, "KVM_GET_VCPU_MMAP_SIZE");
    }
    auto vm = std::make_shared<VmState>(vmfd, static_cast<size_t>(size));
    vm->handle = vmRegistry.Add(vm);
    return WrapVm(env, vm);
  }

  Napi::Value Close(const Napi::CallbackInfo& info) {
    fd_->BeginClose();
    fd_->WaitIdle();
    fd_->Close();
    return info.Env().Undefined();
  }

  Napi::Value Closed(const Napi::CallbackInfo& info) {
    return Napi::Boolean::New(info.Env(), fd_->closed());
  }

  std::unique_ptr<FdGuard> fd_;
};

}  // namespace

Napi::Object InitSystem(Napi::Env env, Napi::Object exports) {
  Data(env).kvmCtor = Napi::Persistent(NativeKvm::Define(env));
  exports.Set("openKvm", Napi::Function::New(env, [](const Napi::CallbackInfo& info) {
                Napi::Env env = info.Env();
                if (!info[0].IsString()) ThrowType(env, "path must be a string");
                std::string path = info[0].As<Napi::String>();
                // open(2) would stop at an embedded NUL and open a different file.
                if (path.empty() || path.find('\0') != std::string::npos)
                  ThrowErrno(env, EINVAL, "open", "the path is empty or holds a NUL byte");
                int fd = open(path.c_str(), O_RDWR | O_CLOEXEC);
                if (fd < 0) ThrowErrno(env, errno, "open", path.c_str());
                try {
                  return Napi::Value(Data(env).kvmCtor.New({TaggedExternal(env, &fd)}));
                } catch (...) {
                  ::close(fd);
                  throw;
                }
              }));
  return exports;
}

}  // namespace kvmsys
