// Runs in the consumer's scratch folder against the installed tarballs: imports every entry point,
// uses the pure packages for real, and checks how kvm-sys fails without a KVM device.
// Prints one line per check and "N passed, N failed".
import { createRequire } from 'node:module'

let passed = 0
let failed = 0
/** Runs one check; a throw or a false result fails it. */
async function check(name, fn) {
  try {
    const detail = await fn()
    if (detail === false) throw new Error('check returned false')
    passed++
    console.log(`PASS  ${name}${typeof detail === 'string' ? `: ${detail}` : ''}`)
  } catch (e) {
    failed++
    console.log(`FAIL  ${name}: ${e instanceof Error ? e.message : String(e)}`)
  }
}
function expect(cond, what) {
  if (!cond) throw new Error(what)
}

// Every native library the process loads goes through process.dlopen: record them, so the
// checks can say which .node file kvm-sys used and that the pure entry points load none.
const loaded = []
const dlopen = process.dlopen
process.dlopen = function (module, filename, ...rest) {
  loaded.push(filename)
  return dlopen.call(this, module, filename, ...rest)
}

const require = createRequire(import.meta.url)
const mods = {}
await check('import the pure entry points without loading native code', async () => {
  for (const spec of [
    '@tsvmm/guest-memory',
    '@tsvmm/irq-routing',
    '@tsvmm/kvm-sys/abi',
    '@tsvmm/xen-evtchn',
    '@tsvmm/xenstore',
  ])
    mods[spec] = await import(spec)
  expect(loaded.length === 0, `loaded ${loaded.join(', ')}`)
})
await check(
  'import @tsvmm/kvm-sys and @tsvmm/xen-evtchn/kvm (native code loads on first use)',
  async () => {
    mods['@tsvmm/kvm-sys'] = await import('@tsvmm/kvm-sys')
    mods['@tsvmm/xen-evtchn/kvm'] = await import('@tsvmm/xen-evtchn/kvm')
    expect(typeof mods['@tsvmm/xen-evtchn/kvm'].KvmEvtchn === 'function', 'no KvmEvtchn')
    expect(loaded.length === 0, `loaded ${loaded.join(', ')} at import`)
  },
)
await check('require() of an ESM package works from CommonJS (Node >= 20.19)', () => {
  const m = require('@tsvmm/guest-memory')
  expect(typeof m.GuestMemory === 'function', 'no GuestMemory')
})

await check('@tsvmm/kvm-sys/abi constants', () => {
  const abi = mods['@tsvmm/kvm-sys/abi']
  expect(abi.KVM_IRQ_ROUTING_XEN_EVTCHN_PRIO_2LEVEL === 0xffffffff, 'PRIO_2LEVEL')
  expect(abi.KVM_IRQ_ROUTING_XEN_EVTCHN === 5, 'KVM_IRQ_ROUTING_XEN_EVTCHN')
  expect(
    mods['@tsvmm/kvm-sys'].abi.KVM_EXIT_HLT === abi.KVM_EXIT_HLT,
    'abi differs from kvm-sys.abi',
  )
})

await check('@tsvmm/guest-memory: little-endian round trip and a fault', () => {
  const { GuestMemory, GuestMemoryError } = mods['@tsvmm/guest-memory']
  const ram = new GuestMemory([
    { gpa: 0, bytes: new Uint8Array(new SharedArrayBuffer(0xa0000)) },
    { gpa: 0x100000, bytes: new Uint8Array(0x1000) },
  ])
  ram.writeU32(0x1000, 0xdeadbeef)
  expect(ram.readU16(0x1000) === 0xbeef, 'readU16')
  expect(ram.readU64(0x1000) === 0xdeadbeefn, 'readU64')
  ram.write(0x100ffe, new Uint8Array([1, 2]))
  expect(ram.read(0x100ffe, 2).join() === '1,2', 'read')
  expect(ram.testAndSetBit(0x2000, 70) === false && ram.testBit(0x2000, 70), 'bit ops')
  try {
    ram.readU32(0x9fffe)
  } catch (e) {
    expect(e instanceof GuestMemoryError && e.errno === -14, `wrong error ${e}`)
    return `fault ${e.fault}`
  }
  throw new Error('a read across the region end did not throw')
})

await check('@tsvmm/irq-routing: encode, decode, validate', () => {
  const { decodeRouting, encodedSize, encodeRouting, RoutingError, validateRouting } =
    mods['@tsvmm/irq-routing']
  const routes = [
    { gsi: 4, type: 'irqchip', irqchip: 2, pin: 4 },
    { gsi: 24, type: 'msi', addressLo: 0xfee0_0000, addressHi: 0, data: 0x4041 },
    { gsi: 25, type: 'xenEvtchn', port: 3, vcpu: 0 },
  ]
  const bytes = encodeRouting(routes, new Uint8Array(encodedSize(16)))
  expect(bytes.byteLength === 8 + 48 * 3, `size ${bytes.byteLength}`)
  const back = decodeRouting(bytes)
  expect(back.length === 3 && back[2].priority === 0xffffffff && back[1].data === 0x4041, 'decode')
  expect(Buffer.from(encodeRouting(back)).equals(Buffer.from(bytes)), 're-encode differs')
  try {
    validateRouting([{ ...routes[2], priority: 16 }])
  } catch (e) {
    expect(e instanceof RoutingError && e.code === 'EINVAL' && e.rule === 'xen-priority', `${e}`)
    return `${bytes.byteLength} bytes, bad priority rejected`
  }
  throw new Error('priority 16 was accepted')
})

