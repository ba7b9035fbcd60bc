// The soak suites (*.soak.test.ts): long runs on real KVM (issue 12's fuzz soak, at least 10^5
// hypercalls per delivery mode). `pnpm test:soak` runs them the way `pnpm test:kvm` runs the KVM
// suites, inside tools/kvm-host where this machine has no /dev/kvm; CI runs them as their own step,
// so that the README's test command (and its second run on a bare root) stays inside CI's budget.
import { kvmSuiteConfig } from './vitest.shared.ts'

export default kvmSuiteConfig('soak')
