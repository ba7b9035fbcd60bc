// An eventfd on the event loop: two signals before the loop turns arrive as one call.
import { EventFd } from '@tsvmm/kvm-sys'

// A watch keeps no process alive (in a VMM, the vCPU workers do): this timer stands in for them.
const alive = setInterval(() => {}, 1000)
const fd = EventFd.create()
fd.watch((count) => {
  console.log(`signalled, counter ${count}`) // signalled, counter 3
  fd.close()
  clearInterval(alive)
})
fd.write(1)
fd.write(2)
