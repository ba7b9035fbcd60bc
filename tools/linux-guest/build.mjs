// pnpm --filter @tsvmm/linux-guest build: puts the kernel and the initramfs under build/.
import { buildInitramfs, ensureVmlinuz } from './index.mjs'

const { vmlinuz, release } = await ensureVmlinuz((m) => console.error(`linux-guest: ${m}`))
const initramfs = buildInitramfs()
console.log(`linux-guest: ${vmlinuz} (${release}), ${initramfs}`)
