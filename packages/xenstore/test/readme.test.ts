// The README example, run as written (imports rewritten to the source, console captured).
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { expect, it, vi } from 'vitest'
import * as xenstore from '../src/index.js'

it('the README example runs and prints what its comments say', async () => {
  const readme = readFileSync(join(import.meta.dirname, '..', 'README.md'), 'utf8')
  const code = /```ts\n([\s\S]*?)```/.exec(readme)?.[1] ?? ''
  const body = code.replace(/^import .*$/m, '')
  const log = vi.spyOn(console, 'log').mockImplementation(() => {})
  try {
    const run = new Function(...Object.keys(xenstore), body)
    run(...Object.values(xenstore))
    expect(log.mock.calls).toEqual([
      ['changed:', '/local/domain/1/control'],
      ['guest'],
      ['changed:', '/local/domain/1/control/shutdown'],
      ['guest'],
    ])
  } finally {
    log.mockRestore()
  }
})
