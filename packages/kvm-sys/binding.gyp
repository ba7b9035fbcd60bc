{
  "targets": [
    {
      "target_name": "kvm_sys",
      "sources": [
        "src/native/addon.cc",
        "src/native/common.cc",
        "src/native/state.cc",
        "src/native/system.cc",
        "src/native/vm.cc",
        "src/native/vcpu.cc",
        "src/native/eventfd.cc",
        "src/native/uapi.c"
      ],
      "dependencies": ["<!(node -p \"require('node-addon-api').targets\"):node_addon_api_except"],
      "defines": ["NAPI_VERSION=8"],
      "cflags": ["-Wall", "-Wextra", "-O2", "-fstack-protector-strong"],
      "cflags_cc": ["-std=c++17"]
    }
  ]
}
