// The PV device round of `pnpm compare:qemu`: each VMM boots the test guest once more with
// `tsvmm.bench tsvmm.wait` on the command line. The guest's /init runs pvbench (pvbench.c): hvc0
// throughput and xenstore READ round trips, timed by the guest's own clock. Then, while the guest
// idles, this reads the VMM's memory from /proc/<pid>/smaps: its resident set minus the guest RAM
// mapping's resident pages, i.e. what the VMM itself costs. Then SIGTERM ends it (tsvmm shuts the
// guest down through xenstore; QEMU just exits).
import { readFileSync } from 'node:fs'

/** Seconds of idle after the guest's report before the VMM's memory is read. */
const IDLE_BEFORE_SAMPLE_MS = 5000

/**
 * The VMM's resident memory, split into guest RAM (the anonymous mapping of about the guest's
 * size: QEMU rounds it up to 2 MiB alignment) and the rest.
 * @param {number} pid
 * @param {number} guestBytes the guest's RAM size
 * @returns {{ rssMiB: number, guestMiB: number, vmmMiB: number } | undefined}
 */
export function vmmMemory(pid, guestBytes) {
  let smaps
  try {
    smaps = readFileSync(`/proc/${pid}/smaps`, 'utf8')
  } catch {
    return undefined
  }
  let rss = 0
  let guest = 0
  let size = 0
  for (const line of smaps.split('\n')) {
    const range = /^([0-9a-f]+)-([0-9a-f]+) /.exec(line)
    if (range) {
      size = Number.parseInt(range[2], 16) - Number.parseInt(range[1], 16)
      continue
    }
    const m = /^Rss:\s+(\d+) kB/.exec(line)
    if (!m) continue
    const kib = Number(m[1])
    rss += kib
    if (size >= guestBytes && size <= guestBytes + 8 * 2 ** 20) guest += kib
  }
  return { rssMiB: rss / 1024, guestMiB: guest / 1024, vmmMiB: (rss - guest) / 1024 }
}

/**
 * The figures pvbench printed, from a serial log.
 * @param {string} log
 */
export function pvFigures(log) {
  const hvc = /TSVMM-BENCH hvc0 (\d+) bytes ([\d.]+) s ([\d.]+) MB\/s/.exec(log)
  const xs = /TSVMM-BENCH xs-read (\d+) reads median ([\d.]+) us p99 ([\d.]+) us/.exec(log)
  return {
    hvcMBps: hvc ? Number(hvc[3]) : undefined,
    xsReads: xs ? Number(xs[1]) : undefined,
    xsMedianUs: xs ? Number(xs[2]) : undefined,
    xsP99Us: xs ? Number(xs[3]) : undefined,
    errors: [...log.matchAll(/TSVMM-BENCH error .*/g)].map((m) => m[0]),
  }
}

/**
 * Options for bootUntilDone that run the PV round on one VMM: `memory` is filled in while the
 * guest idles, then the VMM gets SIGTERM.
 * @param {number} guestBytes
 */
export function pvBootOptions(guestBytes) {
  /** @type {{ memory?: ReturnType<typeof vmmMemory> }} */
  const sample = {}
  let armed = false
  return {
    sample,
    /** @param {string} log @param {(s: NodeJS.Signals) => void} kill @param {number} pid */
    onLog(log, kill, pid) {
      if (armed || !log.includes('TSVMM-WAITING')) return
      armed = true
      setTimeout(() => {
        sample.memory = vmmMemory(pid, guestBytes)
        kill('SIGTERM')
      }, IDLE_BEFORE_SAMPLE_MS)
    },
    /** A boot counts once the guest reported its figures (or said why it could not). */
    complete: (/** @type {{ log: string }} */ b) => b.log.includes('TSVMM-WAITING'),
  }
}

/**
 * Prints the PV round's table and returns its rows for bench-results/.
 * @param {Record<string, { log: string, attempts: number }>} boots by VMM name
 * @param {Record<string, ReturnType<typeof vmmMemory>>} memory by VMM name
 */
export function reportPv(boots, memory) {
  const num = (x, d = 1) => (x === undefined ? '-' : x.toFixed(d))
  const us = (x) => (x === undefined ? '-' : `${x.toFixed(1)} us`)
  console.log('\n== PV devices, timed in the guest (2 vCPUs, 512 MiB; one boot each) ==')
  console.log(
    `${''.padEnd(26)}${'hvc0 MB/s'.padStart(10)}${'xs READ median'.padStart(17)}${'p99'.padStart(13)}  ${'VMM RSS - guest RAM'}`,
  )
  const rows = {}
  for (const [who, b] of Object.entries(boots)) {
    const f = pvFigures(b.log)
    const m = memory[who]
    rows[who] = { ...f, memory: m }
    console.log(
      `${who.padEnd(26)}${num(f.hvcMBps, 3).padStart(10)}${us(f.xsMedianUs).padStart(17)}${us(f.xsP99Us).padStart(13)}  ${m ? `${num(m.vmmMiB)} MiB (${num(m.guestMiB, 0)} touched)` : '-'}${b.attempts > 1 ? `  ${b.attempts} attempts` : ''}`,
    )
    for (const e of f.errors) console.log(`  ${who}: ${e}`)
  }
  return rows
}
