// The grant table against Xen's rules (xen/common/grant_table.c, compat/grant_table.c,
// hvm_grant_table_op, xenmem_add_to_physmap_one), reached through the hypercall dispatch as a
// guest reaches it: HYPERVISOR_grant_table_op (20) and XENMEM_add_to_physmap (memory_op 12).
// Hostile inputs: bad counts, bad and page-edge pointers, indexes and GFNs out of range.
import { GuestMemory } from '@tsvmm/guest-memory'
import { GNTST, XenErrno } from '@tsvmm/xen-evtchn'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { bootRegisters, writeBootStructures } from '../../src/boot/boot.js'
import { GrantTable } from '../../src/xen/grant-table.js'
import { type EventChannels, XenPlatform, type XenPlatformHost } from '../../src/xen/hypercalls.js'

const RAM = 4 * 1048576
const ARG = 0x200000 // the hypercall's struct
const LIST = 0x201000 // setup_table's frame_list
const FRAMES = 0x300000 // grant frame 0
const MAX = 64
const CONSOLE = 0x3f0000
const STORE = 0x3f1000
const SELF = 0x7ff0
const INVALID_GFN = 0xffff_ffff_ffff_ffffn
const home = (i: number) => FRAMES / 4096 + i
const [GRANT_TABLE_OP, MEMORY_OP] = [20, 12]
const OP = { setup_table: 2, copy: 5, query_size: 6, set_version: 8, get_version: 10 }

/** A platform whose host is a test double but for guest memory and the grant table. */
function setup(width: 64 | 32 = 64, withTable = true) {
  const memory = new GuestMemory([{ gpa: 0, bytes: new Uint8Array(RAM) }])
  writeBootStructures(memory, width)
  // Left-over bytes in the table's pages: a new table must not show them.
  memory.fill(FRAMES, MAX * 4096, 0xa5)
  const regs = bootRegisters(width, 0x100000)
  const paging = { cr0: regs.cr0, cr3: regs.cr3, cr4: regs.cr4, efer: regs.efer }
  const table = new GrantTable({
    memory,
    gpa: FRAMES,
    maxFrames: MAX,
    domid: 1,
    seed: { consoleGpa: CONSOLE, storeGpa: STORE },
  })
  const bugs: string[] = []
  const fail = () => {
    throw new Error('not part of this test')
  }
  const host: XenPlatformHost = {
    memory,
    vcpus: 1,
    domid: 1,
    xenVersion: 0x4_0011,
    events: { geometry: { portLimit: 4096 } } as EventChannels,
    ...(withTable && { grantTable: table }),
    mapSharedInfo: fail,
    setCallbackVector: fail,
    setRunstateArea: fail,
    setVcpuTimeArea: fail,
    setUpcallVector: fail,
    shutdown: fail,
    bug: (m) => bugs.push(m),
  }
  const platform = new XenPlatform(host)
  const call = (input: number, params: (number | bigint)[]) =>
    platform.handle(
      { input: BigInt(input), params: params.map(BigInt), longMode: width === 64, cpl: 0 },
      { vcpu: 0, paging },
    )
  const gnttab = (cmd: number, uop: number | bigint = ARG, count: number | bigint = 1) =>
    call(GRANT_TABLE_OP, [cmd, uop, count])
  /** XENMEM_add_to_physmap(DOMID_SELF, XENMAPSPACE_grant_table, idx, gpfn). */
  const mapFrame = (idx: number | bigint, gpfn: number | bigint, domid = SELF) => {
    memory.writeU16(ARG, domid)
    memory.writeU32(ARG + 4, 1)
    if (width === 64) {
      memory.writeU64(ARG + 8, BigInt(idx))
      memory.writeU64(ARG + 16, BigInt(gpfn))
    } else {
      memory.writeU32(ARG + 8, Number(idx))
      memory.writeU32(ARG + 12, Number(gpfn))
    }
    return call(MEMORY_OP, [7, ARG])
  }
  const querySize = (dom = SELF) => {
    memory.fill(ARG, 16, 0xee)
    memory.writeU16(ARG, dom)
    const rc = gnttab(OP.query_size)
    return {
      rc,
      nr: memory.readU32(ARG + 4),
      max: memory.readU32(ARG + 8),
      status: (memory.readU16(ARG + 12) << 16) >> 16,
    }
  }
  /** setup_table(dom, nr) with frame_list at `list`; the status and the listed frames. */
  const setupTable = (nr: number, list: number | bigint = LIST, dom = SELF) => {
    memory.fill(ARG, 24, 0xcc)
    memory.writeU16(ARG, dom)
    memory.writeU32(ARG + 4, nr)
    if (width === 64) memory.writeU64(ARG + 16, BigInt(list))
    else memory.writeU32(ARG + 12, Number(list))
    const rc = gnttab(OP.setup_table)
    const status = (memory.readU16(ARG + 8) << 16) >> 16
    return { rc, status }
  }
  const listed = (n: number) =>
    Array.from({ length: n }, (_, i) =>
      width === 64 ? memory.readU64(LIST + 8 * i) : BigInt(memory.readU32(LIST + 4 * i)),
    )
  return { memory, table, call, gnttab, mapFrame, querySize, setupTable, listed, bugs }
}

