export { startSimulator, SIMULATOR_DEFAULTS } from './simulator';
export type { RunningSimulator, SimulatorOptions } from './simulator';
export { TEST_MERCHANT, merchantFromEnv } from './merchants';
export type { SimulatorMerchant } from './merchants';
export { SimulatorControls, SimulatorControlError, waitFor } from './controls';
export type {
  CashierAnswer,
  CashierCheckout,
  CashierPaymentInput,
  LoginGrant,
  LoginOptions,
  PaymentOutcome,
  PaymentProblem,
  RequestPaymentAnswer,
  RequestPaymentInput,
} from './controls';
export { NO_FAULTS, WECHAT_PATHS } from './faults';
export type { SimulatorFaults, WechatPath } from './faults';
export { NOTIFY_MAX_SENDS, NOTIFY_RETRY_GAPS_MS } from './notifier';
export type { NotificationAttempt, NotificationOutcome } from './notifier';
export { BUSINESS_ERRORS, RETURN_MSG } from './pay-api';
export { LOGIN_ERRORS } from './login-api';
export { REENTRY_IGNORED_FIELDS } from './reentry';
export type { NotificationStatus, SimulatedOrderView, SimulatedTradeState } from './store';
