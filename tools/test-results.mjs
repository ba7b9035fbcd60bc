// Sums vitest JSON reports. A suite that failed to load counts as one failure.
// Skipped and todo tests are counted too: the project allows none (a skip hides a test from the
// "N passed, N failed" line), so the summary shows them and run-tests.mjs fails the run on them.
/** @param {Array<{numPassedTests:number,numFailedTests:number,numPendingTests?:number,numTodoTests?:number,testResults:Array<{status:string,assertionResults:unknown[]}>}>} reports */
export function countResults(reports) {
  let passed = 0
  let failed = 0
  let missing = 0
  let skipped = 0
  for (const r of reports) {
    passed += r.numPassedTests
    failed += r.numFailedTests
    skipped += (r.numPendingTests ?? 0) + (r.numTodoTests ?? 0)
    // A file that threw before any test ran has status "failed" and no assertions.
    for (const f of r.testResults)
      if (f.status === 'failed' && f.assertionResults.length === 0) missing++
  }
  return { passed, failed, missing, skipped }
}

/**
 * The line CI reads: "N passed, N failed", then ", N skipped" when any test was skipped.
 * @param {{passed:number, failed:number, skipped:number}} c
 */
export function summaryLine(c) {
  return `${c.passed} passed, ${c.failed} failed${c.skipped > 0 ? `, ${c.skipped} skipped` : ''}`
}

/**
 * The tier's outcome: a runner that failed with no failed test counts as one failure; the exit
 * code is 1 on any failure or skipped test.
 * @param {{status:number, passed:number, failed:number, missing:number, skipped:number}} c
 */
export function tierOutcome(c) {
  const failed = c.failed + c.missing + (c.status !== 0 && c.failed === 0 ? 1 : 0)
  return {
    line: summaryLine({ passed: c.passed, failed, skipped: c.skipped }),
    exitCode: c.status !== 0 || failed > 0 || c.skipped > 0 ? 1 : 0,
  }
}
