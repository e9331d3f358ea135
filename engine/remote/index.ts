/**
 * The remote cache (Bazel HTTP cache protocol), for library users and the distributed executor:
 *
 * - {@link RemoteCache}: the client — `hasEntry` / `getEntry` / `putEntry` (`/ac/<key>`),
 *   `hasObject` / `getObject` / `putObject` (`/cas/<sha256>`, downloads verified), `pushNode` /
 *   `pullNode` (a node's objects and entry, in the safe order), `available` / `downReason`, `stats`.
 * - {@link openRemote}: the client a command uses (`--remote-cache`, REPRO_REMOTE_CACHE, `cache:`
 *   in the YAML, credentials from REPRO_REMOTE_CACHE_HEADER), or null.
 * - {@link pushPipeline} / {@link pullPipeline} / {@link remoteHas}: explicit sync (`repro push`,
 *   `repro pull`) and which fingerprints the remote has (`repro status`).
 *
 * A run uses it through `runPipeline({ remoteCache: URL })` or `runPipeline({ remote: client })`.
 */
export { RemoteCache, RemoteObjectError, parseEntry, redactUrl, type PullResult, type RemoteCacheOptions, type RemoteStats } from './http-cache.js';
export { headersFromEnv, openRemote, parseUploadFlag, remoteUrl, type RemoteChoice } from './config.js';
export { pullPipeline, pushPipeline, remoteHas, type SyncNode, type SyncSummary } from './sync.js';
