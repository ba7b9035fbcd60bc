// Shared pieces of the C++ glue: errors, fd lifetime, guest mappings, ArrayBuffer views and
// the generic ioctl path. Struct layouts are never computed here: see uapi.h.
#ifndef KVMSYS_COMMON_H
#define KVMSYS_COMMON_H

#include <napi.h>
#include <pthread.h>

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <unordered_map>
#include <vector>

#include "uapi.h"

namespace kvmsys {

// The largest ArrayBuffer this Node can make over external memory (buffer.constants.MAX_LENGTH;
// set from JS). Past it Node frees the finalizer data itself and node-addon-api frees it again.
extern std::atomic<uint64_t> maxBufferLength;

// Per-environment (main thread or worker) state: JS constructors and the error factory.
struct InstanceData {
  Napi::FunctionReference makeError;  // (errno, syscall, detail) => KvmError
  Napi::FunctionReference kvmCtor;
  Napi::FunctionReference vmCtor;
  Napi::FunctionReference vcpuCtor;
  Napi::FunctionReference eventFdCtor;
};

InstanceData& Data(Napi::Env env);

// Throws the JS error the factory builds for errno `err` from `syscall`.
[[noreturn]] void ThrowErrno(Napi::Env env, int err, const char* syscall, const char* detail = nullptr);
// Throws a TypeError for a bad argument (a programming error, not a kernel one).
[[noreturn]] void ThrowType(Napi::Env env, const char* message);

// Reads a u64 from a JS number or bigint; throws TypeError when it is neither or out of range.
uint64_t ToU64(Napi::Env env, Napi::Value v, const char* what);
uint32_t ToU32(Napi::Env env, Napi::Value v, const char* what);

// The bytes behind a Uint8Array (or any TypedArray / DataView / ArrayBuffer) argument.
struct Bytes {
  uint8_t* data = nullptr;
  size_t length = 0;
};
Bytes ToBytes(Napi::Env env, Napi::Value v, const char* what);

// A file descriptor shared by threads: ioctls take a use count, close waits until no ioctl
// is in flight so that the number is never reused under a running ioctl.
class FdGuard {
 public:
  explicit FdGuard(int fd) : fd_(fd) {}
  ~FdGuard();
  FdGuard(const FdGuard&) = delete;
  FdGuard& operator=(const FdGuard&) = delete;

  // The fd with a use taken, or -1 when closed.
  int Acquire();
  void Release();
  // Refuses new uses; returns false if it was already closing.
  bool BeginClose();
  // Waits until the uses taken before BeginClose are released.
  void WaitIdle();
  // The fd for the closer's own last ioctls (after WaitIdle), then close(2).
  int RawForClose() const { return fd_; }
  void Close();
  bool closed();

 private:
  std::mutex mu_;
  std::condition_variable idle_;
  int fd_;
  int users_ = 0;
  bool closing_ = false;
};

// A use of an FdGuard for the length of one ioctl.
class FdUse {
 public:
  explicit FdUse(FdGuard& g) : g_(g), fd_(g.Acquire()) {}
  ~FdUse() {
    if (fd_ >= 0) g_.Release();
  }
  FdUse(const FdUse&) = delete;
  FdUse& operator=(const FdUse&) = delete;
  int fd() const { return fd_; }

 private:
  FdGuard& g_;
  int fd_;
};

// An mmap'd range, unmapped when the last owner (region, kvm_run, or a JS view) lets go.
struct Mapping {
  Mapping(void* a, size_t l) : addr(a), length(l) {}
  ~Mapping();
  Mapping(const Mapping&) = delete;
  Mapping& operator=(const Mapping&) = delete;
  void* addr;
  size_t length;
};

// The ArrayBuffers one JS wrapper handed out over mappings. Detaching drops the buffer's hold
// on the mapping at once; a buffer that is only collected drops it in its finalizer.
class ViewSet {
 public:
  Napi::ArrayBuffer Create(Napi::Env env, uint32_t key, std::shared_ptr<Mapping> map);
  void Detach(uint32_t key);
  void DetachAll();
  // Detaches the views whose mapping `live` no longer accepts (a region removed elsewhere).
  template <typename Pred>
  void DetachStale(Pred live) {
    for (auto it = views_.begin(); it != views_.end();) {
      Napi::ArrayBuffer ab = it->ref.Value();
      if (ab.IsEmpty() || ab.IsDetached()) {
        it = views_.erase(it);
      } else if (!live(it->key, it->holder->map.get())) {
        ab.Detach();
        it->holder->map.reset();
        it = views_.erase(it);
      } else {
        ++it;
      }
    }
  }

 private:
  struct Holder {
    std::shared_ptr<Mapping> map;
  };
  struct View {
    uint32_t key;
    Napi::Reference<Napi::ArrayBuffer> ref;
    Holder* holder;
  };
  void Prune();
  std::vector<View> views_;
};

// Process-wide table of live objects by handle, so that a worker thread can attach to a VM or
// vCPU created elsewhere. It holds weak references: it never keeps an object alive.
template <typename T>
class Registry {
 public:
  uint32_t Add(const std::shared_ptr<T>& p) {
    std::lock_guard<std::mutex> l(mu_);
    uint32_t h = next_++;
    map_[h] = p;
    return h;
  }
  void Remove(uint32_t h) {
    std::lock_guard<std::mutex> l(mu_);
    map_.erase(h);
  }
  std::shared_ptr<T> Get(uint32_t h) {
    std::lock_guard<std::mutex> l(mu_);
    auto it = map_.find(h);
    return it == map_.end() ? nullptr : it->second.lock();
  }

 private:
  std::mutex mu_;
  std::unordered_map<uint32_t, std::weak_ptr<T>> map_;
  uint32_t next_ = 1;
};

// One ioctl from the uapi.c table with its argument decoded from JS. Struct arguments are
// copied and checked in a private buffer (a SharedArrayBuffer could change under us), handed
// to the kernel, and copied back.
struct PreparedIoctl {
  const kvmsys_ioctl* op = nullptr;
  unsigned long value = 0;     // ARG_VALUE
  Bytes js;                    // ARG_STRUCT / ARG_ARRAY: the caller's bytes
  std::vector<uint8_t> local;  // the copy the kernel sees
  uint8_t* data() { return local.data(); }
};

// Decodes (opIndex, arg) and checks that the op belongs to this fd kind and that the buffer
// holds the whole struct, or the header plus every entry its count names.
PreparedIoctl PrepareIoctl(const Napi::CallbackInfo& info, kvmsys_fd_kind kind);
// Issues it on fd; returns the ioctl's non-negative result or throws a KvmError.
int IssueIoctl(Napi::Env env, int fd, PreparedIoctl& p);

// The signal that kicks a vCPU thread out of KVM_RUN (a no-op handler without SA_RESTART).
int KickSignal();
void InstallKickSignal();
// Makes sure the kick signal is not blocked in the calling thread.
void UnblockKickSignal();

// Type tag of the externals that carry native state into wrapper constructors.
extern const napi_type_tag kStateTag;
Napi::External<void> TaggedExternal(Napi::Env env, void* p);
void* UntagExternal(Napi::Env env, Napi::Value v);

Napi::Object InitSystem(Napi::Env env, Napi::Object exports);
Napi::Object InitVm(Napi::Env env, Napi::Object exports);
Napi::Object InitVcpu(Napi::Env env, Napi::Object exports);
Napi::Object InitEventFd(Napi::Env env, Napi::Object exports);

}  // namespace kvmsys

#endif
