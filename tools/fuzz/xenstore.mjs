#!/usr/bin/env node
// Fuzz target for @tsvmm/xenstore: a hostile guest drives a XenstoreServer through a real ring
// page with random messages (well-formed requests of every type over a small vocabulary, random
// payload bytes, illegal lengths) and random ring states (lying indexes, scribbled ring bytes,
// reconnection requests), while the host writes, watches and snapshots/restores the store.
// Counts crashes (anything thrown that is not a XenstoreError from a host call), hangs (a
// process() call using over 1 s of CPU, or one that never stops asking to be called again) and
// heap growth.
//   node --expose-gc tools/fuzz/xenstore.mjs [--count N] [--seed S]   (default N = 100000)
// Prints a human summary and one JSON line; exits 1 on any crash or hang. Needs `pnpm build`.
import { performance } from 'node:perf_hooks'
import {
  XENSTORE_INTERFACE as I,
  XENSTORE_RECONNECT,
  XenstoreError,
  XenstoreServer,
  XsType,
} from '../../packages/xenstore/dist/index.js'

const arg = (name, dflt) => {
  const i = process.argv.indexOf(name)
  return i > 0 ? Number(process.argv[i + 1]) : dflt
}
const COUNT = arg('--count', 100_000)
let seed = arg('--seed', 0x5eed) >>> 0 || 1

/** xorshift32: deterministic, so a failing seed reproduces. */
const rnd = () => {
  seed ^= seed << 13
  seed >>>= 0
  seed ^= seed >>> 17
  seed ^= seed << 5
  seed >>>= 0
  return seed
}
const pick = (a) => a[rnd() % a.length]
const chance = (p) => rnd() / 0x100000000 < p

const enc = new TextEncoder()
const NAMES = ['a', 'b', 'data', 'device', 'vif', '0', 'x-y', 'control', '_', 'state']
const TYPES = Object.values(XsType)
const randPath = () => {
  const depth = 1 + (rnd() % 4)
  const parts = Array.from({ length: depth }, () => pick(NAMES))
  const p = parts.join('/')
  switch (rnd() % 8) {
    case 0:
      return `/local/domain/1/${p}`
    case 1:
      return `/${p}`
    case 2:
      return pick(['', '/', '//', 'a//b', 'a/', '@releaseDomain', 'bad path', 'a'.repeat(2100)])
    default:
      return `data/${p}`
  }
}

function fields(strs, trailing = true) {
  const parts = strs.map((s) => enc.encode(s))
  const len = parts.reduce((n, p) => n + p.length + 1, 0) - (trailing ? 0 : 1)
  const out = new Uint8Array(Math.max(0, len))
  let at = 0
  for (const [i, p] of parts.entries()) {
    out.set(p, at)
    at += p.length
    if (trailing || i < parts.length - 1) out[at++] = 0
  }
  return out
}

function randomMessage() {
  const type = chance(0.9) ? pick(TYPES) : rnd() >>> (rnd() % 32)
  let payload
  switch (rnd() % 10) {
    case 0:
      payload = Uint8Array.from({ length: rnd() % 64 }, () => rnd() & 0xff)
      break
    case 1:
      payload = fields([randPath()], false) // unterminated
      break
    default:
      switch (type) {
        case XsType.WRITE:
          payload = fields([randPath(), 'v'.repeat(rnd() % (chance(0.01) ? 3000 : 40))], false)
          break
        case XsType.WATCH:
        case XsType.UNWATCH:
          payload = fields([randPath(), `t${rnd() % 200}`])
          break
        case XsType.SET_PERMS:
          payload = fields([
            randPath(),
            ...Array.from({ length: rnd() % 8 }, () => `${pick('nrwbx')}${rnd() % 4}`),
          ])
          break
        case XsType.TRANSACTION_START:
          payload = fields([''])
          break
        case XsType.TRANSACTION_END:
          payload = fields([pick(['T', 'F', 'X'])])
          break
        case XsType.DIRECTORY_PART:
          payload = fields([randPath(), String(rnd() % 50)])
          break
        case XsType.GET_DOMAIN_PATH:
          payload = fields([String(rnd() % 70000)])
          break
        default:
          payload = fields([randPath()])
      }
  }
  // Mostly ids of open transactions (the guest's, or the host's it must not be able to use).
  const open = chance(0.3) ? [...server.store.transactions.all()].map((t) => t.id) : []
  const tx = open.length ? pick(open) : chance(0.05) ? rnd() : 0
  let len = payload.length
  if (chance(0.002)) len = 4097 + (rnd() % 100000) // illegal: the server must give up on the ring
  const msg = new Uint8Array(16 + payload.length)
  const dv = new DataView(msg.buffer)
  dv.setUint32(0, type >>> 0, true)
  dv.setUint32(4, rnd(), true)
  dv.setUint32(8, tx >>> 0, true)
  dv.setUint32(12, len >>> 0, true)
  msg.set(payload, 16)
  return msg
}

