#!/usr/bin/env node
// placeholder CLI, replaced by the reference VMM
console.log('tsvmm')
