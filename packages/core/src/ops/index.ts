// Operating meterkit: status, dead-letter replay, audit export, health and the admin endpoint's logic.
export {
  type AdminApi,
  type AdminApiOptions,
  type AdminRequest,
  type AdminResponse,
  createAdminApi,
} from './admin-api.js';
export { type AuditRow, auditRow, type DeadLetterRow, deadLetterRow, toCsv } from './audit-rows.js';
export {
  type HealthCheckResult,
  MeteringHealth,
  type MeteringHealthOptions,
  type MeteringHealthReport,
} from './health.js';
export {
  planRequeue,
  type RefusedRequeue,
  type RequeueOptions,
  type RequeuePlan,
  type RequeueResult,
  requeueDeadLetters,
} from './requeue.js';
export { defaultServiceWindow, type ServiceWindow, windowClosesAt } from './service-window.js';
export { isFailure, type SinkState, SinkWatch } from './sink-watch.js';
export { type MeteringStatus, type PendingByAge, readStatus, STATUS_SCAN_LIMIT } from './status.js';
