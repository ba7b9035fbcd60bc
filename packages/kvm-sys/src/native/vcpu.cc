// NativeVcpu: the JS wrapper of a vCPU fd in one thread (KVM_RUN, kick, kvm_run view, ioctls).
#include <errno.h>

#include "state.h"

namespace kvmsys {

namespace {

class NativeVcpu : public Napi::ObjectWrap<NativeVcpu> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "NativeVcpu",
                       {
                           InstanceMethod<&NativeVcpu::Ioctl>("ioctl"),
                           InstanceMethod<&NativeVcpu::Run>("run"),
                           InstanceMethod<&NativeVcpu::Kick>("kick"),
                           InstanceMethod<&NativeVcpu::RunBuffer>("runBuffer"),
                           InstanceMethod<&NativeVcpu::Close>("close"),
                           InstanceAccessor<&NativeVcpu::Closed>("closed"),
                           InstanceAccessor<&NativeVcpu::Handle>("handle"),
                           InstanceAccessor<&NativeVcpu::Id>("id"),
                           InstanceAccessor<&NativeVcpu::VmHandle>("vmHandle"),
                       });
  }

  explicit NativeVcpu(const Napi::CallbackInfo& info) : Napi::ObjectWrap<NativeVcpu>(info) {
    vcpu_ = *static_cast<std::shared_ptr<VcpuState>*>(UntagExternal(info.Env(), info[0]));
  }

 private:
  Napi::Value Ioctl(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    PreparedIoctl p = PrepareIoctl(info, KVMSYS_FD_VCPU);
    FdUse use(vcpu_->fd);
    if (use.fd() < 0) ThrowErrno(env, EBADF, p.op->name, "vcpu closed");
    bool setsPin = false;
    std::shared_ptr<Mapping> pin;
    uint64_t hva = 0;
    if (p.op->check == KVMSYS_CHECK_XEN_VCPU_ATTR && kvmsys_xen_vcpu_attr_hva(p.data(), &hva)) {
      setsPin = true;
      if (hva != 0) {
        pin = vcpu_->vm->MappingAt(hva, kvmsys_vcpu_info_span);
        if (!pin) ThrowErrno(env, EFAULT, p.op->name, "vcpu_info hva is not in guest memory");
      }
    }
    int r = IssueIoctl(env, use.fd(), p);
    if (setsPin) {
      std::lock_guard<std::mutex> l(vcpu_->pinMu);
      vcpu_->vcpuInfoPin = pin;
    }
    return Napi::Number::New(env, r);
  }

  Napi::Value Run(const Napi::CallbackInfo& info) {
    return Napi::Number::New(info.Env(), vcpu_->Run(info.Env()));
  }

  Napi::Value Kick(const Napi::CallbackInfo& info) {
    vcpu_->Kick();
    return info.Env().Undefined();
  }

  // A new ArrayBuffer over this vCPU's kvm_run area, owned by this thread.
  Napi::Value RunBuffer(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (vcpu_->fd.closed()) ThrowErrno(env, EBADF, "mmap", "vcpu closed");
    return views_.Create(env, 0, vcpu_->run);
  }

  Napi::Value Close(const Napi::CallbackInfo& info) {
    vcpu_->Close();
    views_.DetachAll();
    return info.Env().Undefined();
  }

  Napi::Value Closed(const Napi::CallbackInfo& info) {
    return Napi::Boolean::New(info.Env(), vcpu_->fd.closed());
  }

  Napi::Value Handle(const Napi::CallbackInfo& info) {
    return Napi::Number::New(info.Env(), vcpu_->handle);
  }

  Napi::Value Id(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), vcpu_->id); }

  Napi::Value VmHandle(const Napi::CallbackInfo& info) {
    return Napi::Number::New(info.Env(), vcpu_->vm->handle);
  }

  std::shared_ptr<VcpuState> vcpu_;
  ViewSet views_;
};

}  // namespace

Napi::Object WrapVcpu(Napi::Env env, std::shared_ptr<VcpuState> vcpu) {
  return Data(env).vcpuCtor.New({TaggedExternal(env, &vcpu)});
}

Napi::Object InitVcpu(Napi::Env env, Napi::Object exports) {
  Data(env).vcpuCtor = Napi::Persistent(NativeVcpu::Define(env));
  exports.Set("attachVcpu", Napi::Function::New(env, [](const Napi::CallbackInfo& info) {
                Napi::Env env = info.Env();
                auto vcpu = vcpuRegistry.Get(ToU32(env, info[0], "handle must be a u32"));
                if (!vcpu || vcpu->fd.closed())
                  ThrowErrno(env, EBADF, "attachVcpu", "no open vCPU with that handle");
                return Napi::Value(WrapVcpu(env, vcpu));
              }));
  return exports;
}

}  // namespace kvmsys
