/**
 * The events the WeChat Pay module reports through its `hooks` option (WechatPayHooks), with the
 * same shapes, so MetricsService can be passed as the hooks object.
 */
export interface GatewayCallEvent {
  /** The WeChat path: '/pay/unifiedorder', '/pay/orderquery', '/sns/jscode2session'... */
  endpoint: string;
  /** 'SUCCESS', WeChat's err_code (SYSTEMERROR, ORDERPAID...) or the library error code (TRANSPORT...). */
  result: string;
  durationMs: number;
}

export interface NotificationEvent {
  kind: 'payment' | 'refund';
  /** 'HANDLED', 'ACKNOWLEDGED' or the reason the notification was refused (BAD_SIGNATURE...). */
  outcome: string;
}
