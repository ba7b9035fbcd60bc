#!/usr/bin/env node
// Lists the public symbols typedoc finds without a doc comment, per package and file, so owners
// can fix them (`pnpm run docs` fails while any remain). Properties of an object-literal constant
// or an inline type are grouped under the declaration they belong to.
//   node tools/publish/doc-gaps.mjs [--all]   (--all: every symbol, not only the grouped counts)
import { run } from './lib/run.mjs'
import { repoRoot } from './lib/workspace.mjs'

const all = process.argv.includes('--all')
const r = run(
  'node',
  ['node_modules/typedoc/bin/typedoc', '--emit', 'none', '--logLevel', 'Warn'],
  {
    cwd: repoRoot,
    env: { ...process.env, NO_COLOR: '1', FORCE_COLOR: '0' },
  },
)
// biome-ignore lint/suspicious/noControlCharactersInRegex: strips ANSI colour codes
const text = r.output.replace(/\x1b\[[0-9;]*m/g, '')
const gap =
  /^\[warning\] (.+) \(([A-Za-z ]+)\), defined in (@[^/]+\/[^/]+)\/(.+), does not have any documentation$/
/** @type {Map<string, Map<string, Map<string, string[]>>>} package -> file -> owner -> members */
const byPackage = new Map()
let total = 0
for (const line of new Set(text.split('\n'))) {
  const m = gap.exec(line)
  if (!m) continue
  const [, rawName = '', kind = '', pkg = '', file = ''] = m
  total++
  const name = rawName.replace(/^\./, '')
  // "abi.kvm_vcpu_events.__type.nmi.__type.pending" belongs to "abi.kvm_vcpu_events".
  const cut = name.indexOf('.__type')
  const owner = cut < 0 ? name : name.slice(0, cut)
  const member = cut < 0 ? `${name} (${kind})` : name.slice(cut).replaceAll('.__type', '').slice(1)
  const files = byPackage.get(pkg) ?? new Map()
  byPackage.set(pkg, files)
  const owners = files.get(file) ?? new Map()
  files.set(file, owners)
  owners.set(owner, [...(owners.get(owner) ?? []), member])
}
for (const [pkg, files] of [...byPackage].sort()) {
  const count = [...files.values()].flatMap((o) => [...o.values()].flat()).length
  console.log(`\n${pkg}: ${count} undocumented`)
  for (const [file, owners] of [...files].sort()) {
    console.log(`  ${file}`)
    for (const [owner, members] of [...owners].sort()) {
      const inline = members.length === 1 && members[0]?.startsWith(owner)
      if (inline) console.log(`    ${members[0]}`)
      else if (all) console.log(`    ${owner}: ${members.join(', ')}`)
      else console.log(`    ${owner}: ${members.length} fields of its inline type`)
    }
  }
}
const others = text.split('\n').filter((l) => /^\[(warning|error)\]/.test(l) && !gap.test(l))
for (const l of new Set(others)) if (!/Found \d+ errors/.test(l)) console.log(l)
console.log(`\n${total} undocumented public symbols`)
process.exit(total === 0 && r.status === 0 ? 0 : 1)