describe('grant table: query_size and add_to_physmap', () => {
  it('a new table has 1 frame of 64; add_to_physmap grows it to the highest frame mapped', () => {
    const { querySize, mapFrame, table } = setup()
    expect(querySize()).toEqual({ rc: 0, nr: 1, max: MAX, status: GNTST.okay })
    // Linux's gnttab_map maps from the highest index down, so the table grows once.
    for (const i of [3, 2, 1, 0]) expect(mapFrame(i, home(i))).toBe(0)
    expect(querySize(1)).toEqual({ rc: 0, nr: 4, max: MAX, status: GNTST.okay }) // own domid
    expect(mapFrame(MAX - 1, home(MAX - 1))).toBe(0)
    expect(querySize().nr).toBe(MAX)
    expect(mapFrame(0, home(0))).toBe(0) // again: nothing changes
    expect(table.state).toEqual({ frames: MAX, mapped: [0, 1, 2, 3, MAX - 1] })
  })

  it('add_to_physmap: past the largest table -EINVAL, another GFN -EOPNOTSUPP, another domain -ESRCH', () => {
    const { mapFrame, querySize, table } = setup()
    expect(mapFrame(MAX, home(MAX))).toBe(-XenErrno.EINVAL)
    expect(mapFrame(0x8000_0000, home(0))).toBe(-XenErrno.EINVAL) // XENMAPIDX_grant_table_status
    expect(mapFrame(2n ** 64n - 1n, home(0))).toBe(-XenErrno.EINVAL)
    expect(mapFrame(3, home(4))).toBe(-XenErrno.EOPNOTSUPP) // frame 4's page
    expect(mapFrame(0, 0x100)).toBe(-XenErrno.EOPNOTSUPP) // ordinary RAM
    expect(mapFrame(0, 2n ** 52n)).toBe(-XenErrno.EOPNOTSUPP) // no RAM at all
    expect(mapFrame(0, home(0), 0)).toBe(-XenErrno.ESRCH)
    expect(querySize().nr).toBe(1)
    expect(table.state.mapped).toEqual([])
  })

  it('query_size: another domain is a status in the struct, the call still returns 0', () => {
    const { querySize } = setup()
    // The backend domain exists but XSM refuses; any other domain does not exist.
    expect(querySize(0)).toMatchObject({ rc: 0, status: GNTST.permission_denied, nr: 0xeeeeeeee })
    expect(querySize(5)).toMatchObject({ rc: 0, status: GNTST.bad_domain, max: 0xeeeeeeee })
    expect(querySize(0x7ff1)).toMatchObject({ rc: 0, status: GNTST.bad_domain }) // DOMID_IO
  })

  it('query_size: count other than 1 is -EINVAL, a bad or page-edge pointer -EFAULT', () => {
    const { gnttab, querySize } = setup()
    expect(gnttab(OP.query_size, ARG, 0)).toBe(-XenErrno.EINVAL)
    expect(gnttab(OP.query_size, ARG, 2)).toBe(-XenErrno.EINVAL)
    expect(gnttab(OP.query_size, ARG, 0x8000_0000)).toBe(-XenErrno.EINVAL) // (int)count < 0
    expect(gnttab(OP.query_size, ARG, 2n ** 64n - 1n)).toBe(-XenErrno.EINVAL)
    expect(gnttab(OP.query_size, RAM - 8)).toBe(-XenErrno.EFAULT) // runs past RAM
    expect(gnttab(OP.query_size, 0)).toBe(0) // page 0 is RAM (identity-mapped) here
    expect(gnttab(OP.query_size, 0x7fff_ffff_f000n)).toBe(-XenErrno.EFAULT) // not mapped
    expect(gnttab(OP.query_size, 2n ** 64n - 8n)).toBe(-XenErrno.EFAULT) // wraps
    expect(querySize().status).toBe(GNTST.okay)
  })
})

