// Xen attributes (xen.ts) encoded into struct kvm_xen_hvm_attr / kvm_xen_vcpu_attr and back,
// with offsets from abi.ts. Encoding checks the tag and every field first: a bad one is a
// KvmError 'EINVAL' naming the ioctl (an unknown type, a vector over 255, a number where a raw
// u64 bigint belongs), never a TypeError and never a value silently cut to its C width.
import {
  KVM_IRQ_ROUTING_XEN_EVTCHN_PRIO_2LEVEL,
  kvm_xen_hvm_attr,
  kvm_xen_vcpu_attr,
} from './abi.js'
import { flag, object, oneOf, u64Big, uint } from './args.js'
import {
  XEN_HVM_ATTR_TYPES,
  XEN_VCPU_ATTR_TYPES,
  type XenHvmAttr,
  type XenHvmAttrType,
  type XenRunstate,
  type XenVcpuAttr,
  type XenVcpuAttrType,
} from './xen.js'

const view = (b: Uint8Array) => new DataView(b.buffer, b.byteOffset, b.byteLength)
const HVM = 'KVM_XEN_HVM_SET_ATTR'
const VCPU = 'KVM_XEN_VCPU_SET_ATTR'

/** A struct kvm_xen_hvm_attr of `type` with an empty union (for GET_ATTR). */
export function emptyXenHvmAttr(type: XenHvmAttrType): Uint8Array {
  const t = oneOf('KVM_XEN_HVM_GET_ATTR', 'type', type, XEN_HVM_ATTR_TYPES)
  const b = new Uint8Array(kvm_xen_hvm_attr.size)
  view(b).setUint16(kvm_xen_hvm_attr.type, XEN_HVM_ATTR_TYPES[t].value, true)
  return b
}

/** XenHvmAttr -> struct kvm_xen_hvm_attr. */
export function encodeXenHvmAttr(attr: XenHvmAttr): Uint8Array {
  const a = object<XenHvmAttr>(HVM, 'attr', attr)
  const type = oneOf(HVM, 'attr.type', a.type, XEN_HVM_ATTR_TYPES)
  const b = new Uint8Array(kvm_xen_hvm_attr.size)
  const v = view(b)
  v.setUint16(kvm_xen_hvm_attr.type, XEN_HVM_ATTR_TYPES[type].value, true)
  const u = kvm_xen_hvm_attr.u
  switch (a.type) {
    case 'LONG_MODE':
      v.setUint8(u.long_mode, flag(HVM, 'longMode', a.longMode) ? 1 : 0)
      break
    case 'SHARED_INFO':
      v.setBigUint64(u.shared_info.gfn, u64Big(HVM, 'gfn', a.gfn), true)
      break
    case 'SHARED_INFO_HVA':
      v.setBigUint64(u.shared_info.hva, u64Big(HVM, 'hva', a.hva), true)
      break
    case 'UPCALL_VECTOR':
      v.setUint8(u.vector, uint(HVM, 'vector', a.vector, 8))
      break
    case 'XEN_VERSION':
      v.setUint32(u.xen_version, uint(HVM, 'version', a.version), true)
      break
    case 'RUNSTATE_UPDATE_FLAG':
      v.setUint8(u.runstate_update_flag, flag(HVM, 'enabled', a.enabled) ? 1 : 0)
      break
    case 'EVTCHN': {
      const e = u.evtchn
      v.setUint32(e.send_port, uint(HVM, 'sendPort', a.sendPort), true)
      v.setUint32(e.type, uint(HVM, 'evtchnType', a.evtchnType), true)
      v.setUint32(e.flags, uint(HVM, 'flags', a.flags), true)
      const d = object<Record<string, unknown>>(HVM, 'deliver', a.deliver)
      if ('eventfd' in d) {
        v.setUint32(e.deliver.eventfd.port, uint(HVM, 'deliver.port', d.port ?? 0), true)
        v.setInt32(e.deliver.eventfd.fd, uint(HVM, 'deliver.eventfd', d.eventfd, 31), true)
      } else {
        const priority = d.priority ?? KVM_IRQ_ROUTING_XEN_EVTCHN_PRIO_2LEVEL
        v.setUint32(e.deliver.port.port, uint(HVM, 'deliver.port', d.port), true)
        v.setUint32(e.deliver.port.vcpu, uint(HVM, 'deliver.vcpu', d.vcpu), true)
        v.setUint32(e.deliver.port.priority, uint(HVM, 'deliver.priority', priority), true)
      }
      break
    }
  }
  return b
}