const page = new Uint8Array(new SharedArrayBuffer(4096))
const pdv = new DataView(page.buffer)
const u32 = (o) => pdv.getUint32(o, true)
const set32 = (o, v) => pdv.setUint32(o, v >>> 0, true)
const newServer = () => new XenstoreServer({ domid: 1, ring: page, notify: () => {}, budget: 64 })
let server = newServer()
function populate(s) {
  s.write(0, 0, '/local/domain/1', '')
  s.setPerms(0, 0, '/local/domain/1', [
    { access: 'n', domid: 0 },
    { access: 'r', domid: 1 },
  ])
  for (const n of ['data', 'device', 'control']) {
    s.write(0, 0, `/local/domain/1/${n}`, '')
    s.setPerms(0, 0, `/local/domain/1/${n}`, [{ access: 'n', domid: 1 }])
  }
}
populate(server.store)

let crashes = 0
let hangs = 0
let failedRings = 0
let reconnects = 0
let ringStates = 0
let restores = 0
let replyBytes = 0
let maxCall = 0
let maxWall = 0
const firstCrash = []
const heap = []
const gc = globalThis.gc ?? (() => {})

function guard(what, f) {
  try {
    return f()
  } catch (e) {
    if (e instanceof XenstoreError && what.startsWith('host')) return undefined
    crashes++
    if (firstCrash.length < 3) firstCrash.push(`${what}: ${e?.stack ?? e}`)
    return undefined
  }
}

// A reply parser as the guest's: header, then payload; counts replies by type name.
const replies = {}
const head = new Uint8Array(16)
let have = 0
let left = 0
const errors = {}
let errName = null
let synced = true
function readReplyByte(b) {
  if (!synced) return
  if (left > 0) {
    left--
    if (errName !== null) {
      if (b !== 0) errName += String.fromCharCode(b)
      if (left === 0) {
        errors[errName] = (errors[errName] ?? 0) + 1
        errName = null
      }
    }
    return
  }
  head[have++] = b
  if (have < 16) return
  have = 0
  const hdv = new DataView(head.buffer)
  const type = hdv.getUint32(0, true)
  const name = Object.keys(XsType).find((k) => XsType[k] === type)
  if (name === undefined) {
    synced = false
    return
  }
  replies[name] = (replies[name] ?? 0) + 1
  left = hdv.getUint32(12, true)
  if (left > 4096) synced = false // lost the message boundaries (ring scribbles)
  errName = name === 'ERROR' && left > 0 && left < 16 ? '' : null
}

function kick() {
  let rounds = 0
  for (;;) {
    // CPU time, not wall time: on a shared machine a call can wait seconds for a core.
    const c0 = process.cpuUsage()
    const t0 = performance.now()
    const more = guard('process', () => server.process())
    const wall = performance.now() - t0
    const cpu = process.cpuUsage(c0)
    const dt = (cpu.user + cpu.system) / 1000
    if (dt > maxCall) maxCall = dt
    if (wall > maxWall) maxWall = wall
    if (dt > 1000) hangs++
    // The guest reads what it was sent: consume the response ring, counting messages by type.
    const prod = u32(I.rspProd)
    const cons = u32(I.rspCons)
    const n = (prod - cons) >>> 0
    if (n <= 1024) {
      replyBytes += n
      for (let i = 0; i < n; i++) readReplyByte(page[I.rsp + ((cons + i) & 1023)])
    }
    set32(I.rspCons, prod)
    // Nothing in flight and the ring drained: the next byte starts a message again.
    if (!synced && n <= 1024 && server.connectionState().response === undefined) {
      synced = true
      have = left = 0
      errName = null
    }
    if (!more) break
    if (++rounds > 10_000) {
      hangs++
      break
    }
  }
}

