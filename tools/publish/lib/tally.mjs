// Counts checks and prints the plain "N passed, N failed" line CI reads.

/** A pass/fail counter that prints each verdict as it comes. */
export class Tally {
  passed = 0
  failed = 0
  /** @type {string[]} */
  failures = []

  /**
   * Records one check.
   * @param {string} name what was checked
   * @param {boolean} ok
   * @param {string[]} [details] printed under the verdict (reasons on failure, notes on success)
   * @returns {boolean} ok
   */
  check(name, ok, details = []) {
    if (ok) this.passed++
    else {
      this.failed++
      this.failures.push(name)
    }
    console.log(`${ok ? 'PASS' : 'FAIL'}  ${name}`)
    for (const d of details) console.log(`      ${d}`)
    return ok
  }

  /**
   * Prints the summary line and returns the process exit code.
   * @returns {number}
   */
  finish() {
    if (this.failures.length > 0) console.log(`\nfailed: ${this.failures.join('; ')}`)
    console.log(`${this.passed} passed, ${this.failed} failed`)
    return this.failed === 0 ? 0 : 1
  }
}