await check('@tsvmm/xen-evtchn: EvtchnEngine delivers, coalesces, rejects', () => {
  const { GuestMemory } = mods['@tsvmm/guest-memory']
  const { EvtchnEngine, GEOMETRY_64 } = mods['@tsvmm/xen-evtchn']
  const memory = new GuestMemory([
    { gpa: 0, bytes: new Uint8Array(new SharedArrayBuffer(0x100000)) },
  ])
  const notified = []
  const engine = new EvtchnEngine({ memory, vcpus: 2, notify: (v) => notified.push(v) })
  const shinfo = 0x10000
  engine.setSharedInfo(shinfo)
  engine.setVcpuInfo(0, shinfo)
  engine.setVcpuInfo(1, shinfo + 64)
  expect(engine.setPending(70, 1) === 1, 'first setPending is not 1')
  expect(engine.setPending(70, 1) === 0, 'second setPending is not 0 (coalesced)')
  expect(engine.setPending(0, 1) === -22, 'port 0 is not -EINVAL')
  expect(notified.join() === '1', `notified ${notified.join()}`)
  // Xen's layout: the pending bit in shared_info, selector bit 70/64 = 1 and upcall_pending in
  // vCPU 1's vcpu_info.
  expect(memory.testBit(shinfo + GEOMETRY_64.pendingOffset, 70), 'pending bit clear')
  expect(memory.readU64(shinfo + 64 + GEOMETRY_64.selectorOffset) === 2n, 'selector')
  expect(memory.readU8(shinfo + 64) === 1, 'upcall_pending')
  return 'port 70 -> vCPU 1'
})

await check('@tsvmm/xenstore: a READ through the ring, a typed error', () => {
  const { XenstoreServer, XenstoreError, XENSTORE_INTERFACE: I, XsType } = mods['@tsvmm/xenstore']
  const page = new Uint8Array(new SharedArrayBuffer(4096))
  let kicks = 0
  const server = new XenstoreServer({ domid: 1, ring: page, notify: () => kicks++ })
  server.store.write(0, 0, '/local/domain/1/name', 'guest')
  server.store.setPerms(0, 0, '/local/domain/1/name', [
    { access: 'n', domid: 0 },
    { access: 'r', domid: 1 },
  ])
  const dv = new DataView(page.buffer)
  const path = new TextEncoder().encode('/local/domain/1/name\0')
  for (const [i, v] of [XsType.READ, 9, 0, path.length].entries()) dv.setUint32(i * 4, v, true)
  page.set(path, 16)
  dv.setUint32(I.reqProd, 16 + path.length, true)
  server.process()
  const len = dv.getUint32(I.rsp + 12, true)
  const value = new TextDecoder().decode(page.subarray(I.rsp + 16, I.rsp + 16 + len))
  expect(value === 'guest' && kicks === 1, `read ${JSON.stringify(value)}, ${kicks} kicks`)
  try {
    server.store.read(0, 0, 'bad//path')
  } catch (e) {
    expect(e instanceof XenstoreError && e.code === 'EINVAL' && e.errno === -22, `${e}`)
    return 'READ answered, bad path is EINVAL'
  }
  throw new Error('a bad path was accepted')
})

await check("Kvm.open('/nonexistent/kvm') throws KvmError ENOENT with a hint", () => {
  const { isKvmError, Kvm, KvmError } = mods['@tsvmm/kvm-sys']
  try {
    Kvm.open('/nonexistent/kvm')
  } catch (e) {
    expect(e instanceof KvmError && isKvmError(e), `not a KvmError: ${e?.stack ?? e}`)
    expect(e.code === 'ENOENT' && e.errno === -2 && e.syscall === 'open', `${e.code} ${e.syscall}`)
    expect(typeof e.hint === 'string' && e.hint.length > 0, 'no hint')
    return e.message
  }
  throw new Error('Kvm.open of a missing path did not throw')
})

await check('kvm-sys loaded its Node-API prebuild, not a local build', () => {
  const addon = loaded.filter((f) => f.includes('@tsvmm/kvm-sys'))
  expect(addon.length === 1, `loaded ${loaded.join(', ') || 'nothing'}`)
  expect(/\/prebuilds\/linux-x64\/[^/]*\.napi\.[^/]*node$/.test(addon[0]), addon[0])
  return addon[0].slice(addon[0].indexOf('node_modules'))
})

console.log(`${passed} passed, ${failed} failed`)
process.exit(failed === 0 ? 0 : 1)
