// Where the time of one run went, for --timings and the README.

/** Records named points in time and prints the steps between them. */
export class Timings {
  constructor(now = () => performance.now()) {
    this.now = now
    this.start = now()
    /** @type {[string, number][]} */
    this.points = []
  }

  /**
   * Marks the end of a step (a repeated name keeps the first mark).
   * @param {string} step
   */
  mark(step) {
    if (!this.points.some(([s]) => s === step)) this.points.push([step, this.now()])
  }

  /**
   * One line: each step with its duration, then the total, e.g. `prepare 0.1 s, ... total 14.2 s`.
   * Steps are named by the mark that ends them: `init` is QEMU start to /init, `modules` the
   * module loading, `command` the command itself, `shutdown` the way from its exit to QEMU's.
   */
  summary() {
    let prev = this.start
    const parts = this.points.map(([s, at]) => {
      const d = at - prev
      prev = at
      return `${s} ${(d / 1000).toFixed(1)} s`
    })
    return `${parts.join(', ')}; total ${((prev - this.start) / 1000).toFixed(1)} s`
  }
}
