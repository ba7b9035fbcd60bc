// NativeVm: the JS wrapper of a VM fd in one thread (memory regions, vCPUs, VM ioctls).
#include <errno.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "state.h"

namespace kvmsys {

namespace {

constexpr uint64_t kPage = 4096;
// Guest physical addresses above 2^52 do not exist on x86-64.
constexpr uint64_t kMaxGpa = 1ULL << 52;

class NativeVm : public Napi::ObjectWrap<NativeVm> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "NativeVm",
                       {
                           InstanceMethod<&NativeVm::Ioctl>("ioctl"),
                           InstanceMethod<&NativeVm::CreateVcpu>("createVcpu"),
                           InstanceMethod<&NativeVm::AddMemoryRegion>("addMemoryRegion"),
                           InstanceMethod<&NativeVm::RemoveMemoryRegion>("removeMemoryRegion"),
                           InstanceMethod<&NativeVm::RegionBuffer>("regionBuffer"),
                           InstanceMethod<&NativeVm::Regions>("regions"),
                           InstanceMethod<&NativeVm::Close>("close"),
                           InstanceAccessor<&NativeVm::Closed>("closed"),
                           InstanceAccessor<&NativeVm::Handle>("handle"),
                       });
  }

  explicit NativeVm(const Napi::CallbackInfo& info) : Napi::ObjectWrap<NativeVm>(info) {
    vm_ = *static_cast<std::shared_ptr<VmState>*>(UntagExternal(info.Env(), info[0]));
  }

 private:
  Napi::Value Ioctl(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    PreparedIoctl p = PrepareIoctl(info, KVMSYS_FD_VM);
    FdUse use(vm_->fd);
    if (use.fd() < 0) ThrowErrno(env, EBADF, p.op->name, "vm closed");
    bool setsPin = false;
    std::shared_ptr<Mapping> pin;
    if (p.op->check == KVMSYS_CHECK_XEN_HVM_CONFIG && kvmsys_xen_hvm_config_has_blob(p.data()))
      ThrowErrno(env, EINVAL, p.op->name, "hypercall page blobs are not supported");
    uint64_t hva = 0;
    if (p.op->check == KVMSYS_CHECK_XEN_HVM_ATTR && kvmsys_xen_hvm_attr_hva(p.data(), &hva)) {
      setsPin = true;
      if (hva != 0) {
        pin = vm_->MappingAt(hva, kvmsys_shared_info_span);
        if (!pin) ThrowErrno(env, EFAULT, p.op->name, "shared_info hva is not in guest memory");
      }
    }
    int r = IssueIoctl(env, use.fd(), p);
    if (setsPin) {
      std::lock_guard<std::mutex> l(vm_->mu);
      vm_->sharedInfoPin = pin;
    }
    return Napi::Number::New(env, r);
  }

  Napi::Value CreateVcpu(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    uint32_t id = ToU32(env, info[0], "vcpu id must be a u32");
    std::shared_ptr<VcpuState> vcpu;
    {
      FdUse use(vm_->fd);
      if (use.fd() < 0) ThrowErrno(env, EBADF, "KVM_CREATE_VCPU", "vm closed");
      int vcpufd = ioctl(use.fd(), kvmsys_nr_create_vcpu, static_cast<unsigned long>(id));
      if (vcpufd < 0) ThrowErrno(env, errno, "KVM_CREATE_VCPU");
      void* run = mmap(nullptr, vm_->runMmapSize, PROT_READ | PROT_WRITE, MAP_SHARED, vcpufd, 0);
      if (run == MAP_FAILED) {
        int err = errno;
        ::close(vcpufd);
        ThrowErrno(env, err, "mmap", "kvm_run");
      }
      auto map = std::make_shared<Mapping>(run, vm_->runMmapSize);
      vcpu = std::make_shared<VcpuState>(vcpufd, id, map, vm_);
      vcpu->handle = vcpuRegistry.Add(vcpu);
      std::lock_guard<std::mutex> l(vm_->mu);
      vm_->vcpus.push_back(vcpu);
    }
    return WrapVcpu(env, vcpu);
  }

  // (slot, guestPhysAddr, size, flags) -> host virtual address (bigint)
  Napi::Value AddMemoryRegion(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    uint32_t slot = ToU32(env, info[0], "slot must be a u32");
    uint64_t gpa = ToU64(env, info[1], "guestPhysAddr must be a u64");
    uint64_t size = ToU64(env, info[2], "size must be a u64");
    uint32_t flags = ToU32(env, info[3], "flags must be a u32");
    if (size == 0 || size % kPage || gpa % kPage || gpa >= kMaxGpa || size > kMaxGpa - gpa)
      ThrowErrno(env, EINVAL, "KVM_SET_USER_MEMORY_REGION",
                 "size and guestPhysAddr must be page-aligned, size > 0, inside 2^52");
    // Guest memory is only useful with a buffer over it: one region, one ArrayBuffer.
    if (size > maxBufferLength.load())
      ThrowErrno(env, EFBIG, "KVM_SET_USER_MEMORY_REGION",
                 "region larger than the largest ArrayBuffer: split it into several regions");
    FdUse use(vm_->fd);
    if (use.fd() < 0) ThrowErrno(env, EBADF, "KVM_SET_USER_MEMORY_REGION", "vm closed");
    std::lock_guard<std::mutex> l(vm_->mu);
    if (vm_->regions.count(slot))
      ThrowErrno(env, EEXIST, "KVM_SET_USER_MEMORY_REGION", "slot already holds a region");
    void* mem = mmap(nullptr, size, PROT_READ | PROT_WRITE,
                     MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (mem == MAP_FAILED) ThrowErrno(env, errno, "mmap", "guest memory");
    auto map = std::make_shared<Mapping>(mem, size);
    // A forked child (child_process) must not share or copy guest RAM.
    madvise(mem, size, MADV_DONTFORK);
    uint64_t hva = reinterpret_cast<uint64_t>(mem);
    if (kvmsys_set_user_memory_region(use.fd(), slot, flags, gpa, size, hva) < 0)
      ThrowErrno(env, errno, "KVM_SET_USER_MEMORY_REGION");  // `map` unmaps on the way out
    vm_->regions[slot] = Region{slot, flags, gpa, map};
    return Napi::BigInt::New(env, hva);
  }

  Napi::Value RemoveMemoryRegion(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    uint32_t slot = ToU32(env, info[0], "slot must be a u32");
    {
      FdUse use(vm_->fd);
      if (use.fd() < 0) ThrowErrno(env, EBADF, "KVM_SET_USER_MEMORY_REGION", "vm closed");
      std::lock_guard<std::mutex> l(vm_->mu);
      auto it = vm_->regions.find(slot);
      if (it == vm_->regions.end())
        ThrowErrno(env, ENOENT, "KVM_SET_USER_MEMORY_REGION", "no region in that slot");
      Region& r = it->second;
      // Order matters: the kernel lets go of the memory, then JS, then munmap.
      if (kvmsys_set_user_memory_region(use.fd(), slot, r.flags, r.gpa, 0,
                                        reinterpret_cast<uint64_t>(r.map->addr)) < 0)
        ThrowErrno(env, errno, "KVM_SET_USER_MEMORY_REGION");
      vm_->regions.erase(it);
    }
    views_.Detach(slot);
    return env.Undefined();
  }

  // A new ArrayBuffer over the region in `slot`, owned by this thread.
  Napi::Value RegionBuffer(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    uint32_t slot = ToU32(env, info[0], "slot must be a u32");
    SyncViews();
    std::shared_ptr<Mapping> map;
    {
      std::lock_guard<std::mutex> l(vm_->mu);
      auto it = vm_->regions.find(slot);
      if (it == vm_->regions.end()) ThrowErrno(env, ENOENT, "regionBuffer", "no region in that slot");
      map = it->second.map;
    }
    return views_.Create(env, slot, map);
  }

  // [{ slot, flags, guestPhysAddr, size, hostAddress }]
  Napi::Value Regions(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    SyncViews();
    Napi::Array out = Napi::Array::New(env);
    std::lock_guard<std::mutex> l(vm_->mu);
    uint32_t i = 0;
    for (auto& [slot, r] : vm_->regions) {
      Napi::Object o = Napi::Object::New(env);
      o.Set("slot", Napi::Number::New(env, slot));
      o.Set("flags", Napi::Number::New(env, r.flags));
      o.Set("guestPhysAddr", Napi::BigInt::New(env, r.gpa));
      o.Set("size", Napi::Number::New(env, static_cast<double>(r.map->length)));
      o.Set("hostAddress", Napi::BigInt::New(env, reinterpret_cast<uint64_t>(r.map->addr)));
      out.Set(i++, o);
    }
    return out;
  }

  Napi::Value Close(const Napi::CallbackInfo& info) {
    vm_->Close();
    views_.DetachAll();
    return info.Env().Undefined();
  }

  Napi::Value Closed(const Napi::CallbackInfo& info) {
    return Napi::Boolean::New(info.Env(), vm_->fd.closed());
  }

  Napi::Value Handle(const Napi::CallbackInfo& info) {
    return Napi::Number::New(info.Env(), vm_->handle);
  }

  // Views of regions that another thread removed (or a closed VM) are detached here.
  void SyncViews() {
    std::lock_guard<std::mutex> l(vm_->mu);
    views_.DetachStale([this](uint32_t slot, const Mapping* m) {
      auto it = vm_->regions.find(slot);
      return it != vm_->regions.end() && it->second.map.get() == m;
    });
  }

  std::shared_ptr<VmState> vm_;
  ViewSet views_;
};

}  // namespace

Napi::Object WrapVm(Napi::Env env, std::shared_ptr<VmState> vm) {
  return Data(env).vmCtor.New({TaggedExternal(env, &vm)});
}

Napi::Object InitVm(Napi::Env env, Napi::Object exports) {
  Data(env).vmCtor = Napi::Persistent(NativeVm::Define(env));
  exports.Set("attachVm", Napi::Function::New(env, [](const Napi::CallbackInfo& info) {
                Napi::Env env = info.Env();
                auto vm = vmRegistry.Get(ToU32(env, info[0], "handle must be a u32"));
                if (!vm || vm->fd.closed()) ThrowErrno(env, EBADF, "attachVm", "no open VM with that handle");
                return Napi::Value(WrapVm(env, vm));
              }));
  return exports;
}

}  // namespace kvmsys
