// The soak suites (*.soak.test.ts): long runs on real KVM (issue 12's fuzz soak, at least 10^5
// hypercalls per delivery mode). `pnpm test:soak` runs them the way `pnpm test:kvm` runs the KVM
// suites, inside tools/kvm-host where this machine has no /dev/kvm; CI runs them as their own step,
// so that the README's test command (and its second run on a bare root) stays inside CI's budget.
import { defineConfig } from 'vitest/config'

export default defineConfig({
  test: {
    include: ['packages/*/test/**/*.soak.test.ts', 'apps/*/test/**/*.soak.test.ts'],
    exclude: ['**/node_modules/**', '**/dist/**'],
    globalSetup: ['tools/kvm-host/require-kvm.ts'],
    fileParallelism: false,
    testTimeout: 120_000,
    hookTimeout: 120_000,
    reporters: ['default', 'json'],
    outputFile: { json: 'test-results/soak.json' },
  },
})
