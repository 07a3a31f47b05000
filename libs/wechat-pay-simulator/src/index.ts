export { startSimulator, SIMULATOR_DEFAULTS, RETENTION_DEFAULTS } from './simulator';
export type { RunningSimulator, SimulatorOptions } from './simulator';
export { TEST_MERCHANT, merchantFromEnv } from './merchants';
export type { SimulatorMerchant } from './merchants';
export { SimulatorControls, SimulatorControlError, waitFor } from './controls';
export type {
  BillQuery,
  CashierAnswer,
  CashierCheckout,
  CashierPaymentInput,
  CouponInput,
  LoginGrant,
  LoginOptions,
  PaymentOutcome,
  PaymentProblem,
  RequestPaymentAnswer,
  RequestPaymentInput,
  SimulatorStats,
} from './controls';
export { NO_FAULTS, REFUND_OUTCOMES, SCRIPTABLE_ERRORS, WECHAT_PATHS } from './faults';
export type {
  RefundOutcomeFault,
  ScriptablePath,
  ScriptedBusinessError,
  SimulatorFaults,
  WechatPath,
} from './faults';
export { NOTIFY_MAX_SENDS, NOTIFY_RETRY_GAPS_MS } from './notifier';
export type {
  NotificationAttempt,
  NotificationOutcome,
  RefundNotificationAttempt,
  SendRecord,
} from './notifier';
export {
  BUSINESS_ERRORS,
  PLAIN_RETURN_MSG,
  REFUND_ERRORS,
  REFUNDQUERY_LIMIT,
  REFUNDQUERY_PAGE,
  RETURN_MSG,
} from './pay-api';
export { MAX_REFUNDS_PER_ORDER } from './refunds';
export type { FinalRefundStatus } from './refunds';
export { BILL_RETURN_MSG, NO_BILL_ERROR_CODE } from './bill-api';
export { BILL_COLUMNS, BILL_SUMMARY_COLUMNS, BILL_TYPES } from './bills';
export type { BillDay, BillType } from './bills';
export {
  AUTHORITY_FILES,
  CERTIFICATE_FILES,
  CertificateFolderError,
  DEFAULT_TLS_HOSTS,
  defaultCertDir,
} from './certificates';
export type { MerchantCertificateFiles } from './certificates';
export { LOGIN_ERRORS } from './login-api';
export { COMPAT_LEVELS, REALISM_ITEMS, realismOf } from './realism';
export type { CompatLevel, SimulatorRealism } from './realism';
export { REENTRY_IGNORED_FIELDS } from './reentry';
export type {
  CouponUse,
  NotificationStatus,
  RefundStatus,
  RetentionLimits,
  SimulatedOrderView,
  SimulatedRefundView,
  SimulatedTradeState,
} from './store';
