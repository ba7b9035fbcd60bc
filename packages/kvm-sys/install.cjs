// The install step of @tsvmm/kvm-sys (package.json "install": "node install.cjs"). An installed
// package loads prebuilds/linux-x64/kvm_sys.napi.glibc.node through node-gyp-build, so nothing is
// compiled; only where no prebuild fits (musl, a stripped prebuild dir) is the addon built from
// src/native with the package manager's node-gyp. In the tsvmm workspace (which has
// tsconfig.build.json, never published) turbo builds the addon, so this does nothing there.
'use strict'
const { spawnSync } = require('node:child_process')
const { existsSync } = require('node:fs')
const { join } = require('node:path')

if (existsSync(join(__dirname, 'tsconfig.build.json'))) process.exit(0)

try {
  require('node-gyp-build')(__dirname)
  process.exit(0)
} catch (e) {
  const why = String(e instanceof Error ? e.message : e).split('\n')[0]
  console.error(`@tsvmm/kvm-sys: no prebuilt addon fits (${why}); building it with node-gyp`)
}

const built = spawnSync('node-gyp', ['rebuild'], { cwd: __dirname, stdio: 'inherit' })
if (built.status !== 0) {
  console.error(
    '@tsvmm/kvm-sys: node-gyp rebuild failed' +
      (built.error ? ` (${built.error.message})` : '') +
      ': a local build needs python3, make and a C/C++ compiler (gcc, g++) on PATH',
  )
  process.exit(built.status || 1)
}