describe('grant table: setup_table', () => {
  it('64-bit: lists where each frame is mapped (~0 if not) and grows the table', () => {
    const { mapFrame, setupTable, listed, querySize, memory } = setup()
    expect(mapFrame(0, home(0))).toBe(0)
    expect(mapFrame(2, home(2))).toBe(0)
    memory.fill(LIST, 8 * 8, 0x11)
    expect(setupTable(4)).toEqual({ rc: 0, status: GNTST.okay })
    expect(listed(5)).toEqual([
      BigInt(home(0)),
      INVALID_GFN,
      BigInt(home(2)),
      INVALID_GFN,
      0x1111_1111_1111_1111n, // only nr_frames entries are written
    ])
    // Only the status field goes back: the rest of the struct is as the guest left it.
    expect(memory.readU32(ARG + 4)).toBe(4)
    expect(memory.readU16(ARG + 10)).toBe(0xcccc)
    expect(querySize().nr).toBe(4)
  })

  it('all 64 frames may be asked for, 65 is GNTST_general_error; 0 frames is okay', () => {
    const { setupTable, listed, memory, querySize } = setup()
    expect(setupTable(MAX)).toEqual({ rc: 0, status: GNTST.okay })
    expect(listed(MAX).every((g) => g === INVALID_GFN)).toBe(true)
    memory.fill(LIST, 8, 0x22)
    expect(setupTable(MAX + 1)).toEqual({ rc: 0, status: GNTST.general_error })
    expect(setupTable(0xffff_ffff)).toEqual({ rc: 0, status: GNTST.general_error })
    expect(listed(1)).toEqual([0x2222_2222_2222_2222n]) // nothing listed
    expect(setupTable(0, 0)).toEqual({ rc: 0, status: GNTST.okay })
    expect(querySize().nr).toBe(MAX)
  })

  it('another domain, bad counts and bad pointers', () => {
    const { setupTable, gnttab, querySize } = setup()
    expect(setupTable(2, LIST, 0)).toEqual({ rc: 0, status: GNTST.permission_denied })
    expect(setupTable(2, LIST, 9)).toEqual({ rc: 0, status: GNTST.bad_domain })
    expect(querySize().nr).toBe(1) // a refused call does not grow the table
    expect(gnttab(OP.setup_table, ARG, 0)).toBe(-XenErrno.EINVAL)
    expect(gnttab(OP.setup_table, ARG, 2)).toBe(-XenErrno.EINVAL)
    expect(gnttab(OP.setup_table, RAM - 16)).toBe(-XenErrno.EFAULT) // 24 bytes past RAM
    // An HVM guest's frame_list is not checked up front: the first frame that cannot be written
    // is GNTST_bad_virt_addr, after the table has grown.
    expect(setupTable(3, 0x7fff_ffff_f000n)).toEqual({ rc: 0, status: GNTST.bad_virt_addr })
    expect(querySize().nr).toBe(3)
  })

  it('a frame_list that runs off the end of RAM: frames before the edge are written', () => {
    const { setupTable, memory, mapFrame } = setup()
    expect(mapFrame(0, home(0))).toBe(0)
    expect(setupTable(4, RAM - 16)).toEqual({ rc: 0, status: GNTST.bad_virt_addr })
    expect(memory.readU64(RAM - 16)).toBe(BigInt(home(0)))
    expect(memory.readU64(RAM - 8)).toBe(INVALID_GFN)
  })

  it('32-bit: a 16-byte struct and 4-byte frames; an unmapped frame is GNTST_address_too_big', () => {
    const { mapFrame, setupTable, listed, gnttab, memory } = setup(32)
    for (const i of [1, 0]) expect(mapFrame(i, home(i))).toBe(0)
    memory.fill(LIST, 16, 0x33)
    expect(setupTable(2)).toEqual({ rc: 0, status: GNTST.okay })
    expect(listed(3)).toEqual([BigInt(home(0)), BigInt(home(1)), 0x3333_3333n])
    // compat_grant_table_op: ~0 does not fit a compat_pfn_t; the frames before it are written.
    expect(setupTable(3)).toEqual({ rc: 0, status: GNTST.address_too_big })
    expect(listed(3)).toEqual([BigInt(home(0)), BigInt(home(1)), 0x3333_3333n])
    expect(memory.readU32(ARG + 12)).toBe(LIST) // the handle is 4 bytes at 12
    // The compat path loops over count: 0 does nothing and returns 0; 2 is -EINVAL.
    expect(gnttab(OP.setup_table, ARG, 0)).toBe(0)
    expect(gnttab(OP.setup_table, ARG, 2)).toBe(-XenErrno.EINVAL)
  })
})

