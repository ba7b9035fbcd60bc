// The README's pure examples run as written (against the built package) and print what it says.
import { execFileSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'

const run = (name: string) =>
  execFileSync(process.execPath, [fileURLToPath(new URL(`../examples/${name}`, import.meta.url))], {
    encoding: 'utf8',
  })

describe('examples', () => {
  it('encode.mjs encodes three routes and decodes them with every field', () => {
    expect(run('encode.mjs').trim().split('\n')).toEqual([
      '152 bytes, nr = 3',
      '{"gsi":4,"type":"irqchip","irqchip":2,"pin":4}',
      '{"gsi":24,"type":"msi","addressLo":4276092928,"addressHi":0,"data":16449}',
      '{"gsi":25,"type":"xenEvtchn","port":3,"vcpu":0,"priority":4294967295}',
    ])
  })

  it('validate.mjs names the broken rule, then accepts the fixed table', () => {
    expect(run('validate.mjs').trim().split('\n')).toEqual([
      'RoutingError EINVAL rule=xen-priority index=1',
      'xen-priority: entry 1: priority 16 is not KVM_IRQ_ROUTING_XEN_EVTCHN_PRIO_2LEVEL (0xffffffff)',
      'fixed table: KVM accepts it',
    ])
  })
})
