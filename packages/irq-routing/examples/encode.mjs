// Encode a GSI routing table as struct kvm_irq_routing, and decode it back.
import { decodeRouting, encodedSize, encodeRouting } from '@tsvmm/irq-routing'

const routes = [
  { gsi: 4, type: 'irqchip', irqchip: 2, pin: 4 }, // IOAPIC pin 4
  { gsi: 24, type: 'msi', addressLo: 0xfee0_0000, addressHi: 0, data: 0x4041 },
  { gsi: 25, type: 'xenEvtchn', port: 3, vcpu: 0 }, // priority defaults to 2LEVEL
]

// A VMM re-sends the whole table on every change: keep one buffer for it.
const buffer = new Uint8Array(encodedSize(4096))
const bytes = encodeRouting(routes, buffer) // a view of exactly 8 + 48 * 3 bytes
console.log(`${bytes.byteLength} bytes, nr = ${new DataView(bytes.buffer).getUint32(0, true)}`)

for (const route of decodeRouting(bytes)) console.log(JSON.stringify(route))
