// The prebuild name prebuild.mjs writes, checked against node-gyp-build 4.8.4's own matchers.
import assert from 'node:assert/strict'
import { createRequire } from 'node:module'
import { join } from 'node:path'
import { test } from 'node:test'
import { isPrebuildFor, prebuildDir, prebuildFileName } from '../lib/prebuild-name.mjs'
import { repoRoot } from '../lib/workspace.mjs'

const ngb = createRequire(join(repoRoot, 'packages', 'kvm-sys', 'package.json'))('node-gyp-build')

/** node-gyp-build's verdict for a file under prebuilds/ (linux, x64, node, glibc). */
function nodeGypBuildAccepts(/** @type {string} */ file) {
  const [, tupleName, fileName] = file.split('/')
  const tuple = ngb.parseTuple(tupleName)
  if (!tuple || !ngb.matchTuple('linux', 'x64')(tuple)) return false
  const tags = ngb.parseTags(fileName)
  // matchTags reads libc from the environment; glibc on this machine, like the target.
  return ngb.matchTags('node', process.versions.modules)(tags)
}

test('the name node-gyp-build looks for', () => {
  assert.equal(prebuildDir('linux', 'x64'), 'prebuilds/linux-x64')
  assert.equal(prebuildFileName('kvm_sys'), 'kvm_sys.napi.glibc.node')
  assert.throws(() => prebuildFileName('kvm.sys'))
  const tags = ngb.parseTags(prebuildFileName('kvm_sys'))
  assert.deepEqual(
    { napi: tags.napi, libc: tags.libc, runtime: tags.runtime },
    { napi: true, libc: 'glibc', runtime: undefined },
  )
})

test('isPrebuildFor agrees with node-gyp-build', () => {
  const files = [
    'prebuilds/linux-x64/kvm_sys.napi.glibc.node',
    'prebuilds/linux-x64/kvm_sys.napi.node',
    'prebuilds/linux-x64/node.napi.node',
    'prebuilds/linux-x64/kvm_sys.napi.musl.node',
    'prebuilds/linux-x64/electron.napi.node',
    'prebuilds/linux-x64/node.abi1.node',
    `prebuilds/linux-x64/node.abi${process.versions.modules}.node`,
    'prebuilds/linux-x64+arm64/kvm_sys.napi.node',
    'prebuilds/linux-arm64/kvm_sys.napi.node',
    'prebuilds/darwin-x64/kvm_sys.napi.node',
    'prebuilds/linux-x64/kvm_sys.napi.glibc.so',
  ]
  for (const f of files) assert.equal(isPrebuildFor(f), nodeGypBuildAccepts(f), f)
})
