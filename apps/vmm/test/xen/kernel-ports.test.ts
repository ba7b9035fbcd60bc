import { EVTCHNSTAT, type PortRecord, VIRQ } from '@tsvmm/xen-evtchn'
import { describe, expect, it } from 'vitest'
import {
  desiredSends,
  desiredTimers,
  KernelPorts,
  type KernelSend,
} from '../../src/xen/kernel-ports.js'

const rec = (port: number, status: number, vcpu: number, value = 0, remoteDom = 0): PortRecord =>
  ({ port, status, vcpu, value, remoteDom }) as PortRecord

describe('kernel port offload', () => {
  it('assigns IPIs to themselves and loopback pairs to their peer; not backends', () => {
    const ports = [
      rec(1, EVTCHNSTAT.ipi, 1),
      rec(2, EVTCHNSTAT.interdomain, 0, 3, 1),
      rec(3, EVTCHNSTAT.interdomain, 1, 2, 1),
      rec(4, EVTCHNSTAT.interdomain, 0, 4, 0), // backend (domain 0)
      rec(5, EVTCHNSTAT.unbound, 0, 0, 1),
      rec(6, EVTCHNSTAT.virq, 1, VIRQ.TIMER),
    ]
    expect([...desiredSends(ports, 1).values()]).toEqual([
      { sendPort: 1, evtchnType: EVTCHNSTAT.ipi, port: 1, vcpu: 1 },
      { sendPort: 2, evtchnType: EVTCHNSTAT.interdomain, port: 3, vcpu: 1 },
      { sendPort: 3, evtchnType: EVTCHNSTAT.interdomain, port: 2, vcpu: 0 },
    ])
    expect(desiredTimers(ports, 2)).toEqual([0, 6])
  })

  it('changes only what changed in KVM', () => {
    const log: string[] = []
    const k = new KernelPorts(
      {
        assign: (s: KernelSend) => log.push(`assign ${s.sendPort}->${s.port}@${s.vcpu}`),
        deassign: (p) => log.push(`deassign ${p}`),
        setTimerPort: (v, p) => log.push(`timer ${v}=${p}`),
      },
      2,
      1,
    )
    k.sync([rec(1, EVTCHNSTAT.ipi, 0), rec(2, EVTCHNSTAT.virq, 0, VIRQ.TIMER)])
    k.sync([rec(1, EVTCHNSTAT.ipi, 0), rec(2, EVTCHNSTAT.virq, 0, VIRQ.TIMER)])
    // bind_vcpu moves nothing for IPIs, but a rebind on another vCPU does.
    k.sync([rec(1, EVTCHNSTAT.ipi, 1)])
    k.sync([])
    expect(log).toEqual([
      'assign 1->1@0',
      'timer 0=2',
      'deassign 1',
      'assign 1->1@1',
      'timer 0=0',
      'deassign 1',
    ])
    expect(k.assigned.size).toBe(0)
  })
})
