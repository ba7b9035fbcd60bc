// pnpm --filter @tsvmm/linux-guest build: puts the kernel and the initramfs under build/.
import { ensureTools } from '../kvm-host/lib/host-tools.mjs'
import { buildInitramfs, ensureVmlinuz } from './index.mjs'

const note = (/** @type {string} */ m) => console.error(`linux-guest: ${m}`)
// A fresh machine has no busybox: install busybox-static the way kvm-host installs its tools.
await ensureTools({ busybox: 'busybox-static' }, note)
const { vmlinuz, release } = await ensureVmlinuz(note)
const initramfs = buildInitramfs()
console.log(`linux-guest: ${vmlinuz} (${release}), ${initramfs}`)
