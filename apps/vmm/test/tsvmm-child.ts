// Test helper: runs the built `tsvmm` (dist/main.js) as a child process, as a user would, and
// collects its JSON-line output, stderr and exit code.
import { spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

/** The built CLI. */
export const MAIN = fileURLToPath(new URL('../dist/main.js', import.meta.url))
/** The guest images tools/guests builds. */
export const GUESTS = fileURLToPath(new URL('../../../tools/guests/build/', import.meta.url))

/** A guest image path, checked to exist. */
export function guest(name: string): string {
  const p = `${GUESTS}${name}`
  if (!existsSync(p)) throw new Error(`${p} is missing: run \`pnpm build\` first`)
  return p
}

/** One check result line of `--json` output. */
export interface JsonResult {
  type: 'result'
  vcpu: number
  name: string
  passed: boolean
  detail: number
  message: string
}

/** What a child run printed. */
export interface ChildRun {
  code: number | null
  signal: NodeJS.Signals | null
  stdout: string
  stderr: string
  results: JsonResult[]
  end: Record<string, unknown> | undefined
}

/**
 * Runs `tsvmm ...args`; `onStdout` sees output as it comes (to signal the child, say), `onSpawn`
 * gets the child's pid (to watch its memory, say).
 */
export function tsvmm(
  args: string[],
  options: {
    onStdout?: (text: string, kill: (sig: NodeJS.Signals) => void) => void
    onSpawn?: (pid: number) => void
  } = {},
): Promise<ChildRun> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [MAIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] })
    if (child.pid !== undefined) options.onSpawn?.(child.pid)
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString()
      options.onStdout?.(stdout, (sig) => child.kill(sig))
    })
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString()
    })
    child.on('close', (code, signal) => {
      const lines: Record<string, unknown>[] = []
      for (const l of stdout.split('\n')) {
        if (!l.startsWith('{"type"')) continue
        try {
          lines.push(JSON.parse(l) as Record<string, unknown>)
        } catch {
          // not a JSON line of `--json` output
        }
      }
      resolve({
        code,
        signal,
        stdout,
        stderr,
        results: lines.filter((l) => l.type === 'result') as unknown as JsonResult[],
        end: lines.find((l) => l.type === 'end'),
      })
    })
  })
}
