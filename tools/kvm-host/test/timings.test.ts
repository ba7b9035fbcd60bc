import { describe, expect, it } from 'vitest'
import { Timings } from '../lib/timings.mjs'

describe('Timings', () => {
  it('prints each step with the time since the previous mark, and the total', () => {
    let now = 1000
    const t = new Timings(() => now)
    now += 1500
    t.mark('prepare')
    now += 250
    t.mark('payload')
    now += 4000
    t.mark('init')
    t.mark('payload') // a repeated mark keeps the first
    expect(t.summary()).toBe('prepare 1.5 s, payload 0.3 s, init 4.0 s; total 5.8 s')
  })
})