function pushMessage(msg) {
  let at = 0
  let stalls = 0
  while (at < msg.length) {
    const prod = u32(I.reqProd)
    const used = (prod - u32(I.reqCons)) >>> 0
    if (used > 1024) break // a lie we told ourselves below; the server has flagged it
    const n = Math.min(1024 - used, msg.length - at)
    for (let i = 0; i < n; i++) page[I.req + ((prod + i) & 1023)] = msg[at + i]
    set32(I.reqProd, prod + n)
    at += n
    kick()
    if (server.ringFailed) break
    stalls = n === 0 ? stalls + 1 : 0
    if (stalls > 4) break // the server waits on a stuck response: that is fine, move on
  }
}

function ringChaos() {
  ringStates++
  synced = false
  switch (rnd() % 6) {
    case 0:
      set32(pick([I.reqCons, I.reqProd, I.rspCons, I.rspProd]), rnd())
      break
    case 1:
      for (let i = 0; i < 16; i++) page[rnd() % 2048] = rnd() & 0xff
      break
    case 2:
      set32(I.connection, chance(0.5) ? XENSTORE_RECONNECT : rnd())
      break
    case 3:
      set32(I.error, rnd())
      break
    case 4:
      set32(I.reqProd, u32(I.reqCons) + (rnd() % 1025))
      break
    default:
      set32(I.rspCons, u32(I.rspProd) - (rnd() % 1025))
  }
  kick()
}

const hostWatchEvents = []
guard('host watch', () =>
  server.store.watch(0, '/local/domain/1', 'host', (p) => {
    if (hostWatchEvents.length < 100) hostWatchEvents.push(p)
    else hostWatchEvents.length = 0
  }),
)

const t0 = performance.now()
for (let i = 1; i <= COUNT; i++) {
  if (server.ringFailed) {
    failedRings++
    if (chance(0.5)) {
      reconnects++
      set32(I.connection, XENSTORE_RECONNECT)
      kick()
      have = left = 0 // a reset ring starts at a message boundary again
      errName = null
    }
  }
  pushMessage(randomMessage())
  if (chance(0.01)) ringChaos()
  if (chance(0.005))
    guard('host write', () => server.store.write(0, 0, `/local/domain/1/${pick(NAMES)}`, String(i)))
  if (chance(0.002))
    guard('host rm', () => server.store.rm(0, 0, `/local/domain/1/data/${pick(NAMES)}`))
  // The guest can remove its own data/ and device/ (it owns them); the toolstack puts them back,
  // so the stream keeps reaching deep into the tree instead of collecting EACCES.
  if (i % 500 === 0) guard('host populate', () => populate(server.store))
  if (i % 20_000 === 0) {
    const snap = guard('snapshot', () => JSON.stringify(server.snapshot()))
    if (snap !== undefined) {
      const restored = guard('restore', () =>
        XenstoreServer.restore(JSON.parse(snap), { ring: page, notify: () => {}, budget: 64 }),
      )
      if (restored) {
        server = restored
        restores++
        guard('host watch', () => server.store.watch(0, '/local/domain/1', 'host', () => {}))
      }
    }
  }
  if (i % Math.max(1, Math.floor(COUNT / 10)) === 0) {
    gc()
    heap.push(process.memoryUsage().heapUsed)
  }
}
const seconds = (performance.now() - t0) / 1000
const mb = (b) => Math.round((b / 1048576) * 10) / 10
const early = heap[Math.min(1, heap.length - 1)] ?? 0
const late = heap[heap.length - 1] ?? 0
const flat = late <= early * 1.5 + 8 * 1048576
const result = {
  target: 'xenstore',
  messages: COUNT,
  ringStates,
  seconds: Math.round(seconds * 10) / 10,
  crashes,
  hangs,
  failedRings,
  reconnects,
  restores,
  replyBytes,
  maxProcessCpuMs: Math.round(maxCall * 100) / 100,
  maxProcessWallMs: Math.round(maxWall * 100) / 100,
  errors,
  replies, // counted while the reply stream is in sync (ring scribbles lose it for a while)
  heapMB: heap.map(mb),
  memoryFlat: flat,
  gc: globalThis.gc !== undefined,
}
console.log(
  `xenstore fuzz: ${COUNT} messages, ${ringStates} ring states in ${result.seconds} s: ` +
    `${crashes} crashes, ${hangs} hangs, heap ${mb(early)} -> ${mb(late)} MB (${flat ? 'flat' : 'GROWING'})`,
)
for (const c of firstCrash) console.log(c)
console.log(JSON.stringify(result))
process.exit(crashes || hangs || !flat ? 1 : 0)
