// Shared vitest settings. Every suite writes a JSON report next to itself so that
// tools/run-tests.mjs can print the plain "N passed, N failed" line CI reads.
import { defineConfig } from 'vitest/config'

/** Unit tests of one workspace package: everything but the KVM suites. */
export function unitConfig() {
  return defineConfig({
    test: {
      include: ['test/**/*.test.ts', 'src/**/*.test.ts'],
      exclude: ['**/*.kvm.test.ts', '**/node_modules/**', '**/dist/**'],
      reporters: ['default', 'json'],
      outputFile: { json: 'test-results/unit.json' },
    },
  })
}
