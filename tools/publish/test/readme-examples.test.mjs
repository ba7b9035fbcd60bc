// The README-to-program transform the consumer test runs the READMEs with.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { readmeProgram } from '../lib/readme-examples.mjs'

const md = [
  '# x',
  '```js',
  "import { a, b } from 'p'",
  "import d, { c } from 'q'",
  'const engine = a()',
  '```',
  'text',
  '```ts',
  "import {\n  b,\n  type T,\n  e,\n} from 'p'",
  'const n: number = engine(b, e)',
  '```',
  '```js',
  'const kvm = Kvm.open()',
  '```',
  '```sh',
  'pnpm x',
  '```',
  '',
].join('\n')

test('imports are merged and hoisted, blocks nested, KVM blocks and other languages left out', () => {
  const strip = (/** @type {string} */ ts) => ts.replace(': number', '').replace('  type T,\n', '')
  const p = readmeProgram(md, strip)
  assert.equal(p.blocks, 2)
  assert.deepEqual(p.skipped, [16])
  const lines = p.code.split('\n')
  assert.equal(lines[0], "import { a, b, e } from 'p'")
  assert.equal(lines[1], "import d, { c } from 'q'")
  assert.ok(!/^import/m.test(lines.slice(2).join('\n')))
  assert.match(
    p.code.replace(/\n+/g, '\n'),
    /\{\nconst engine = a\(\)\n\{\nconst n = engine\(b, e\)\n\}\n\}\n$/,
  )
})
