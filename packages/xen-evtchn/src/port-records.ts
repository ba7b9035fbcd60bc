// What the port table hands out: a port's record (snapshots, the kernel offload), the
// EVTCHNOP_status answer, and the two callbacks it is driven with.
import type { EvtchnStat } from './layout.js'

/** Called when the guest sends on a port bound to a backend. */
export type BackendHandler = (port: number) => void

/** How an event reaches guest memory: the userspace 2-level engine or the kernel. */
export type Deliver = (port: number, vcpu: number) => number

/** EVTCHNOP_status result. */
export interface PortStatus {
  /** EVTCHNSTAT_* value. */
  status: EvtchnStat
  /** The vCPU the port notifies. */
  vcpu: number
  /** unbound: the remote domain; interdomain: the peer's domain. */
  dom?: number
  /** interdomain: the peer port. */
  port?: number
  /** virq: the VIRQ number. */
  virq?: number
  /** pirq: the PIRQ number. */
  pirq?: number
}

/** One open port in a snapshot. */
export interface PortRecord {
  /** The event channel port number (evtchn_port_t), 1 .. portLimit - 1. */
  port: number
  /** EVTCHNSTAT_*: what the port is bound to, as EVTCHNOP_status reports it. */
  status: EvtchnStat
  /** The vCPU the port notifies (evtchn_status.vcpu); set by bind_virq/bind_ipi/bind_vcpu. */
  vcpu: number
  /** VIRQ number, PIRQ number, or the interdomain peer port. */
  value: number
  /** unbound/interdomain: the remote domain id. */
  remoteDom: number
}
