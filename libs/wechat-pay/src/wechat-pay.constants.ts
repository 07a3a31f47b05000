/** Injection token of the raw module options (they hold the API key: never exported from the package). */
export const WECHAT_PAY_MODULE_OPTIONS = Symbol('WECHAT_PAY_MODULE_OPTIONS');

/** Where the notify route is mounted unless `notifyPath` says otherwise. */
export const DEFAULT_NOTIFY_PATH = 'wechat-pay/notify';

/** Where the refund notify route is mounted unless `refundNotifyPath` says otherwise. */
export const DEFAULT_REFUND_NOTIFY_PATH = 'wechat-pay/refund-notify';

/** Injection token: which of the two built-in notify routes this module instance mounts. */
export const WECHAT_PAY_NOTIFY_ROUTES = Symbol('WECHAT_PAY_NOTIFY_ROUTES');
