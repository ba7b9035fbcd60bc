// Global setup of the KVM suites: a KVM suite never passes by skipping.
import { closeSync, openSync } from 'node:fs'

export default function requireKvm(): void {
  let fd: number
  try {
    fd = openSync('/dev/kvm', 'r+')
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'unknown error'
    throw new Error(
      `KVM suites need /dev/kvm and it cannot be opened here (${code}). ` +
        'Run them with `pnpm test:kvm`, which starts them inside tools/kvm-host.',
    )
  }
  closeSync(fd)
}
