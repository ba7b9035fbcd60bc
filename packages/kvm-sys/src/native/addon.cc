// node-addon-api entry point. Layouts and ioctl numbers come from uapi.c (compiled as C).
#include <unistd.h>

#include <cmath>

#include "common.h"

namespace kvmsys {
namespace {

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  env.SetInstanceData(new InstanceData());
  InstallKickSignal();

  Napi::Object uapi = Napi::Object::New(env);
  for (const kvmsys_uapi_entry* e = kvmsys_uapi; e->name; e++)
    uapi.Set(e->name, Napi::Number::New(env, static_cast<double>(e->value)));
  exports.Set("uapi", uapi);

  // The ioctl table: JS calls ioctl(index, arg) with the index of the op's name here.
  Napi::Array ioctls = Napi::Array::New(env);
  static const char* kFd[] = {"system", "vm", "vcpu"};
  static const char* kArg[] = {"none", "value", "struct", "array"};
  for (uint32_t i = 0; kvmsys_ioctls[i].name; i++) {
    const kvmsys_ioctl& op = kvmsys_ioctls[i];
    Napi::Object o = Napi::Object::New(env);
    o.Set("name", op.name);
    o.Set("nr", Napi::Number::New(env, static_cast<double>(op.nr)));
    o.Set("fd", kFd[op.fd]);
    o.Set("arg", kArg[op.arg]);
    o.Set("size", Napi::Number::New(env, op.size));
    o.Set("entrySize", Napi::Number::New(env, op.entry_size));
    ioctls.Set(i, o);
  }
  exports.Set("ioctls", ioctls);
  exports.Set("kickSignal", Napi::Number::New(env, KickSignal()));
  exports.Set("pageSize", Napi::Number::New(env, static_cast<double>(sysconf(_SC_PAGESIZE))));
  // The JS side tells the largest ArrayBuffer (buffer.constants.MAX_LENGTH); only a positive
  // safe integer is taken. A value above Node's real limit is harmless: ViewSet::Create turns
  // Node's refusal of a too-large buffer into EFBIG. Returns the limit in force.
  exports.Set("setMaxBufferLength", Napi::Function::New(env, [](const Napi::CallbackInfo& info) {
                Napi::Env env = info.Env();
                if (!info[0].IsNumber()) ThrowType(env, "length must be a positive integer");
                double d = info[0].As<Napi::Number>().DoubleValue();
                if (!(d >= 1) || std::floor(d) != d || d > 9007199254740991.0)
                  ThrowType(env, "length must be a positive integer");
                maxBufferLength = static_cast<uint64_t>(d);
                return Napi::Number::New(env, static_cast<double>(maxBufferLength.load()));
              }));
  exports.Set("setErrorFactory", Napi::Function::New(env, [](const Napi::CallbackInfo& info) {
                if (!info[0].IsFunction()) ThrowType(info.Env(), "factory must be a function");
                Data(info.Env()).makeError = Napi::Persistent(info[0].As<Napi::Function>());
              }));

  InitSystem(env, exports);
  InitVm(env, exports);
  InitVcpu(env, exports);
  InitEventFd(env, exports);
  return exports;
}

}  // namespace
}  // namespace kvmsys

static Napi::Object InitKvmSys(Napi::Env env, Napi::Object exports) {
  return kvmsys::Init(env, exports);
}

NODE_API_MODULE(kvm_sys, InitKvmSys)
