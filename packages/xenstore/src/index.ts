// @tsvmm/xenstore: a xenstore server for one Xen guest domain.

export { XenstoreError, XsErrno, type XsErrnoName } from './errors.js'
export { domainPath, type ResolvedPath, resolvePath, resolveWatchPath } from './path.js'
export { canAccess, formatPerm, MAX_DOMID, parsePerm, type XsAccess, type XsPerm } from './perms.js'
export { DEFAULT_QUOTAS, resolveQuotas, type XenstoreQuotas } from './quota.js'
export { errorReply, handleRequest } from './requests.js'
export {
  XENSTORE_CONNECTED,
  XENSTORE_INTERFACE,
  XENSTORE_RECONNECT,
  XENSTORE_RING_SIZE,
  XENSTORE_SERVER_FEATURE_ERROR,
  XENSTORE_SERVER_FEATURE_RECONNECTION,
  XenstoreRing,
  XenstoreRingError,
} from './ring.js'
export {
  type XenstoreConnectionState,
  XenstoreServer,
  type XenstoreServerOptions,
  type XsPendingResponse,
} from './server.js'
export {
  restoreStore,
  snapshotStore,
  type XenstoreServerSnapshot,
  type XenstoreSnapshot,
  type XsNodeRecord,
  type XsSavedConnection,
  type XsSavedResponse,
  type XsSavedTransaction,
  type XsSavedWatch,
} from './snapshot.js'
export { Xenstore, type XenstoreOptions, type XsDirectory } from './store.js'
export type { WatchSink } from './watches.js'
export {
  decodeHeader,
  encodeMessage,
  joinFields,
  splitFields,
  XBT_NULL,
  XENSTORE_ABS_PATH_MAX,
  XENSTORE_PAYLOAD_MAX,
  XENSTORE_REL_PATH_MAX,
  XS_HEADER_SIZE,
  type XsFields,
  type XsHeader,
  XsType,
  type XsTypeName,
} from './wire.js'
