// Xenstore paths: what a guest may name, and how a relative path becomes absolute (relative
// paths are under the caller's home, /local/domain/<domid>). The rules are QEMU's validate_path()
// (hw/i386/kvm/xenstore_impl.c), plus xenstored's refusal of a trailing slash.

import { checkDomid, checkString } from './check.js'
import type { XsErrnoName } from './errors.js'
import { XENSTORE_ABS_PATH_MAX, XENSTORE_REL_PATH_MAX } from './wire.js'

/** A path after validation. */
export interface ResolvedPath {
  /** The absolute path, e.g. `/local/domain/1/device`. */
  readonly abs: string
  /**
   * How many leading characters of an absolute path to drop to give it back in the caller's
   * terms: 0 for an absolute path, the length of `/local/domain/<domid>/` for a relative one.
   */
  readonly relPrefix: number
}

const VALID = /^[A-Za-z0-9\-/_]+$/
const SPECIAL = /^@[\x21-\x7e]+$/

/** The home path of a domain, `/local/domain/<domid>`, which GET_DOMAIN_PATH returns. */
export function domainPath(domid: number): string {
  checkDomid(domid, 'domain-path')
  return `/local/domain/${domid}`
}

/**
 * Validates a path a caller sent and makes it absolute. Returns the errno name the caller gets
 * for a bad one: EINVAL for a bad character, an empty element or a trailing slash, E2BIG for an
 * over-long path.
 */
export function resolvePath(path: string, domid: number): ResolvedPath | XsErrnoName {
  checkString(path, 'path', 'resolve-path')
  checkDomid(domid, 'resolve-path')
  if (path.length === 0 || !VALID.test(path) || path.includes('//')) return 'EINVAL'
  if (path.length > 1 && path.endsWith('/')) return 'EINVAL'
  if (path.startsWith('/')) {
    if (path.length > XENSTORE_ABS_PATH_MAX) return 'E2BIG'
    return { abs: path, relPrefix: 0 }
  }
  if (path.length > XENSTORE_REL_PATH_MAX) return 'E2BIG'
  const prefix = `${domainPath(domid)}/`
  return { abs: prefix + path, relPrefix: prefix.length }
}

/**
 * As `resolvePath`, and also the special watch paths xenstored invents events for
 * (`@introduceDomain`, `@releaseDomain`): `@` then printable characters.
 */
export function resolveWatchPath(path: string, domid: number): ResolvedPath | XsErrnoName {
  checkString(path, 'path', 'resolve-watch-path')
  checkDomid(domid, 'resolve-watch-path')
  if (path.startsWith('@')) {
    if (!SPECIAL.test(path)) return 'EINVAL'
    if (path.length > XENSTORE_REL_PATH_MAX) return 'E2BIG'
    return { abs: path, relPrefix: 0 }
  }
  return resolvePath(path, domid)
}

/** The elements of an absolute path: `/a/b` is `['a', 'b']`, `/` is `[]`. */
export function pathElements(abs: string): string[] {
  return abs === '/' ? [] : abs.slice(1).split('/')
}

/** The absolute path of `name` under `parent`. */
export function childPath(parent: string, name: string): string {
  return parent === '/' ? `/${name}` : `${parent}/${name}`
}

/** Whether `ancestor` is `path` itself or one of its ancestors (`/` is everyone's). */
export function isAncestorOrSelf(ancestor: string, path: string): boolean {
  if (ancestor === path || ancestor === '/') return true
  return path.length > ancestor.length && path.startsWith(ancestor) && path[ancestor.length] === '/'
}
