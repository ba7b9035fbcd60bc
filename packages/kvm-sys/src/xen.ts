// Xen HVM attributes of KVM (KVM_XEN_HVM_*_ATTR, KVM_XEN_VCPU_*_ATTR) as tagged objects, and the
// type number and KVM_XEN_HVM_CONFIG feature of each. Their encoding is in xen-codec.ts.
import {
  KVM_XEN_ATTR_TYPE_EVTCHN,
  KVM_XEN_ATTR_TYPE_LONG_MODE,
  KVM_XEN_ATTR_TYPE_RUNSTATE_UPDATE_FLAG,
  KVM_XEN_ATTR_TYPE_SHARED_INFO,
  KVM_XEN_ATTR_TYPE_SHARED_INFO_HVA,
  KVM_XEN_ATTR_TYPE_UPCALL_VECTOR,
  KVM_XEN_ATTR_TYPE_XEN_VERSION,
  KVM_XEN_HVM_CONFIG_EVTCHN_SEND,
  KVM_XEN_HVM_CONFIG_RUNSTATE,
  KVM_XEN_HVM_CONFIG_RUNSTATE_UPDATE_FLAG,
  KVM_XEN_HVM_CONFIG_SHARED_INFO,
  KVM_XEN_HVM_CONFIG_SHARED_INFO_HVA,
  KVM_XEN_VCPU_ATTR_TYPE_RUNSTATE_ADDR,
  KVM_XEN_VCPU_ATTR_TYPE_RUNSTATE_ADJUST,
  KVM_XEN_VCPU_ATTR_TYPE_RUNSTATE_CURRENT,
  KVM_XEN_VCPU_ATTR_TYPE_RUNSTATE_DATA,
  KVM_XEN_VCPU_ATTR_TYPE_TIMER,
  KVM_XEN_VCPU_ATTR_TYPE_UPCALL_VECTOR,
  KVM_XEN_VCPU_ATTR_TYPE_VCPU_ID,
  KVM_XEN_VCPU_ATTR_TYPE_VCPU_INFO,
  KVM_XEN_VCPU_ATTR_TYPE_VCPU_INFO_HVA,
  KVM_XEN_VCPU_ATTR_TYPE_VCPU_TIME_INFO,
} from './abi.js'

/** VM-wide Xen attributes (KVM_XEN_HVM_SET_ATTR / KVM_XEN_HVM_GET_ATTR). */
export type XenHvmAttr =
  /** 64-bit (true) or 32-bit shared_info layout. */
  | {
      /** KVM_XEN_ATTR_TYPE_LONG_MODE. */
      type: 'LONG_MODE'
      /** kvm_xen_hvm_attr.u.long_mode: true once the guest asked for 64-bit layouts. */
      longMode: boolean
    }
  /** shared_info by guest frame number; KVM_XEN_INVALID_GFN turns it off. */
  | {
      /** KVM_XEN_ATTR_TYPE_SHARED_INFO. */
      type: 'SHARED_INFO'
      /** kvm_xen_hvm_attr.u.shared_info.gfn: the guest frame (address >> 12) of shared_info. */
      gfn: bigint
    }
  /** shared_info by host virtual address inside a memory region; 0n turns it off. */
  | {
      /** KVM_XEN_ATTR_TYPE_SHARED_INFO_HVA. */
      type: 'SHARED_INFO_HVA'
      /** kvm_xen_hvm_attr.u.shared_info.hva: host address of shared_info in a MemoryRegion. */
      hva: bigint
    }
  /** The VM-wide upcall (callback) vector; 0 turns it off. */
  | {
      /** KVM_XEN_ATTR_TYPE_UPCALL_VECTOR. */
      type: 'UPCALL_VECTOR'
      /** kvm_xen_hvm_attr.u.vector: the vector injected when a vCPU has an upcall pending. */
      vector: number
    }
  /** Kernel handling of a guest EVTCHNOP_send on `sendPort` (see XenEvtchnAssignment). */
  | ({
      /** KVM_XEN_ATTR_TYPE_EVTCHN. */
      type: 'EVTCHN'
    } & XenEvtchnAssignment)
  /** The version XENVER_version reports when the kernel handles it. */
  | {
      /** KVM_XEN_ATTR_TYPE_XEN_VERSION. */
      type: 'XEN_VERSION'
      /** kvm_xen_hvm_attr.u.xen_version: major << 16 | minor, as XENVER_version returns it. */
      version: number
    }
  /** Whether the kernel sets XEN_RUNSTATE_UPDATE while it writes runstate areas. */
  | {
      /** KVM_XEN_ATTR_TYPE_RUNSTATE_UPDATE_FLAG. */
      type: 'RUNSTATE_UPDATE_FLAG'
      /** kvm_xen_hvm_attr.u.runstate_update_flag: flag state_entry_time during updates. */
      enabled: boolean
    }

