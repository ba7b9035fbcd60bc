import { describe, expect, it } from 'vitest'
import { EVTCHNSTAT, VIRQ } from '../src/index.js'
import {
  desiredBackends,
  desiredSends,
  desiredTimers,
  KernelPorts,
  type KernelSend,
} from '../src/kernel-ports.js'
import type { PortRecord } from '../src/port-records.js'

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
    // A backend port is the kernel's only once a backend handler is attached.
    expect([...desiredBackends(ports, () => false)]).toEqual([])
    expect([...desiredBackends(ports, (p) => p === 4)]).toEqual([[4, 0]])
  })

  it('changes only what changed in KVM', () => {
    const log: string[] = []
    let refuse = false
    const k = new KernelPorts(
      {
        assign: (s: KernelSend) => log.push(`assign ${s.sendPort}->${s.port}@${s.vcpu}`) > 0,
        deassign: (p) => log.push(`deassign ${p}`),
        setTimerPort: (v, p) => log.push(`timer ${v}=${p}`) > 0,
        addBackend: (p, v) =>
          log.push(`backend ${p}@${v}${refuse ? ' refused' : ''}`) > 0 && !refuse,
        moveBackend: (p, v) => log.push(`move ${p}@${v}`) > 0,
        dropBackend: (p) => log.push(`drop ${p}`),
      },
      2,
      1,
    )
    const backend = (p: number) => p === 3
    k.sync([rec(1, EVTCHNSTAT.ipi, 0), rec(2, EVTCHNSTAT.virq, 0, VIRQ.TIMER)], backend)
    k.sync([rec(1, EVTCHNSTAT.ipi, 0), rec(2, EVTCHNSTAT.virq, 0, VIRQ.TIMER)], backend)
    // bind_vcpu moves nothing for IPIs, but a rebind on another vCPU does.
    k.sync([rec(1, EVTCHNSTAT.ipi, 1)], backend)
    // A backend the kernel refuses is tried again on the next sync; then moved, then dropped.
    refuse = true
    k.sync([rec(1, EVTCHNSTAT.ipi, 1), rec(3, EVTCHNSTAT.interdomain, 0, 3, 0)], backend)
    refuse = false
    k.sync([rec(1, EVTCHNSTAT.ipi, 1), rec(3, EVTCHNSTAT.interdomain, 0, 3, 0)], backend)
    k.sync([rec(1, EVTCHNSTAT.ipi, 1), rec(3, EVTCHNSTAT.interdomain, 1, 3, 0)], backend)
    expect(k.backends).toEqual(new Map([[3, 1]]))
    k.sync([], backend)
    expect(log).toEqual([
      'assign 1->1@0',
      'timer 0=2',
      'deassign 1',
      'assign 1->1@1',
      'timer 0=0',
      'backend 3@0 refused',
      'backend 3@0',
      'move 3@1',
      'deassign 1',
      'drop 3',
    ])
    expect(k.assigned.size).toBe(0)
    expect(k.backends.size).toBe(0)
  })
})
