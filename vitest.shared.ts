// Shared vitest settings. Every suite writes a JSON report next to itself so that
// tools/run-tests.mjs can print the plain "N passed, N failed" line CI reads.
import { defineConfig } from 'vitest/config'

/** Unit tests of one workspace package: everything but the KVM suites. */
export function unitConfig() {
  return defineConfig({
    test: {
      include: ['test/**/*.test.ts', 'src/**/*.test.ts'],
      exclude: ['**/*.kvm.test.ts', '**/*.soak.test.ts', '**/node_modules/**', '**/dist/**'],
      // A hang guard, not a speed check: worker-thread and child-process tests take seconds on a
      // loaded 2-core machine, and vitest's 5 s default then fails them for no fault of the code.
      testTimeout: 60_000,
      reporters: ['default', 'json'],
      outputFile: { json: 'test-results/unit.json' },
      // Hooks too: a first fetch of Xen's headers (tools/xen-headers.mjs) runs apt-get.
      hookTimeout: 120_000,
    },
  })
}

/**
 * Suites that run on real KVM only, over the whole repository (`pnpm test:kvm`, `pnpm test:soak`):
 * the global setup fails the run when /dev/kvm cannot be opened. `tier` names the files
 * (*.<tier>.test.ts) and the JSON report (test-results/<tier>.json).
 */
export function kvmSuiteConfig(tier: 'kvm' | 'soak') {
  return defineConfig({
    test: {
      include: ['packages', 'apps', 'tools'].map((top) => `${top}/*/test/**/*.${tier}.test.ts`),
      exclude: ['**/node_modules/**', '**/dist/**'],
      globalSetup: ['tools/kvm-host/require-kvm.ts'],
      // The emulated host has 2 slow vCPUs: one test file at a time keeps timings sane.
      fileParallelism: false,
      testTimeout: 120_000,
      hookTimeout: 120_000,
      reporters: ['default', 'json'],
      outputFile: { json: `test-results/${tier}.json` },
    },
  })
}
