// Types of xen-headers.mjs, for the TypeScript tests that import it.
export declare const XEN_HEADERS_PACKAGE: string

export interface XenHeadersOptions {
  /** where to look first: $TSVMM_XEN_INCLUDE, else /usr/include */
  include?: string
  /** $TSVMM_XEN_HEADERS_CACHE, else ~/.cache/tsvmm/xen-headers */
  cache?: string
  /** progress line (stderr by default) */
  note?: (msg: string) => void
}

/**
 * An include directory `D` with `D/xen/xen.h`: the machine's own, else libxen-dev's headers
 * fetched with apt-get download into the cache. Rejects with a one-line Error saying what to do.
 */
export declare function xenIncludeDir(opts?: XenHeadersOptions): Promise<string>
