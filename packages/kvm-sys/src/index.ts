// @tsvmm/kvm-sys: KVM ioctls with a typed face. The ABI constants are also on `@tsvmm/kvm-sys/abi`.
export * as abi from './abi.js'
export { loadNative } from './native.js'