/** The names of XenHvmAttr types. */
export type XenHvmAttrType = XenHvmAttr['type']

/**
 * KVM_XEN_ATTR_TYPE_EVTCHN: what the kernel does when the guest sends on `sendPort`.
 * `flags` is one of 0 (assign), KVM_XEN_EVTCHN_UPDATE, KVM_XEN_EVTCHN_DEASSIGN,
 * KVM_XEN_EVTCHN_RESET (not a bitmask).
 */
export interface XenEvtchnAssignment {
  /** kvm_xen_hvm_attr.u.evtchn.send_port: the guest port whose EVTCHNOP_send the kernel takes. */
  sendPort: number
  /** Xen's EVTCHNSTAT_ipi (5) or EVTCHNSTAT_interdomain (2), from xen/event_channel.h. */
  evtchnType: number
  /** kvm_xen_hvm_attr.u.evtchn.flags: 0 (assign) or one KVM_XEN_EVTCHN_* operation. */
  flags: number
  /** Loop the event back to a port of this guest, or signal an eventfd (fd number). */
  deliver:
    | {
        /** u.evtchn.deliver.port.port: the guest port raised by the send. */
        port: number
        /** u.evtchn.deliver.port.vcpu: that port's vCPU by KVM vCPU id (APIC ID). */
        vcpu: number
        /** u.evtchn.deliver.port.priority: default KVM_IRQ_ROUTING_XEN_EVTCHN_PRIO_2LEVEL. */
        priority?: number
      }
    | {
        /** u.evtchn.deliver.eventfd.fd: the eventfd signalled on each send. */
        eventfd: number
        /** u.evtchn.deliver.eventfd.port: must be 0 (the default). */
        port?: number
      }
}

