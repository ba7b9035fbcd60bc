// The kernel objects behind the JS wrappers, shared by every thread that attached to them.
//
// Ownership: JS wrappers hold shared_ptrs. A vCPU holds its VM (the guest memory must outlive
// every vCPU that can run on it); a VM holds its vCPUs weakly, only to close them. Closing is
// explicit (close()) or happens when the last holder lets go.
#ifndef KVMSYS_STATE_H
#define KVMSYS_STATE_H

#include <map>

#include "common.h"

namespace kvmsys {

class VcpuState;

// One guest memory slot: an anonymous mapping the addon owns.
struct Region {
  uint32_t slot;
  uint32_t flags;
  uint64_t gpa;
  std::shared_ptr<Mapping> map;
};

class VmState {
 public:
  VmState(int fd, size_t runMmapSize);
  ~VmState();

  // Closes the vCPUs, deletes every memslot, closes the fd. Idempotent; any thread.
  void Close();
  // The mapping that holds [hva, hva + len), if a region of this VM does.
  std::shared_ptr<Mapping> MappingAt(uint64_t hva, uint64_t len);

  FdGuard fd;
  const size_t runMmapSize;
  uint32_t handle = 0;

  std::mutex mu;  // guards everything below
  std::map<uint32_t, Region> regions;
  std::vector<std::weak_ptr<VcpuState>> vcpus;
  // KVM writes through a SHARED_INFO_HVA directly: keep that mapping while it is set.
  std::shared_ptr<Mapping> sharedInfoPin;

 private:
  void Shutdown();
};

class VcpuState {
 public:
  VcpuState(int fd, uint32_t id, std::shared_ptr<Mapping> run, std::shared_ptr<VmState> vm);
  ~VcpuState();

  // KVM_RUN on the calling thread; returns the exit reason (KVM_EXIT_INTR when kicked).
  uint32_t Run(Napi::Env env);
  // Sets immediate_exit and signals the thread inside KVM_RUN, if any. Any thread.
  void Kick();
  // Kicks, waits for a running KVM_RUN to return, closes the fd. Idempotent; any thread.
  void Close();

  FdGuard fd;
  const uint32_t id;
  const std::shared_ptr<Mapping> run;
  const std::shared_ptr<VmState> vm;
  uint32_t handle = 0;

  std::mutex pinMu;
  // KVM writes through a VCPU_INFO_HVA directly: keep that mapping while it is set.
  std::shared_ptr<Mapping> vcpuInfoPin;

 private:
  std::mutex runMu_;
  bool running_ = false;
  pthread_t thread_{};
};

extern Registry<VmState> vmRegistry;
extern Registry<VcpuState> vcpuRegistry;

// Wrap state into this environment's JS classes.
Napi::Object WrapVm(Napi::Env env, std::shared_ptr<VmState> vm);
Napi::Object WrapVcpu(Napi::Env env, std::shared_ptr<VcpuState> vcpu);

}  // namespace kvmsys

#endif
