// A cpio "newc" archive writer (the format the kernel unpacks an initramfs from:
// Documentation/driver-api/early-userspace/buffer-format.rst), so no cpio binary or root is needed
// to make device nodes.

/**
 * @typedef {object} CpioEntry
 * @property {string} name path without a leading slash
 * @property {number} mode file type and permission bits (0o100755, 0o40755, 0o20600, ...)
 * @property {Uint8Array} [data] contents of a regular file or symlink target
 * @property {[number, number]} [rdev] major, minor of a device node
 */

const hex8 = (/** @type {number} */ n) => n.toString(16).padStart(8, '0')
const pad4 = (/** @type {number} */ n) => (4 - (n % 4)) % 4

/**
 * @param {CpioEntry[]} entries
 * @returns {Buffer}
 */
export function newcArchive(entries) {
  /** @type {Buffer[]} */
  const parts = []
  let ino = 1
  const add = (/** @type {CpioEntry} */ e) => {
    const data = e.data ?? new Uint8Array(0)
    const name = Buffer.from(`${e.name}\0`)
    const header = [
      '070701',
      hex8(ino++),
      hex8(e.mode),
      hex8(0), // uid
      hex8(0), // gid
      hex8((e.mode & 0o170000) === 0o40000 ? 2 : 1), // nlink
      hex8(0), // mtime
      hex8(data.length),
      hex8(0), // devmajor
      hex8(0), // devminor
      hex8(e.rdev?.[0] ?? 0),
      hex8(e.rdev?.[1] ?? 0),
      hex8(name.length),
      hex8(0), // check
    ].join('')
    parts.push(Buffer.from(header), name, Buffer.alloc(pad4(110 + name.length)))
    parts.push(Buffer.from(data), Buffer.alloc(pad4(data.length)))
  }
  for (const e of entries) add(e)
  add({ name: 'TRAILER!!!', mode: 0 })
  return Buffer.concat(parts)
}
