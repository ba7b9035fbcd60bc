// The KVM suites (*.kvm.test.ts) of every package. They run on real KVM only:
// `pnpm test:kvm` starts them inside tools/kvm-host where this machine has no /dev/kvm,
// and the global setup fails the whole run when /dev/kvm cannot be opened.
import { kvmSuiteConfig } from './vitest.shared.ts'

export default kvmSuiteConfig('kvm')
