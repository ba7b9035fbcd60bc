// node-addon-api glue. Layouts and ioctl numbers come from uapi.c (compiled as C).
#include <napi.h>
#include "uapi.h"

static Napi::Object Init(Napi::Env env, Napi::Object exports) {
  Napi::Object uapi = Napi::Object::New(env);
  for (const kvmsys_uapi_entry *e = kvmsys_uapi; e->name; e++)
    uapi.Set(e->name, Napi::Number::New(env, static_cast<double>(e->value)));
  exports.Set("uapi", uapi);
  return exports;
}

NODE_API_MODULE(kvm_sys, Init)
