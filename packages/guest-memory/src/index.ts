/**
 * Guest physical memory regions with bounds-checked little-endian access and atomic bit
 * operations on 32-bit lanes. Pure: loads no native code.
 *
 * @module
 */
export { GuestMemoryError, type GuestMemoryFault } from './errors.js'
export { GuestMemory, type GuestMemoryRegion } from './guest-memory.js'
