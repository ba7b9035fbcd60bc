// Sums vitest JSON reports. A suite that failed to load counts as one failure.
/** @param {Array<{numPassedTests:number,numFailedTests:number,testResults:Array<{status:string,assertionResults:unknown[]}>}>} reports */
export function countResults(reports) {
  let passed = 0
  let failed = 0
  let missing = 0
  for (const r of reports) {
    passed += r.numPassedTests
    failed += r.numFailedTests
    // A file that threw before any test ran has status "failed" and no assertions.
    for (const f of r.testResults)
      if (f.status === 'failed' && f.assertionResults.length === 0) missing++
  }
  return { passed, failed, missing }
}
