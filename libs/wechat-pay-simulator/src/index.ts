export { startSimulator, SIMULATOR_DEFAULTS, RETENTION_DEFAULTS } from './simulator';
export type { RunningSimulator, SimulatorOptions } from './simulator';
export { TEST_MERCHANT, merchantFromEnv } from './merchants';
export type { SimulatorMerchant } from './merchants';
export { SimulatorControls, SimulatorControlError, waitFor } from './controls';
export type {
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
export { NO_FAULTS, SCRIPTABLE_ERRORS, WECHAT_PATHS } from './faults';
export type { ScriptablePath, ScriptedBusinessError, SimulatorFaults, WechatPath } from './faults';
export { NOTIFY_MAX_SENDS, NOTIFY_RETRY_GAPS_MS } from './notifier';
export type { NotificationAttempt, NotificationOutcome } from './notifier';
export { BUSINESS_ERRORS, PLAIN_RETURN_MSG, RETURN_MSG } from './pay-api';
export { LOGIN_ERRORS } from './login-api';
export { COMPAT_LEVELS, REALISM_ITEMS, realismOf } from './realism';
export type { CompatLevel, SimulatorRealism } from './realism';
export { REENTRY_IGNORED_FIELDS } from './reentry';
export type {
  CouponUse,
  NotificationStatus,
  RetentionLimits,
  SimulatedOrderView,
  SimulatedTradeState,
} from './store';