describe('grant table: versions, other commands, the toolstack seed', () => {
  it('set_version: 1 is 0, 2 is -ENOSYS, others -EINVAL; the version in force is written back', () => {
    const { gnttab, memory } = setup()
    for (const [asked, rc] of [
      [1, 0],
      [2, -XenErrno.ENOSYS],
      [0, -XenErrno.EINVAL],
      [3, -XenErrno.EINVAL],
      [0xffff_ffff, -XenErrno.EINVAL],
    ] as const) {
      memory.writeU32(ARG, asked)
      expect(gnttab(OP.set_version)).toBe(rc)
      expect(memory.readU32(ARG)).toBe(1)
    }
    expect(gnttab(OP.set_version, RAM - 2)).toBe(-XenErrno.EFAULT)
    // set_version ignores count, but do_grant_table_op refuses a negative one first.
    memory.writeU32(ARG, 1)
    expect(gnttab(OP.set_version, ARG, 7)).toBe(0)
    expect(gnttab(OP.set_version, ARG, 0x8000_0000)).toBe(-XenErrno.EINVAL)
  })

  it('get_version: version 1 for this domain, -ESRCH for none, -EPERM for the backend', () => {
    const { gnttab, memory } = setup()
    memory.writeU16(ARG, SELF)
    memory.writeU16(ARG + 2, 0xbeef)
    memory.writeU32(ARG + 4, 0)
    expect(gnttab(OP.get_version)).toBe(0)
    expect(memory.readU32(ARG + 4)).toBe(1)
    expect(memory.readU16(ARG + 2)).toBe(0xbeef) // only the version goes back
    memory.writeU16(ARG, 1)
    expect(gnttab(OP.get_version)).toBe(0)
    memory.writeU16(ARG, 2)
    expect(gnttab(OP.get_version)).toBe(-XenErrno.ESRCH)
    memory.writeU16(ARG, 0)
    expect(gnttab(OP.get_version)).toBe(-XenErrno.EPERM)
    expect(gnttab(OP.get_version, RAM - 4)).toBe(-XenErrno.EFAULT)
  })

  it('commands an HVM guest may not make, or that tsvmm does not serve, are -ENOSYS', () => {
    const { gnttab } = setup()
    for (const cmd of [0, 1, 3, 4, OP.copy, 7, 9, 11, 12, 13, 0xffff_ffff]) {
      expect(gnttab(cmd)).toBe(-XenErrno.ENOSYS)
    }
    // hvm_grant_table_op compares the whole cmd: continuation bits make it unknown.
    expect(gnttab(OP.query_size | (1 << 12))).toBe(-XenErrno.ENOSYS)
  })

  it('without a grant table (no PV devices): grant_table_op -ENOSYS, add_to_physmap -EOPNOTSUPP', () => {
    const { gnttab, mapFrame } = setup(64, false)
    expect(gnttab(OP.query_size)).toBe(-XenErrno.ENOSYS)
    expect(mapFrame(0, home(0))).toBe(-XenErrno.EOPNOTSUPP)
  })

  it('frame 0 holds the toolstack seed: console and xenstore granted to the backend; rest zero', () => {
    const { memory } = setup()
    const entry = (ref: number) => ({
      flags: memory.readU16(FRAMES + 8 * ref),
      domid: memory.readU16(FRAMES + 8 * ref + 2),
      frame: memory.readU32(FRAMES + 8 * ref + 4),
    })
    expect(entry(0)).toEqual({ flags: 1, domid: 0, frame: CONSOLE / 4096 }) // GTF_permit_access
    expect(entry(1)).toEqual({ flags: 1, domid: 0, frame: STORE / 4096 })
    expect(entry(2)).toEqual({ flags: 0, domid: 0, frame: 0 })
    expect(memory.read(FRAMES + 16, MAX * 4096 - 16).every((b) => b === 0)).toBe(true)
  })

  it('refuses frames that are not whole pages of RAM', () => {
    const memory = new GuestMemory([{ gpa: 0, bytes: new Uint8Array(RAM) }])
    const t =
      (gpa: number, maxFrames = 4) =>
      () =>
        new GrantTable({ memory, gpa, maxFrames, domid: 1 })
    expect(t(FRAMES + 8)).toThrow(RangeError)
    expect(t(RAM - 3 * 4096)).toThrow(RangeError)
    expect(t(FRAMES, 0)).toThrow(RangeError)
    expect(t(FRAMES, 1.5)).toThrow(RangeError)
    expect(t(RAM - 4 * 4096)).not.toThrow()
  })

  it('random commands, pointers and counts never throw out of the hypercall', () => {
    for (const width of [64, 32] as const) {
      const { call, mapFrame, bugs } = setup(width)
      const word = fc.oneof(
        fc.constantFrom(0n, 1n, 2n, 6n, 8n, 10n, BigInt(ARG), BigInt(RAM - 4), 2n ** 64n - 1n),
        fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }),
      )
      fc.assert(
        fc.property(fc.array(word, { minLength: 3, maxLength: 3 }), fc.boolean(), (p, mem) => {
          const [a, b] = [p[0] as bigint, p[1] as bigint]
          const narrow = (v: bigint) => (width === 64 ? v : BigInt.asUintN(32, v))
          const rc = mem ? mapFrame(narrow(a), narrow(b)) : call(GRANT_TABLE_OP, p)
          expect(Number.isInteger(rc)).toBe(true)
        }),
        { numRuns: 2000 },
      )
      expect(bugs).toEqual([])
    }
  })
})
