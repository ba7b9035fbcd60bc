// The README shows the example files verbatim (the KVM suite runs those files).
import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'

const read = (p: string) => readFileSync(new URL(`../${p}`, import.meta.url), 'utf8')

/** The example file without its leading comment lines (the README explains them instead). */
const body = (p: string) =>
  read(p)
    .split('\n')
    .filter(
      (l, i, all) => !(l.startsWith('//') && all.slice(0, i).every((x) => x.startsWith('//'))),
    )
    .join('\n')
    .trim()

describe('README', () => {
  const readme = read('README.md')
  for (const example of [
    'examples/tiny-guest.mjs',
    'examples/vcpu-thread.mjs',
    'examples/eventfd-watch.mjs',
  ])
    it(`shows ${example} as it is`, () => {
      expect(readme).toContain(body(example))
    })
})
