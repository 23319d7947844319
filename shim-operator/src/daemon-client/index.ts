export { DaemonClient, type EventLogPage, type HostCreateInput, type HostListOptions, type HostPatchInput, type MachineCreateInput, type MachineListOptions, type Page, type RequestOptions } from './client.js';
export { DaemonApiError, isConflict, isDaemonApiError, isRetryableStatus, type TransportErrorKind } from './errors.js';
export { latestEventId } from './event-position.js';
export { followEvents, type DaemonStreamStatus, type FollowEventsOptions } from './events.js';
export type { DaemonConnectionOptions } from './transport.js';