/** struct kvm_xen_hvm_attr (as GET_ATTR filled it) -> XenHvmAttr of `type`. */
export function decodeXenHvmAttr(type: XenHvmAttrType, b: Uint8Array): XenHvmAttr {
  const v = view(b)
  const u = kvm_xen_hvm_attr.u
  switch (type) {
    case 'LONG_MODE':
      return { type, longMode: v.getUint8(u.long_mode) !== 0 }
    case 'SHARED_INFO':
      return { type, gfn: v.getBigUint64(u.shared_info.gfn, true) }
    case 'SHARED_INFO_HVA':
      return { type, hva: v.getBigUint64(u.shared_info.hva, true) }
    case 'UPCALL_VECTOR':
      return { type, vector: v.getUint8(u.vector) }
    case 'XEN_VERSION':
      return { type, version: v.getUint32(u.xen_version, true) }
    case 'RUNSTATE_UPDATE_FLAG':
      return { type, enabled: v.getUint8(u.runstate_update_flag) !== 0 }
    case 'EVTCHN': {
      const e = u.evtchn
      return {
        type,
        sendPort: v.getUint32(e.send_port, true),
        evtchnType: v.getUint32(e.type, true),
        flags: v.getUint32(e.flags, true),
        deliver: {
          port: v.getUint32(e.deliver.port.port, true),
          vcpu: v.getUint32(e.deliver.port.vcpu, true),
          priority: v.getUint32(e.deliver.port.priority, true),
        },
      }
    }
  }
}

/** A struct kvm_xen_vcpu_attr of `type` with an empty union (for GET_ATTR). */
export function emptyXenVcpuAttr(type: XenVcpuAttrType): Uint8Array {
  const t = oneOf('KVM_XEN_VCPU_GET_ATTR', 'type', type, XEN_VCPU_ATTR_TYPES)
  const b = new Uint8Array(kvm_xen_vcpu_attr.size)
  view(b).setUint16(kvm_xen_vcpu_attr.type, XEN_VCPU_ATTR_TYPES[t].value, true)
  return b
}

const RUNSTATE_FIELDS = [
  ['state', 'state'],
  ['stateEntryTime', 'state_entry_time'],
  ['timeRunning', 'time_running'],
  ['timeRunnable', 'time_runnable'],
  ['timeBlocked', 'time_blocked'],
  ['timeOffline', 'time_offline'],
] as const

/** XenVcpuAttr -> struct kvm_xen_vcpu_attr. */
export function encodeXenVcpuAttr(attr: XenVcpuAttr): Uint8Array {
  const a = object<XenVcpuAttr>(VCPU, 'attr', attr)
  const type = oneOf(VCPU, 'attr.type', a.type, XEN_VCPU_ATTR_TYPES)
  const b = new Uint8Array(kvm_xen_vcpu_attr.size)
  const v = view(b)
  v.setUint16(kvm_xen_vcpu_attr.type, XEN_VCPU_ATTR_TYPES[type].value, true)
  const u = kvm_xen_vcpu_attr.u
  switch (a.type) {
    case 'VCPU_INFO':
    case 'VCPU_TIME_INFO':
    case 'RUNSTATE_ADDR':
      v.setBigUint64(u.gpa, u64Big(VCPU, 'gpa', a.gpa), true)
      break
    case 'VCPU_INFO_HVA':
      v.setBigUint64(u.hva, u64Big(VCPU, 'hva', a.hva), true)
      break
    case 'RUNSTATE_CURRENT':
      v.setBigUint64(u.runstate.state, BigInt(uint(VCPU, 'state', a.state)), true)
      break
    case 'RUNSTATE_DATA':
    case 'RUNSTATE_ADJUST':
      for (const [js, c] of RUNSTATE_FIELDS)
        v.setBigUint64(u.runstate[c], u64Big(VCPU, js, a[js]), true)
      break
    case 'VCPU_ID':
      v.setUint32(u.vcpu_id, uint(VCPU, 'vcpuId', a.vcpuId), true)
      break
    case 'TIMER':
      v.setUint32(u.timer.port, uint(VCPU, 'port', a.port), true)
      v.setUint32(u.timer.priority, uint(VCPU, 'priority', a.priority), true)
      v.setBigUint64(u.timer.expires_ns, u64Big(VCPU, 'expiresNs', a.expiresNs), true)
      break
    case 'UPCALL_VECTOR':
      v.setUint8(u.vector, uint(VCPU, 'vector', a.vector, 8))
      break
  }
  return b
}

/** struct kvm_xen_vcpu_attr (as GET_ATTR filled it) -> XenVcpuAttr of `type`. */
export function decodeXenVcpuAttr(type: XenVcpuAttrType, b: Uint8Array): XenVcpuAttr {
  const v = view(b)
  const u = kvm_xen_vcpu_attr.u
  switch (type) {
    case 'VCPU_INFO':
    case 'VCPU_TIME_INFO':
    case 'RUNSTATE_ADDR':
      return { type, gpa: v.getBigUint64(u.gpa, true) }
    case 'VCPU_INFO_HVA':
      return { type, hva: v.getBigUint64(u.hva, true) }
    case 'RUNSTATE_CURRENT':
      return { type, state: Number(v.getBigUint64(u.runstate.state, true)) }
    case 'RUNSTATE_DATA':
    case 'RUNSTATE_ADJUST': {
      const r = {} as XenRunstate
      for (const [js, c] of RUNSTATE_FIELDS) r[js] = v.getBigUint64(u.runstate[c], true)
      return { type, ...r }
    }
    case 'VCPU_ID':
      return { type, vcpuId: v.getUint32(u.vcpu_id, true) }
    case 'TIMER':
      return {
        type,
        port: v.getUint32(u.timer.port, true),
        priority: v.getUint32(u.timer.priority, true),
        expiresNs: v.getBigUint64(u.timer.expires_ns, true),
      }
    case 'UPCALL_VECTOR':
      return { type, vector: v.getUint8(u.vector) }
  }
}
