import { expect, it } from 'vitest'

it('has a CLI entry', async () => {
  const { existsSync } = await import('node:fs')
  expect(existsSync(new URL('../src/main.ts', import.meta.url))).toBe(true)
})