/** Per-vCPU Xen attributes (KVM_XEN_VCPU_SET_ATTR / KVM_XEN_VCPU_GET_ATTR). */
export type XenVcpuAttr =
  /** vcpu_info by guest physical address; KVM_XEN_INVALID_GPA turns it off. */
  | {
      /** KVM_XEN_VCPU_ATTR_TYPE_VCPU_INFO. */
      type: 'VCPU_INFO'
      /** kvm_xen_vcpu_attr.u.gpa: guest physical address of this vCPU's vcpu_info (64 bytes). */
      gpa: bigint
    }
  /** vcpu_info by host virtual address inside a memory region; 0n turns it off. */
  | {
      /** KVM_XEN_VCPU_ATTR_TYPE_VCPU_INFO_HVA. */
      type: 'VCPU_INFO_HVA'
      /** kvm_xen_vcpu_attr.u.hva: host address of this vCPU's vcpu_info. */
      hva: bigint
    }
  /** A second pvclock vcpu_time_info by guest physical address. */
  | {
      /** KVM_XEN_VCPU_ATTR_TYPE_VCPU_TIME_INFO. */
      type: 'VCPU_TIME_INFO'
      /** kvm_xen_vcpu_attr.u.gpa: guest physical address of the vcpu_time_info (32 bytes). */
      gpa: bigint
    }
  /** The guest's vcpu_runstate_info by guest physical address. */
  | {
      /** KVM_XEN_VCPU_ATTR_TYPE_RUNSTATE_ADDR. */
      type: 'RUNSTATE_ADDR'
      /** kvm_xen_vcpu_attr.u.gpa: guest physical address of the vcpu_runstate_info. */
      gpa: bigint
    }
  /** The current runstate (RUNSTATE_running 0, runnable 1, blocked 2, offline 3). */
  | {
      /** KVM_XEN_VCPU_ATTR_TYPE_RUNSTATE_CURRENT. */
      type: 'RUNSTATE_CURRENT'
      /** kvm_xen_vcpu_attr.u.runstate.state: a RUNSTATE_* value. */
      state: number
    }
  /** All runstate times (absolute). */
  | ({
      /** KVM_XEN_VCPU_ATTR_TYPE_RUNSTATE_DATA. */
      type: 'RUNSTATE_DATA'
    } & XenRunstate)
  /** Runstate times to add (state -1n leaves the state alone). */
  | ({
      /** KVM_XEN_VCPU_ATTR_TYPE_RUNSTATE_ADJUST. */
      type: 'RUNSTATE_ADJUST'
    } & XenRunstate)
  /** The Xen vCPU id the guest uses in hypercalls. */
  | {
      /** KVM_XEN_VCPU_ATTR_TYPE_VCPU_ID. */
      type: 'VCPU_ID'
      /** kvm_xen_vcpu_attr.u.vcpu_id: the Xen vcpu_id (VCPUOP_*, event channel binds). */
      vcpuId: number
    }
  /** The singleshot timer: its event port and expiry (0n: stopped). */
  | {
      /** KVM_XEN_VCPU_ATTR_TYPE_TIMER. */
      type: 'TIMER'
      /** kvm_xen_vcpu_attr.u.timer.port: the VIRQ_TIMER port raised on expiry (0: none). */
      port: number
      /** kvm_xen_vcpu_attr.u.timer.priority: KVM_IRQ_ROUTING_XEN_EVTCHN_PRIO_2LEVEL. */
      priority: number
      /** kvm_xen_vcpu_attr.u.timer.expires_ns: deadline in Xen system time (ns). */
      expiresNs: bigint
    }
  /** The per-vCPU upcall vector (HVMOP_set_evtchn_upcall_vector); 0 turns it off. */
  | {
      /** KVM_XEN_VCPU_ATTR_TYPE_UPCALL_VECTOR. */
      type: 'UPCALL_VECTOR'
      /** kvm_xen_vcpu_attr.u.vector: the IDT vector injected through this vCPU's local APIC. */
      vector: number
    }

/** The names of XenVcpuAttr types. */
export type XenVcpuAttrType = XenVcpuAttr['type']

/** Runstate times of struct kvm_xen_vcpu_attr.u.runstate. */
export interface XenRunstate {
  /** u.runstate.state: RUNSTATE_running 0, runnable 1, blocked 2, offline 3. */
  state: bigint
  /** u.runstate.state_entry_time: Xen system time (ns) the state was entered. */
  stateEntryTime: bigint
  /** u.runstate.time_running: ns spent running. */
  timeRunning: bigint
  /** u.runstate.time_runnable: ns spent runnable (preempted, waiting for a host CPU). */
  timeRunnable: bigint
  /** u.runstate.time_blocked: ns spent blocked (halted, waiting for an event). */
  timeBlocked: bigint
  /** u.runstate.time_offline: ns spent offline (down, or not yet started). */
  timeOffline: bigint
}

