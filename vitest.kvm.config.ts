// The KVM suites (*.kvm.test.ts) of every package. They run on real KVM only:
// `pnpm test:kvm` starts them inside tools/kvm-host where this machine has no /dev/kvm,
// and the global setup fails the whole run when /dev/kvm cannot be opened.
import { defineConfig } from 'vitest/config'

export default defineConfig({
  test: {
    include: [
      'packages/*/test/**/*.kvm.test.ts',
      'apps/*/test/**/*.kvm.test.ts',
      'tools/*/test/**/*.kvm.test.ts',
    ],
    exclude: ['**/node_modules/**', '**/dist/**'],
    globalSetup: ['tools/kvm-host/require-kvm.ts'],
    // The emulated host has 2 slow vCPUs: one test file at a time keeps timings sane.
    fileParallelism: false,
    testTimeout: 120_000,
    hookTimeout: 120_000,
    reporters: ['default', 'json'],
    outputFile: { json: 'test-results/kvm.json' },
  },
})
