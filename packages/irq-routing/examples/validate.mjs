// Check a table against the rules KVM_SET_GSI_ROUTING applies on x86, before the ioctl.
import { checkRouting, RoutingError, validateRouting } from '@tsvmm/irq-routing'

const table = [
  { gsi: 24, type: 'msi', addressLo: 0xfee0_0000, addressHi: 0, data: 0x31 },
  { gsi: 25, type: 'xenEvtchn', port: 3, vcpu: 0, priority: 16 }, // KVM wants 0xffffffff
]

try {
  validateRouting(table, { maxRoutes: 4096 })
} catch (error) {
  if (!(error instanceof RoutingError)) throw error
  console.log(`${error.name} ${error.code} rule=${error.rule} index=${error.index}`)
  console.log(error.message)
}

// The non-throwing form, e.g. inside a VMM that must never throw at a guest's request:
const fixed = table.map((e) => (e.type === 'xenEvtchn' ? { ...e, priority: 0xffff_ffff } : e))
console.log(checkRouting(fixed) === undefined ? 'fixed table: KVM accepts it' : 'still rejected')
