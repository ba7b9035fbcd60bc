#!/usr/bin/env node
// The `tsvmm` executable: runs the program, then exits with its code once stdout has drained.
import { main } from './cli/tsvmm.js'

main(process.argv.slice(2)).then((code) => {
  process.stdout.write('', () => process.exit(code))
})
