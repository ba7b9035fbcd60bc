// node --test tools/publish/test — the rules pack-check applies to tarball contents and manifests.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import {
  brokenReadmeLinks,
  danglingMapSources,
  exportTargets,
  manifestProblems,
  missingFiles,
  unwantedFiles,
} from '../lib/ship-rules.mjs'

const pure = {
  name: '@tsvmm/irq-routing',
  type: 'module',
  license: 'Apache-2.0',
  engines: { node: '>=20.19.0' },
  os: ['linux'],
  cpu: ['x64'],
  files: ['dist'],
  exports: { '.': { types: './dist/index.d.ts', default: './dist/index.js' } },
  dependencies: { '@tsvmm/kvm-sys': '0.1.0' },
}
const native = {
  ...pure,
  name: '@tsvmm/kvm-sys',
  dependencies: { 'node-gyp-build': '4.8.4' },
  scripts: { install: 'node-gyp-build' },
}
const nativeFiles = [
  'package.json',
  'README.md',
  'LICENSE',
  'CHANGELOG.md',
  'binding.gyp',
  'dist/index.js',
  'dist/index.d.ts',
  'src/native/addon.cc',
  'src/native/uapi.h',
  'prebuilds/linux-x64/kvm_sys.napi.glibc.node',
]
const platformOf = (/** @type {string} */ n) =>
  n === '@tsvmm/kvm-sys' ? { os: ['linux'], cpu: ['x64'] } : undefined

test('a clean native tarball has nothing unwanted and nothing missing', () => {
  assert.deepEqual(unwantedFiles(nativeFiles, native), [])
  assert.deepEqual(missingFiles(nativeFiles, native), [])
  assert.deepEqual(manifestProblems(native, platformOf, { native: true }), [])
})

test('tests, results, caches, TS sources and gyp intermediates are refused', () => {
  const bad = [
    'test/kvm.test.ts',
    'dist/codec.test.js',
    'test-results/unit.json',
    '.turbo/turbo-build.log',
    'src/index.ts',
    'src/native/notes.md',
    'build/Release/obj.target/kvm_sys/src/native/vm.o',
    'build/Makefile',
    'bench/pio-exits.mjs',
    'examples/encode.mjs',
    'tsconfig.build.json',
    'node_modules/x/index.js',
  ]
  const reasons = unwantedFiles([...nativeFiles, ...bad], native)
  assert.deepEqual(
    reasons.map((r) => r.file),
    bad,
  )
  assert.equal(reasons.find((r) => r.file === 'dist/codec.test.js')?.reason, 'test code')
})

test('the addon and its prebuild ship only in a native package', () => {
  const files = [
    'package.json',
    'dist/index.js',
    'src/native/addon.cc',
    'prebuilds/linux-x64/a.node',
  ]
  assert.deepEqual(
    unwantedFiles(files, pure).map((r) => r.file),
    ['src/native/addon.cc', 'prebuilds/linux-x64/a.node'],
  )
  assert.deepEqual(
    unwantedFiles([...files, 'binding.gyp', 'build/Release/kvm_sys.node'], native),
    [],
  )
})

test('an install script file ships when the install script runs it', () => {
  const m = { ...native, scripts: { install: 'node install.cjs' } }
  assert.deepEqual(unwantedFiles([...nativeFiles, 'install.cjs'], m), [])
  assert.deepEqual(
    unwantedFiles([...nativeFiles, 'install.cjs'], native).map((r) => r.file),
    ['install.cjs'],
  )
})

test('a native package without a Node-API linux-x64 prebuild is incomplete', () => {
  const without = nativeFiles.filter((f) => !f.startsWith('prebuilds/'))
  assert.match(missingFiles(without, native).join(), /no prebuild for linux-x64/)
  const abiOnly = [...without, 'prebuilds/linux-x64/node.abi115.node']
  const m = missingFiles(abiOnly, native)
  // Only the running Node's ABI matches an abi-tagged file; either way it is not Node-API.
  assert.ok(m.length === 1 && /napi|linux-x64/.test(m[0] ?? ''), m.join())
  const musl = [...without, 'prebuilds/linux-x64/kvm_sys.napi.musl.node']
  assert.match(missingFiles(musl, native).join(), /no prebuild for linux-x64/)
  const arm = [...without, 'prebuilds/linux-arm64/kvm_sys.napi.glibc.node']
  assert.match(missingFiles(arm, native).join(), /no prebuild for linux-x64/)
})

test('README, license, changelog and export targets are required', () => {
  const m = missingFiles(['package.json', 'dist/index.js'], pure)
  assert.deepEqual(m, [
    'README.md',
    'LICENSE',
    'CHANGELOG.md (changesets writes it; ship it)',
    'dist/index.d.ts (named by exports)',
  ])
})

test('exportTargets walks nested conditions', () => {
  assert.deepEqual(
    exportTargets({
      '.': { types: './dist/index.d.ts', default: './dist/index.js' },
      './abi': { import: { types: './dist/abi.d.ts', default: './dist/abi.js' } },
      './package.json': './package.json',
    }),
    ['dist/index.d.ts', 'dist/index.js', 'dist/abi.d.ts', 'dist/abi.js', 'package.json'],
  )
})

test('manifest: workspace ranges, engines, platform of dependencies, install fallback', () => {
  const m = {
    ...pure,
    os: undefined,
    cpu: undefined,
    engines: undefined,
    dependencies: { '@tsvmm/kvm-sys': 'workspace:*' },
  }
  const problems = manifestProblems(m, platformOf, { native: false })
  assert.deepEqual(problems, [
    'dependencies.@tsvmm/kvm-sys is still "workspace:*" (pack did not rewrite it)',
    'no "engines.node"',
    '"os" lacks linux (a dependency only installs there: @tsvmm/kvm-sys)',
    '"cpu" lacks x64 (a dependency only installs there: @tsvmm/kvm-sys)',
  ])
  const guestMemory = { ...pure, os: undefined, cpu: undefined, dependencies: {} }
  assert.deepEqual(manifestProblems(guestMemory, platformOf, { native: false }), [])
  const noInstall = { ...native, scripts: {} }
  assert.deepEqual(manifestProblems(noInstall, platformOf, { native: true }), [
    'no "install" script that builds locally when no prebuild fits',
  ])
})

test('source maps pointing outside the tarball are found', () => {
  const maps = new Map([
    ['dist/index.js.map', JSON.stringify({ sources: ['../src/index.ts'] })],
    ['dist/a/b.d.ts.map', JSON.stringify({ sources: ['../../src/a/b.ts'] })],
  ])
  assert.deepEqual(danglingMapSources(maps, ['dist/index.js.map', 'src/index.ts']), ['src/a/b.ts'])
})

test('README links to unshipped files are found; URLs and anchors are not links to files', () => {
  const md =
    '[a](examples/a.mjs) [b](./dist/index.js) [c](https://x.org/y) [d](#rules) [e](DESIGN.md#data-path)'
  assert.deepEqual(brokenReadmeLinks(md, ['dist/index.js', 'README.md']), [
    'examples/a.mjs',
    'DESIGN.md',
  ])
})
