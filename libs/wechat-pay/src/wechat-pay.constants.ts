/** Injection token of the raw module options (they hold the API key: never exported from the package). */
export const WECHAT_PAY_MODULE_OPTIONS = Symbol('WECHAT_PAY_MODULE_OPTIONS');

/** Where the notify route is mounted unless `notifyPath` says otherwise. */
export const DEFAULT_NOTIFY_PATH = 'wechat-pay/notify';
