// The guest -> tsvmm port protocol of tools/guests (see tools/guests/README.md and
// src/protocol.h there): console bytes, named check results and backend requests. Decoding reads
// guest memory through bounds checks and keeps only printable ASCII of guest strings.
import type { GuestMemory } from '@tsvmm/guest-memory'

/** The I/O ports of the protocol. */
export const GUEST_PORT = {
  /** OUT byte: one console character. */
  CONSOLE: 0xe9,
  /** OUT dword: GPA of a struct tsvmm_result. */
  RESULT: 0x510,
  /** OUT dword: GPA of a struct tsvmm_backend_req, answered before the OUT retires. */
  BACKEND: 0x514,
  /** OUT dword: the bench guest's loop (the value is ignored). */
  BENCH: 0x518,
} as const

/** struct tsvmm_result. */
export const RESULT_LAYOUT = {
  size: 140,
  magic: 0,
  vcpu: 4,
  status: 8,
  detail: 12,
  name: 16,
  nameLength: 32,
  message: 48,
  messageLength: 96,
  MAGIC: 0x52565354,
} as const

/** struct tsvmm_backend_req. */
export const BACKEND_LAYOUT = {
  size: 24,
  magic: 0,
  op: 4,
  port: 8,
  count: 12,
  status: 16,
  backendPort: 20,
  MAGIC: 0x42565354,
} as const

/** Backend request ops. */
export const BACKEND_OP = {
  BIND: 1,
  SEND_IRQFD: 2,
  SEND_ENGINE: 3,
  RECEIVED: 4,
  CLOSE: 5,
  /** Notify the port once, `count` µs from now (1..1000000), from the VMM's event loop. */
  NOTIFY_LATER: 6,
  /** The Xen system time (ns) of the port's last NOTIFY_LATER: low word in count, high in backendPort. */
  NOTIFY_TIME: 7,
} as const

/** One named check the guest reported. */
export interface CheckResult {
  /** The vCPU the guest says reported it. */
  readonly vcpu: number
  readonly name: string
  readonly passed: boolean
  /** A number that explains the result (an errno, a count). */
  readonly detail: number
  readonly message: string
}

/** A decoded backend request. */
export interface BackendRequest {
  readonly op: number
  readonly port: number
  readonly count: number
}

/** Guest bytes as text: printable ASCII up to the first NUL, anything else as '?'. */
export function guestString(bytes: Uint8Array): string {
  let s = ''
  for (const b of bytes) {
    if (b === 0) break
    s += b >= 0x20 && b < 0x7f ? String.fromCharCode(b) : '?'
  }
  return s
}

/** Reads a struct tsvmm_result at `gpa`; an error string when it is outside RAM or malformed. */
export function readCheckResult(memory: GuestMemory, gpa: number): CheckResult | string {
  const L = RESULT_LAYOUT
  if (!memory.contains(gpa, L.size))
    return `result record at 0x${gpa.toString(16)} is not inside guest RAM`
  const b = memory.read(gpa, L.size)
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength)
  if (v.getUint32(L.magic, true) !== L.MAGIC)
    return `result record at 0x${gpa.toString(16)} has a bad magic`
  const status = v.getUint32(L.status, true)
  if (status > 1) return `result record at 0x${gpa.toString(16)} has status ${status}`
  const name = guestString(b.subarray(L.name, L.name + L.nameLength))
  if (name === '') return `result record at 0x${gpa.toString(16)} has no name`
  return {
    vcpu: v.getUint32(L.vcpu, true),
    name,
    passed: status === 0,
    detail: v.getInt32(L.detail, true),
    message: guestString(b.subarray(L.message, L.message + L.messageLength)),
  }
}

/** Reads a struct tsvmm_backend_req at `gpa`; an error string when unusable. */
export function readBackendRequest(memory: GuestMemory, gpa: number): BackendRequest | string {
  const L = BACKEND_LAYOUT
  if (!memory.contains(gpa, L.size))
    return `backend request at 0x${gpa.toString(16)} is not inside guest RAM`
  if (memory.readU32(gpa + L.magic) !== L.MAGIC)
    return `backend request at 0x${gpa.toString(16)} has a bad magic`
  return {
    op: memory.readU32(gpa + L.op),
    port: memory.readU32(gpa + L.port),
    count: memory.readU32(gpa + L.count),
  }
}

/** Writes the answer of a backend request (the guest reads it after its OUT). */
export function writeBackendReply(
  memory: GuestMemory,
  gpa: number,
  reply: { status: number; count?: number; backendPort?: number },
): void {
  const L = BACKEND_LAYOUT
  if (!memory.contains(gpa, L.size)) return
  memory.writeU32(gpa + L.status, reply.status >>> 0)
  if (reply.count !== undefined) memory.writeU32(gpa + L.count, reply.count >>> 0)
  if (reply.backendPort !== undefined) memory.writeU32(gpa + L.backendPort, reply.backendPort >>> 0)
}

/** Splits console bytes into lines; keeps the partial line. Strips control characters. */
export class ConsoleLines {
  #partial = ''

  /** Adds bytes; returns the lines they complete. */
  push(bytes: Uint8Array | number[]): string[] {
    const lines: string[] = []
    for (const b of bytes) {
      if (b === 0x0a) {
        lines.push(this.#partial)
        this.#partial = ''
      } else if (b === 0x09 || (b >= 0x20 && b < 0x7f)) {
        // A guest can print forever without a newline: cut long lines.
        if (this.#partial.length >= 4096) {
          lines.push(this.#partial)
          this.#partial = ''
        }
        this.#partial += String.fromCharCode(b)
      }
    }
    return lines
  }

  /** The unfinished line, if any, and forgets it. */
  flush(): string | undefined {
    const p = this.#partial
    this.#partial = ''
    return p === '' ? undefined : p
  }
}
