// The bumps changeset-check expects from `changeset version`.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { bump, expectedVersions } from '../lib/changesets.mjs'

const graph = new Map([
  ['@tsvmm/kvm-sys', { version: '0.1.0', private: false, deps: [] }],
  ['@tsvmm/guest-memory', { version: '1.2.3', private: false, deps: [] }],
  ['@tsvmm/irq-routing', { version: '0.1.0', private: false, deps: ['@tsvmm/kvm-sys'] }],
  [
    '@tsvmm/xen-evtchn',
    { version: '0.2.0', private: false, deps: ['@tsvmm/guest-memory', '@tsvmm/irq-routing'] },
  ],
  ['@tsvmm/vmm', { version: '0.0.0', private: true, deps: ['@tsvmm/xen-evtchn'] }],
])

test('bump', () => {
  assert.equal(bump('0.0.0', 'minor'), '0.1.0')
  assert.equal(bump('0.1.9', 'patch'), '0.1.10')
  assert.equal(bump('1.2.3', 'major'), '2.0.0')
  assert.throws(() => bump('1.0.0-rc.1', 'patch'))
})

test('dependents, transitively, get a patch; private packages stay put', () => {
  const v = expectedVersions(graph, { '@tsvmm/kvm-sys': 'minor' })
  assert.deepEqual(Object.fromEntries(v), {
    '@tsvmm/kvm-sys': '0.2.0',
    '@tsvmm/guest-memory': '1.2.3',
    '@tsvmm/irq-routing': '0.1.1',
    '@tsvmm/xen-evtchn': '0.2.1',
    '@tsvmm/vmm': '0.0.0',
  })
})

test('an explicit release wins over the dependent patch', () => {
  const v = expectedVersions(graph, { '@tsvmm/kvm-sys': 'patch', '@tsvmm/irq-routing': 'major' })
  assert.equal(v.get('@tsvmm/irq-routing'), '1.0.0')
  assert.equal(v.get('@tsvmm/xen-evtchn'), '0.2.1')
  assert.equal(v.get('@tsvmm/guest-memory'), '1.2.3')
})
