// The domain handle (xen_domain_handle_t): the VM's uuid as 16 bytes, which a toolstack gives Xen
// at domain creation and the guest reads back with XENVER_guest_handle (Linux prints it in
// /sys/hypervisor/uuid) and under /vm/<uuid> in xenstore.
import { randomUUID } from 'node:crypto'

/** A uuid in its canonical text form (8-4-4-4-12 hex digits). */
export const UUID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i

/** A new random (version 4) uuid, lower case: the default when the configuration names none. */
export function randomDomainUuid(): string {
  return randomUUID()
}

/** The 16 bytes of `uuid` in text order (how %pU prints them back), or null if it is not one. */
export function domainHandle(uuid: string): Uint8Array | null {
  if (typeof uuid !== 'string' || !UUID_PATTERN.test(uuid)) return null
  const hex = uuid.replaceAll('-', '')
  const out = new Uint8Array(16)
  for (let i = 0; i < 16; i++) out[i] = Number.parseInt(hex.slice(2 * i, 2 * i + 2), 16)
  return out
}
