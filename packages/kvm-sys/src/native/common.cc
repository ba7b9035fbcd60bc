// Errors, fd guard, mappings, views and the generic ioctl path shared by every fd type.
#include "common.h"

#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cmath>
#include <cstring>
#include <mutex>

namespace kvmsys {

InstanceData& Data(Napi::Env env) { return *env.GetInstanceData<InstanceData>(); }

void ThrowErrno(Napi::Env env, int err, const char* syscall, const char* detail) {
  InstanceData& d = Data(env);
  if (!d.makeError.IsEmpty()) {
    Napi::Value args[] = {Napi::Number::New(env, err), Napi::String::New(env, syscall),
                          detail ? Napi::String::New(env, detail) : env.Undefined()};
    Napi::Value e = d.makeError.Call({args[0], args[1], args[2]});
    throw Napi::Error(env, e);
  }
  Napi::Error e = Napi::Error::New(env, std::string(syscall) + ": " + strerror(err));
  e.Set("errno", Napi::Number::New(env, err));
  e.Set("syscall", Napi::String::New(env, syscall));
  throw e;
}

// A bad argument reaching the addon is still kvm-sys's one error type: KvmError EINVAL. (The
// TypeScript layer checks first and names the ioctl; this is the backstop for direct callers.)
void ThrowType(Napi::Env env, const char* message) { ThrowErrno(env, EINVAL, "addon", message); }

uint64_t ToU64(Napi::Env env, Napi::Value v, const char* what) {
  if (v.IsBigInt()) {
    bool lossless = false;
    uint64_t x = v.As<Napi::BigInt>().Uint64Value(&lossless);
    if (!lossless) ThrowType(env, what);
    return x;
  }
  if (v.IsNumber()) {
    double d = v.As<Napi::Number>().DoubleValue();
    if (!(d >= 0) || d > 9007199254740991.0 || std::floor(d) != d) ThrowType(env, what);
    return static_cast<uint64_t>(d);
  }
  ThrowType(env, what);
}

uint32_t ToU32(Napi::Env env, Napi::Value v, const char* what) {
  uint64_t x = ToU64(env, v, what);
  if (x > 0xffffffffu) ThrowType(env, what);
  return static_cast<uint32_t>(x);
}

Bytes ToBytes(Napi::Env env, Napi::Value v, const char* what) {
  Bytes b;
  // The views' own info calls give the data pointer for any backing store. Going through
  // ArrayBuffer().Data() instead fails for a SharedArrayBuffer (napi_get_arraybuffer_info takes
  // only plain ArrayBuffers), and the callers copy the bytes anyway.
  if (v.IsTypedArray()) {
    napi_typedarray_type type;
    size_t count = 0;
    void* data = nullptr;
    if (napi_get_typedarray_info(env, v, &type, &count, &data, nullptr, nullptr) != napi_ok)
      ThrowType(env, what);
    b.data = static_cast<uint8_t*>(data);
    b.length = v.As<Napi::TypedArray>().ByteLength();
  } else if (v.IsDataView()) {
    size_t length = 0;
    void* data = nullptr;
    if (napi_get_dataview_info(env, v, &length, &data, nullptr, nullptr) != napi_ok)
      ThrowType(env, what);
    b.data = static_cast<uint8_t*>(data);
    b.length = length;
  } else if (v.IsArrayBuffer()) {
    Napi::ArrayBuffer ab = v.As<Napi::ArrayBuffer>();
    b.data = static_cast<uint8_t*>(ab.Data());
    b.length = ab.ByteLength();
  } else {
    ThrowType(env, what);
  }
  if (b.data == nullptr) b.length = 0;  // detached
  return b;
}

FdGuard::~FdGuard() {
  if (fd_ >= 0) ::close(fd_);
}

int FdGuard::Acquire() {
  std::lock_guard<std::mutex> l(mu_);
  if (closing_ || fd_ < 0) return -1;
  users_++;
  return fd_;
}

void FdGuard::Release() {
  std::lock_guard<std::mutex> l(mu_);
  if (--users_ == 0 && closing_) idle_.notify_all();
}

bool FdGuard::BeginClose() {
  std::lock_guard<std::mutex> l(mu_);
  if (closing_) return false;
  closing_ = true;
  return true;
}

void FdGuard::WaitIdle() {
  std::unique_lock<std::mutex> l(mu_);
  idle_.wait(l, [this] { return users_ == 0; });
}

void FdGuard::Close() {
  std::lock_guard<std::mutex> l(mu_);
  closing_ = true;
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

bool FdGuard::closed() {
  std::lock_guard<std::mutex> l(mu_);
  return closing_;
}

Mapping::~Mapping() {
  if (addr != nullptr && addr != MAP_FAILED) munmap(addr, length);
}

std::atomic<uint64_t> maxBufferLength{1ULL << 32};

Napi::ArrayBuffer ViewSet::Create(Napi::Env env, uint32_t key, std::shared_ptr<Mapping> map) {
  Prune();
  if (map->length > maxBufferLength.load())
    ThrowErrno(env, EFBIG, "ArrayBuffer", "mapping larger than the largest ArrayBuffer");
  Holder* h = new Holder{map};
  // The C call, not Napi::ArrayBuffer::New: when Node refuses the buffer it has already run the
  // finalizer, and node-addon-api would then free its finalizer data a second time (SIGABRT).
  // Here a refusal only costs the Holder at worst, and becomes a KvmError.
  napi_value ab;
  napi_status st = napi_create_external_arraybuffer(
      env, map->addr, map->length,
      [](napi_env, void*, void* hint) { delete static_cast<Holder*>(hint); }, h, &ab);
  if (st != napi_ok) {
    bool pending = false;
    napi_value ignored;
    if (napi_is_exception_pending(env, &pending) == napi_ok && pending)
      napi_get_and_clear_last_exception(env, &ignored);
    ThrowErrno(env, EFBIG, "ArrayBuffer", "Node refused an ArrayBuffer over the mapping");
  }
  Napi::ArrayBuffer buffer(env, ab);
  views_.push_back(View{key, Napi::Weak(buffer), h});
  return buffer;
}

void ViewSet::Detach(uint32_t key) {
  for (auto it = views_.begin(); it != views_.end();) {
    if (it->key != key) {
      ++it;
      continue;
    }
    Napi::ArrayBuffer ab = it->ref.Value();
    // Only a buffer still attached proves its holder alive; we detach it, then let go.
    if (!ab.IsEmpty() && !ab.IsDetached()) {
      ab.Detach();
      it->holder->map.reset();
    }
    it = views_.erase(it);
  }
}

void ViewSet::DetachAll() {
  for (auto& v : views_) {
    Napi::ArrayBuffer ab = v.ref.Value();
    if (!ab.IsEmpty() && !ab.IsDetached()) {
      ab.Detach();
      v.holder->map.reset();
    }
  }
  views_.clear();
}

void ViewSet::Prune() {
  for (auto it = views_.begin(); it != views_.end();) {
    if (it->ref.Value().IsEmpty())
      it = views_.erase(it);
    else
      ++it;
  }
}

PreparedIoctl PrepareIoctl(const Napi::CallbackInfo& info, kvmsys_fd_kind kind) {
  Napi::Env env = info.Env();
  PreparedIoctl p;
  static const uint32_t count = [] {
    uint32_t n = 0;
    while (kvmsys_ioctls[n].name) n++;
    return n;
  }();
  uint32_t index = ToU32(env, info[0], "ioctl index must be a u32");
  if (index >= count) ThrowType(env, "unknown ioctl index");
  p.op = &kvmsys_ioctls[index];
  if (p.op->fd != kind) ThrowType(env, "ioctl issued on the wrong kind of file descriptor");
  switch (p.op->arg) {
    case KVMSYS_ARG_NONE:
      break;
    case KVMSYS_ARG_VALUE:
      p.value = static_cast<unsigned long>(ToU64(env, info[1], "ioctl argument must be a u64"));
      break;
    case KVMSYS_ARG_STRUCT:
      p.js = ToBytes(env, info[1], "ioctl argument must be a Uint8Array");
      if (p.js.length < p.op->size) ThrowType(env, "ioctl buffer is smaller than its struct");
      p.local.assign(p.js.data, p.js.data + p.op->size);
      break;
    case KVMSYS_ARG_ARRAY: {
      p.js = ToBytes(env, info[1], "ioctl argument must be a Uint8Array");
      if (p.js.length < p.op->size) ThrowType(env, "ioctl buffer is smaller than its header");
      uint32_t n;
      std::memcpy(&n, p.js.data + p.op->count_offset, sizeof(n));
      // The kernel reads or writes n entries after the header: all of them must be ours.
      if ((p.js.length - p.op->size) / p.op->entry_size < n)
        ThrowType(env, "ioctl buffer is smaller than the entries its count names");
      size_t used = p.op->size + static_cast<size_t>(n) * p.op->entry_size;
      p.local.assign(p.js.data, p.js.data + used);
      std::memcpy(p.local.data() + p.op->count_offset, &n, sizeof(n));
      break;
    }
  }
  return p;
}

int IssueIoctl(Napi::Env env, int fd, PreparedIoctl& p) {
  int r;
  switch (p.op->arg) {
    case KVMSYS_ARG_NONE:
      r = ioctl(fd, p.op->nr, 0UL);
      break;
    case KVMSYS_ARG_VALUE:
      r = ioctl(fd, p.op->nr, p.value);
      break;
    default:
      r = ioctl(fd, p.op->nr, p.local.data());
      break;
  }
  int err = errno;
  // Copy back even on failure: KVM_GET_MSR_INDEX_LIST reports the needed count with E2BIG.
  if (!p.local.empty()) std::memcpy(p.js.data, p.local.data(), p.local.size());
  if (r < 0) ThrowErrno(env, err, p.op->name);
  return r;
}

static void OnKick(int) {}

int KickSignal() { return SIGRTMIN; }

void InstallKickSignal() {
  static std::once_flag once;
  std::call_once(once, [] {
    struct sigaction sa;
    std::memset(&sa, 0, sizeof(sa));
    sa.sa_handler = OnKick;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = 0;  // no SA_RESTART: KVM_RUN must return EINTR
    sigaction(KickSignal(), &sa, nullptr);
  });
}

void UnblockKickSignal() {
  thread_local bool done = false;
  if (done) return;
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, KickSignal());
  pthread_sigmask(SIG_UNBLOCK, &set, nullptr);
  done = true;
}

const napi_type_tag kStateTag = {0x6b766d7379737473ULL, 0x7374617465746167ULL};

Napi::External<void> TaggedExternal(Napi::Env env, void* p) {
  Napi::External<void> e = Napi::External<void>::New(env, p);
  e.TypeTag(&kStateTag);
  return e;
}

void* UntagExternal(Napi::Env env, Napi::Value v) {
  if (!v.IsExternal()) ThrowType(env, "native objects are created by the library only");
  Napi::External<void> e = v.As<Napi::External<void>>();
  if (!e.CheckTypeTag(&kStateTag)) ThrowType(env, "native objects are created by the library only");
  return e.Data();
}

}  // namespace kvmsys
