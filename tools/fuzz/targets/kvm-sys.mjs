// kvm-sys argument fuzzing, in child processes where a signal is a failure. There is no
// /dev/kvm here, so this covers what loads and runs without one: the native addon's entry points
// (openKvm, attachVm/attachVcpu, createEventFd, setMaxBufferLength, the ioctl path of a device
// opened on /dev/null, where every ioctl that passes the argument checks ends in ENOTTY), the
// public Kvm/EventFd/KvmRun API, and the Vm/Vcpu methods' argument checks (on a recording
// stand-in for the addon's VM, as their unit tests do). Typed: KvmError.
import { spawnSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { anyValue, NASTY_NUMBERS, rng, tally } from '../harness.mjs'

const BATCH = 250

async function batch(count, seed) {
  const dist = new URL('../../../packages/kvm-sys/dist/', import.meta.url)
  const { EventFd, Kvm, KvmError, KvmRun, Vcpu, Vm } = await import(new URL('index.js', dist))
  const { loadNative } = await import(new URL('native.js', dist))
  const r = rng(seed)
  const n = loadNative()
  const t = tally('kvm-sys', (e) => e instanceof KvmError)
  const arg = () => (r.chance(0.4) ? r.pick(NASTY_NUMBERS) : anyValue(r))
  const recorder = {
    ioctl: () => 0,
    createVcpu: () => recorder,
    addMemoryRegion: () => 0n,
    removeMemoryRegion: () => undefined,
    regionBuffer: () => new ArrayBuffer(4096),
    regions: () => [],
    runBuffer: () => new ArrayBuffer(4096),
    run: () => 5,
    kick: () => undefined,
    close: () => undefined,
    closed: false,
    handle: 1,
    id: 0,
    vmHandle: 1,
  }
  const vm = Vm.wrap(recorder)
  const vcpu = Vcpu.wrap(recorder)
  const VM_METHODS = [
    'addMemoryRegion',
    'removeMemoryRegion',
    'createVcpu',
    'createPit2',
    'enableCap',
    'setGsiRouting',
    'irqLine',
    'signalMsi',
    'irqfd',
    'ioeventfd',
    'setTssAddr',
    'setIdentityMapAddr',
    'setTscKhz',
    'setClock',
    'xenHvmConfig',
    'xenHvmSetAttr',
    'xenHvmGetAttr',
    'xenEvtchnSend',
    'checkExtension',
  ]
  const VCPU_METHODS = [
    'setRegs',
    'setSregs',
    'setFpu',
    'setCpuid2',
    'getMsrs',
    'setMsrs',
    'setLapic',
    'interrupt',
    'setMpState',
    'setVcpuEvents',
    'setTscKhz',
    'xenVcpuSetAttr',
    'xenVcpuGetAttr',
  ]
  const dev = n.openKvm('/dev/null')
  const calls = [
    () => n.openKvm(r.pick(['/dev/null\0x', '', '/nonexistent', arg()])),
    () => n.attachVm(arg()),
    () => n.attachVcpu(arg()),
    () => n.createEventFd(arg(), arg(), arg()).close(),
    () => n.setMaxBufferLength(arg()),
    () =>
      dev.ioctl(
        r.chance(0.5) ? r.int(0, n.ioctls.length + 2) : arg(),
        r.chance(0.5)
          ? r.bytes(r.int(0, 600))
          : r.chance(0.5)
            ? new Uint8Array(new SharedArrayBuffer(r.int(0, 600)))
            : arg(),
      ),
    () => dev.createVm(arg()),
    () => Kvm.open(r.pick(['/dev/null', '/dev/kvm\0junk', arg()])),
    () =>
      EventFd.create(
        r.chance(0.5) ? {} : { initval: arg(), nonBlocking: arg(), semaphore: arg() },
      ).close(),
    () => {
      const e = EventFd.create()
      try {
        e.write(arg())
      } finally {
        e.close()
      }
    },
    () => vm[r.pick(VM_METHODS)](arg(), arg(), arg()),
    () => vcpu[r.pick(VCPU_METHODS)](arg(), arg()),
    () => {
      const run = new KvmRun(
        r.chance(0.5)
          ? new ArrayBuffer(4096)
          : (() => {
              const b = new ArrayBuffer(4096)
              structuredClone(b, { transfer: [b] })
              return b
            })(),
      )
      // Random exit data where the page is still there (a detached one has no bytes to write).
      if (run.bytes.length === 4096) run.bytes.set(r.bytes(64), r.int(0, 4000))
      run.exit()
    },
  ]
  for (let i = 0; i < count; i++) {
    if (i === Math.floor(count / 10)) t.warm()
    t.input(() => r.pick(calls)())
  }
  dev.close()
  t.report()
}

export function run(count, seed) {
  const t = tally('kvm-sys', () => false)
  const totals = {
    tried: 0,
    typed: 0,
    untyped: 0,
    examples: [],
    memStart: undefined,
    memWarm: 0,
    memEnd: 0,
  }
  const self = fileURLToPath(import.meta.url)
  for (let done = 0, b = 0; done < count; done += BATCH, b++) {
    const n = Math.min(BATCH, count - done)
    const child = spawnSync(
      process.execPath,
      [
        '--input-type=module',
        '-e',
        `import(${JSON.stringify(self)}).then((m) => m.batch(${n}, ${seed + b}))`,
      ],
      { encoding: 'utf8', timeout: 60_000 },
    )
    if (child.error?.code === 'ETIMEDOUT') t.hang(`batch ${b} (seed ${seed + b})`)
    else if (child.signal !== null)
      t.crash(`batch ${b} (seed ${seed + b}) killed by ${child.signal}`)
    else if (child.status !== 0)
      t.crash(`batch ${b} (seed ${seed + b}) exit ${child.status}: ${child.stderr.slice(0, 200)}`)
    const line = child.stdout?.trim().split('\n').at(-1)
    if (!line?.startsWith('{')) continue
    const res = JSON.parse(line)
    totals.tried += res.tried
    totals.typed += res.typed
    totals.untyped += res.untyped
    totals.examples.push(...res.examples)
    totals.memStart ??= res.memStart
    totals.memWarm = res.memWarm
    totals.memEnd = res.memEnd
  }
  // The children's figures, with this process's crash and hang counts.
  const own = JSON.parse(captureReport(t))
  console.log(
    JSON.stringify({
      ...own,
      tried: totals.tried,
      typed: totals.typed,
      untyped: totals.untyped,
      examples: [...own.examples, ...totals.examples].slice(0, 5),
      memStart: totals.memStart ?? 0,
      memWarm: totals.memWarm,
      memEnd: totals.memEnd,
      memNote: 'per child of 250 inputs (the last one)',
    }),
  )
}

function captureReport(t) {
  const log = console.log
  let out = ''
  console.log = (s) => {
    out = s
  }
  try {
    t.report()
  } finally {
    console.log = log
  }
  return out
}

export { batch }
