import { spawnSync } from 'node:child_process'
import { chmodSync, mkdirSync, mkdtempSync, realpathSync, rmSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import fc from 'fast-check'
import { afterAll, describe, expect, it } from 'vitest'
import { renderJobScript, selectGuestEnv, shQuote } from '../lib/job.mjs'

const tmp = mkdtempSync(path.join(os.tmpdir(), 'kvm-host-job-'))
afterAll(() => rmSync(tmp, { recursive: true, force: true }))

/** Runs a job script the way the guest's /init does: `env -i sh run.sh`. */
function runJob(script: string) {
  const file = path.join(tmp, `run-${Math.random().toString(36).slice(2)}.sh`)
  writeFileSync(file, script)
  return spawnSync('env', ['-i', '/bin/sh', file], { encoding: 'utf8' })
}

describe('selectGuestEnv', () => {
  it('passes CI, NO_COLOR, FORCE_COLOR and every TSVMM_* variable, nothing else', () => {
    const env = selectGuestEnv({
      CI: 'true',
      NO_COLOR: '1',
      FORCE_COLOR: '0',
      TSVMM_SEED: '42',
      TSVMM_: 'empty suffix',
      HOME: '/home/x',
      PATH: '/bin',
      npm_config_user_agent: 'pnpm',
      XTSVMM_NO: '1',
    })
    expect(env).toEqual({
      CI: 'true',
      NO_COLOR: '1',
      FORCE_COLOR: '0',
      TSVMM_SEED: '42',
      TSVMM_: 'empty suffix',
    })
  })

  it('drops names a shell cannot export', () => {
    expect(selectGuestEnv({ 'TSVMM_A-B': '1', 'TSVMM_A B': '2', TSVMM_OK: '3' })).toEqual({
      TSVMM_OK: '3',
    })
  })

  it('asks for colours only for a caller on a terminal that said nothing about colours', () => {
    expect(selectGuestEnv({}, true)).toEqual({ FORCE_COLOR: '1' })
    expect(selectGuestEnv({}, false)).toEqual({})
    expect(selectGuestEnv({ NO_COLOR: '1' }, true)).toEqual({ NO_COLOR: '1' })
    expect(selectGuestEnv({ FORCE_COLOR: '0' }, true)).toEqual({ FORCE_COLOR: '0' })
  })
})

describe('shQuote', () => {
  it('survives a real shell for any string without NUL', () => {
    fc.assert(
      fc.property(
        fc.string({ unit: 'binary' }).filter((s) => !s.includes('\0')),
        (s) => {
          const r = spawnSync('/bin/sh', ['-c', `printf %s ${shQuote(s)}`], { encoding: 'utf8' })
          expect(r.stdout).toBe(s)
        },
      ),
      { numRuns: 60 },
    )
  }, 60_000) // 60 shell spawns: slow on a loaded machine
})

describe('renderJobScript', () => {
  const base = {
    repoRoot: '/work/main',
    nodeDir: '/usr/bin',
    env: {},
  }

  it('runs the command with its arguments verbatim, in the cwd, with a clean environment', () => {
    const cwd = realpathSync(tmp)
    const args = ["it's", 'a b', '$HOME', '`x`', '"q"', '\\n', '']
    const script = renderJobScript({
      ...base,
      cwd,
      env: { TSVMM_X: "va'l ue", CI: 'true' },
      command: ['/bin/sh', '-c', 'pwd; printf "<%s>" "$@"; echo; env | sort', 'sh', ...args],
    })
    const r = runJob(script)
    expect(r.status).toBe(0)
    const [pwd, argv, ...env] = r.stdout.trimEnd().split('\n')
    expect(pwd).toBe(cwd)
    expect(argv).toBe(args.map((a) => `<${a}>`).join(''))
    expect(env).toContain("TSVMM_X=va'l ue")
    expect(env).toContain('CI=true')
    expect(env).toContain('HOME=/root')
    expect(env).toContain(
      'PATH=/work/main/node_modules/.bin:/usr/bin:/usr/local/bin:/bin:/usr/sbin:/sbin',
    )
    expect(env.some((l) => l.startsWith('npm_'))).toBe(false)
  })

  it('gives the command exit status back, 127 for a command that does not exist', () => {
    const job = { ...base, cwd: tmp }
    expect(runJob(renderJobScript({ ...job, command: ['sh', '-c', 'exit 3'] })).status).toBe(3)
    expect(runJob(renderJobScript({ ...job, command: ['no-such-command-here'] })).status).toBe(127)
  })

  it('puts the guest pnpm directory on PATH after node, before the system directories', () => {
    const pnpmDir = path.join(tmp, 'pnpm-bin')
    mkdirSync(pnpmDir, { recursive: true })
    writeFileSync(path.join(pnpmDir, 'pnpm'), '#!/bin/sh\necho "pnpm from $0: $*"\n')
    chmodSync(path.join(pnpmDir, 'pnpm'), 0o755)
    // node's directory in this test has no pnpm (the host's /usr/bin does; the guest's does not)
    const job = { ...base, nodeDir: path.join(tmp, 'node-bin'), cwd: tmp, pnpmDir }
    const r = runJob(
      renderJobScript({ ...job, command: ['sh', '-c', 'echo "$PATH"; pnpm tsvmm caps'] }),
    )
    expect(r.status).toBe(0)
    expect(r.stdout.split('\n').slice(0, 2)).toEqual([
      `/work/main/node_modules/.bin:${tmp}/node-bin:${pnpmDir}:/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin`,
      `pnpm from ${pnpmDir}/pnpm: tsvmm caps`,
    ])
    // without one, PATH is as before and a pnpm-less guest gives the shell's 127
    const none = renderJobScript({ ...base, cwd: tmp, command: ['no-such-pnpm-here'] })
    expect(none).not.toContain('pnpm-bin')
    expect(runJob(none).status).toBe(127)
  })

  it('creates a cwd that does not exist yet', () => {
    const cwd = path.join(tmp, 'new', 'dir')
    const r = runJob(renderJobScript({ ...base, cwd, command: ['pwd'] }))
    expect(r.stdout.trim()).toBe(realpathSync(cwd))
  })
})