/** Attribute type numbers and the KVM_XEN_HVM_CONFIG feature each needs. */
export const XEN_HVM_ATTR_TYPES: Record<XenHvmAttrType, { value: number; feature: number }> = {
  LONG_MODE: { value: KVM_XEN_ATTR_TYPE_LONG_MODE, feature: KVM_XEN_HVM_CONFIG_SHARED_INFO },
  SHARED_INFO: { value: KVM_XEN_ATTR_TYPE_SHARED_INFO, feature: KVM_XEN_HVM_CONFIG_SHARED_INFO },
  UPCALL_VECTOR: {
    value: KVM_XEN_ATTR_TYPE_UPCALL_VECTOR,
    feature: KVM_XEN_HVM_CONFIG_SHARED_INFO,
  },
  EVTCHN: { value: KVM_XEN_ATTR_TYPE_EVTCHN, feature: KVM_XEN_HVM_CONFIG_EVTCHN_SEND },
  XEN_VERSION: { value: KVM_XEN_ATTR_TYPE_XEN_VERSION, feature: KVM_XEN_HVM_CONFIG_EVTCHN_SEND },
  RUNSTATE_UPDATE_FLAG: {
    value: KVM_XEN_ATTR_TYPE_RUNSTATE_UPDATE_FLAG,
    feature: KVM_XEN_HVM_CONFIG_RUNSTATE_UPDATE_FLAG,
  },
  SHARED_INFO_HVA: {
    value: KVM_XEN_ATTR_TYPE_SHARED_INFO_HVA,
    feature: KVM_XEN_HVM_CONFIG_SHARED_INFO_HVA,
  },
}

/** vCPU attribute type numbers and the KVM_XEN_HVM_CONFIG feature each needs. */
export const XEN_VCPU_ATTR_TYPES: Record<XenVcpuAttrType, { value: number; feature: number }> = {
  VCPU_INFO: { value: KVM_XEN_VCPU_ATTR_TYPE_VCPU_INFO, feature: KVM_XEN_HVM_CONFIG_SHARED_INFO },
  VCPU_TIME_INFO: {
    value: KVM_XEN_VCPU_ATTR_TYPE_VCPU_TIME_INFO,
    feature: KVM_XEN_HVM_CONFIG_SHARED_INFO,
  },
  RUNSTATE_ADDR: {
    value: KVM_XEN_VCPU_ATTR_TYPE_RUNSTATE_ADDR,
    feature: KVM_XEN_HVM_CONFIG_RUNSTATE,
  },
  RUNSTATE_CURRENT: {
    value: KVM_XEN_VCPU_ATTR_TYPE_RUNSTATE_CURRENT,
    feature: KVM_XEN_HVM_CONFIG_RUNSTATE,
  },
  RUNSTATE_DATA: {
    value: KVM_XEN_VCPU_ATTR_TYPE_RUNSTATE_DATA,
    feature: KVM_XEN_HVM_CONFIG_RUNSTATE,
  },
  RUNSTATE_ADJUST: {
    value: KVM_XEN_VCPU_ATTR_TYPE_RUNSTATE_ADJUST,
    feature: KVM_XEN_HVM_CONFIG_RUNSTATE,
  },
  VCPU_ID: { value: KVM_XEN_VCPU_ATTR_TYPE_VCPU_ID, feature: KVM_XEN_HVM_CONFIG_EVTCHN_SEND },
  TIMER: { value: KVM_XEN_VCPU_ATTR_TYPE_TIMER, feature: KVM_XEN_HVM_CONFIG_EVTCHN_SEND },
  UPCALL_VECTOR: {
    value: KVM_XEN_VCPU_ATTR_TYPE_UPCALL_VECTOR,
    feature: KVM_XEN_HVM_CONFIG_EVTCHN_SEND,
  },
  VCPU_INFO_HVA: {
    value: KVM_XEN_VCPU_ATTR_TYPE_VCPU_INFO_HVA,
    feature: KVM_XEN_HVM_CONFIG_SHARED_INFO_HVA,
  },
}
