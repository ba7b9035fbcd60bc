// Lifetime of VMs and vCPUs: close order, kicks, and the KVM_RUN call itself.
#include "state.h"

#include <errno.h>
#include <signal.h>
#include <sys/ioctl.h>

namespace kvmsys {

Registry<VmState> vmRegistry;
Registry<VcpuState> vcpuRegistry;

VmState::VmState(int vmfd, size_t mmapSize) : fd(vmfd), runMmapSize(mmapSize) {}

VmState::~VmState() {
  // Every vCPU holds this VM, so they are all gone: only memslots and the fd remain.
  if (fd.BeginClose()) Shutdown();
  vmRegistry.Remove(handle);
}

void VmState::Close() {
  if (fd.BeginClose()) Shutdown();
}

void VmState::Shutdown() {
  // VM ioctls in flight (createVcpu among them) finish first, so no vCPU appears after this.
  fd.WaitIdle();
  std::vector<std::shared_ptr<VcpuState>> live;
  {
    std::lock_guard<std::mutex> l(mu);
    for (auto& w : vcpus)
      if (auto v = w.lock()) live.push_back(v);
    vcpus.clear();
  }
  for (auto& v : live) v->Close();
  int raw = fd.RawForClose();
  std::map<uint32_t, Region> gone;
  std::shared_ptr<Mapping> pin;
  {
    std::lock_guard<std::mutex> l(mu);
    gone.swap(regions);
    pin.swap(sharedInfoPin);
  }
  // The kernel must stop using host addresses before they can be unmapped.
  if (pin) kvmsys_xen_clear_shared_info_hva(raw);
  for (auto& [slot, r] : gone)
    kvmsys_set_user_memory_region(raw, slot, r.flags, r.gpa, 0,
                                  reinterpret_cast<uint64_t>(r.map->addr));
  fd.Close();
  // `gone` and `pin` drop their mappings here; JS views may keep them a little longer.
}

std::shared_ptr<Mapping> VmState::MappingAt(uint64_t hva, uint64_t len) {
  std::lock_guard<std::mutex> l(mu);
  for (auto& [slot, r] : regions) {
    uint64_t base = reinterpret_cast<uint64_t>(r.map->addr);
    if (hva >= base && len <= r.map->length && hva - base <= r.map->length - len) return r.map;
  }
  return nullptr;
}

VcpuState::VcpuState(int vcpufd, uint32_t vcpuId, std::shared_ptr<Mapping> runMap,
                     std::shared_ptr<VmState> owner)
    : fd(vcpufd), id(vcpuId), run(std::move(runMap)), vm(std::move(owner)) {}

VcpuState::~VcpuState() {
  Close();
  vcpuRegistry.Remove(handle);
}

uint32_t VcpuState::Run(Napi::Env env) {
  FdUse use(fd);
  if (use.fd() < 0) ThrowErrno(env, EBADF, "KVM_RUN", "vcpu closed");
  UnblockKickSignal();
  {
    std::lock_guard<std::mutex> l(runMu_);
    if (running_) ThrowErrno(env, EBUSY, "KVM_RUN", "vcpu already running on another thread");
    running_ = true;
    thread_ = pthread_self();
  }
  int r = ioctl(use.fd(), kvmsys_nr_run, 0UL);
  int err = errno;
  {
    std::lock_guard<std::mutex> l(runMu_);
    running_ = false;
    // A kick is consumed by the KVM_RUN it interrupted (or refused to enter).
    if (r < 0 && err == EINTR) kvmsys_run_set_immediate_exit(run->addr, 0);
  }
  if (r < 0) {
    if (err == EINTR) return kvmsys_exit_intr;
    ThrowErrno(env, err, "KVM_RUN");
  }
  return kvmsys_run_exit_reason(run->addr);
}

void VcpuState::Kick() {
  std::lock_guard<std::mutex> l(runMu_);
  // immediate_exit covers a thread about to enter KVM_RUN; the signal one already inside.
  kvmsys_run_set_immediate_exit(run->addr, 1);
  if (running_) pthread_kill(thread_, KickSignal());
}

void VcpuState::Close() {
  if (!fd.BeginClose()) return;
  Kick();
  fd.WaitIdle();
  std::shared_ptr<Mapping> pin;
  {
    std::lock_guard<std::mutex> l(pinMu);
    pin.swap(vcpuInfoPin);
  }
  if (pin) kvmsys_xen_clear_vcpu_info_hva(fd.RawForClose());
  fd.Close();
}

}  // namespace kvmsys
