// What a Linux boot's serial log says about its Xen HVM set-up, reduced to comparable facts: the
// Xen-related dmesg lines (numbers stripped), the /proc/interrupts rows the /init prints, and the
// markers. The tests and `pnpm compare:qemu` read boots only through this.

/** dmesg lines that describe the Xen HVM platform (what the issue and the l2xen recipe list). */
const XEN_LINE =
  /xen|hypervisor detected|paravirtualized kernel|clocksource: switched|smp: brought up/i

/**
 * @typedef {object} InterruptRow
 * @property {string} irq the first column (a number or LOC, RES, ...)
 * @property {number[]} perCpu counts per CPU column
 * @property {string} name the rest of the line (chip and action), spaces collapsed
 */

/**
 * @typedef {object} BootFacts
 * @property {boolean} init the /init marker was seen
 * @property {boolean} done the /init finished its report
 * @property {number | undefined} cpus CPUs /proc/cpuinfo listed
 * @property {string[]} dmesg every kernel log line (timestamp removed)
 * @property {string[]} xenLines the Xen-related dmesg lines, numbers replaced by N
 * @property {InterruptRow[]} interrupts the /proc/interrupts rows
 * @property {string[]} problems Oops / BUG / WARNING / panic lines
 */

/**
 * @param {string} log the serial log
 * @returns {BootFacts}
 */
export function bootFacts(log) {
  const lines = log.split(/\r?\n/)
  const dmesg = []
  for (const l of lines) {
    const m = /^\[\s*\d+\.\d+\] (.*)$/.exec(l)
    if (m) dmesg.push(/** @type {string} */ (m[1]))
  }
  const xenLines = [...new Set(dmesg.filter((l) => XEN_LINE.test(l)).map(stripNumbers))]
  const cpus = /^TSVMM-CPUS (\d+)$/m.exec(log)?.[1]
  const interrupts = []
  const begin = lines.indexOf('TSVMM-INTERRUPTS-BEGIN')
  const end = lines.indexOf('TSVMM-INTERRUPTS-END')
  if (begin >= 0 && end > begin) {
    // The kernel prints to the same serial port, so a dmesg line can land inside the report (a CI
    // run saw the header line lost this way). Count CPU columns from the header when it is whole,
    // else from the CPU count the /init printed; read only lines shaped like a row.
    const block = lines.slice(begin + 1, end)
    const header = block.find((l) => /^\s*CPU0(\s+CPU\d+)*\s*$/.test(l))
    const ncpu = header ? header.trim().split(/\s+/).length : Number(cpus ?? 1)
    for (const l of block) {
      if (!/^\s*[A-Za-z0-9]+:\s/.test(l)) continue
      const parts = l.trim().split(/\s+/)
      const irq = (parts[0] ?? '').replace(/:$/, '')
      const counts = []
      let i = 1
      for (; i <= ncpu && /^\d+$/.test(parts[i] ?? ''); i++) counts.push(Number(parts[i]))
      interrupts.push({ irq, perCpu: counts, name: parts.slice(i).join(' ') })
    }
  }
  return {
    init: /^TSVMM-INIT /m.test(log),
    done: /^TSVMM-DONE$/m.test(log),
    cpus: cpus === undefined ? undefined : Number(cpus),
    dmesg,
    xenLines,
    interrupts,
    problems: dmesg.filter((l) => /\bOops\b|\bBUG\b|\bWARNING\b|Kernel panic|Call Trace/.test(l)),
  }
}

/** @param {string} line */
export function stripNumbers(line) {
  return line.replace(/0x[0-9a-f]+/gi, 'N').replace(/\d+/g, 'N')
}

/**
 * The interrupt row whose name ends with `suffix` (e.g. "timer0"), or undefined.
 * @param {BootFacts} facts
 * @param {string} suffix
 */
export function interruptRow(facts, suffix) {
  return facts.interrupts.find((r) => r.name.endsWith(` ${suffix}`) || r.name === suffix)
}

/**
 * Names of the xen-* interrupt rows with the per-CPU digits stripped ("xen-percpu -virq timerN").
 * @param {BootFacts} facts
 */
export function xenInterruptNames(facts) {
  return [
    ...new Set(
      facts.interrupts.filter((r) => /xen-/.test(r.name)).map((r) => stripNumbers(r.name)),
    ),
  ].sort()
}
