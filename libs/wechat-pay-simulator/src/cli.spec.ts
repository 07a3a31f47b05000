import { CLI_SETTINGS, CliUsageError, parseCli, usage } from './cli';
import { TEST_MERCHANT } from './merchants';

describe('the simulator command line', () => {
  it('starts on port 3100 with the defaults when given nothing', () => {
    expect(parseCli([], {})).toEqual({ command: 'start', options: { port: 3100, tlsPort: 3101 } });
  });

  it('reads every setting from its environment variable', () => {
    const env = {
      SIMULATOR_PORT: '3200',
      SIMULATOR_HOST: '0.0.0.0',
      SIMULATOR_TIME_SCALE: '0.01',
      SIMULATOR_CLOSE_ORDER_MIN_AGE_MS: '0',
      SIMULATOR_DEFAULT_ORDER_EXPIRY_MS: '7200000',
      SIMULATOR_NOTIFY_REPLY_TIMEOUT_MS: '1000',
      SIMULATOR_MAX_BODY_BYTES: '32768',
      SIMULATOR_RETAIN_CLOSED_MS: '3600000',
      SIMULATOR_RETAIN_PAID_MS: 'Infinity',
      SIMULATOR_MAX_ORDERS: '1000',
      SIMULATOR_COMPAT: 'plain',
      SIMULATOR_REALISM: 'capturedTexts=on, newlines=off',
      SIMULATOR_FAULTS: '{"dropNotificationRate":0.3}',
      SIMULATOR_TLS_PORT: '3201',
      SIMULATOR_CERT_DIR: '/tmp/simulator-certs',
      SIMULATOR_TLS_HOSTS: 'simulator, 10.0.0.5',
      SIMULATOR_REFUND_DELAY_MS: '100',
      SIMULATOR_REFUND_MIN_INTERVAL_MS: '60000',
      SIMULATOR_REFUND_NOTIFY_URL: 'http://127.0.0.1:3000/wechat-pay/refund-notify',
      SIMULATOR_FEE_RATE_PERCENT: '0.38',
      SIMULATOR_BILL_CREATING: 'off',
      SIMULATOR_MAX_BILL_ROWS: '5000',
    };
    expect(parseCli([], env)).toEqual({
      command: 'start',
      options: {
        port: 3200,
        host: '0.0.0.0',
        timeScale: 0.01,
        closeOrderMinAgeMs: 0,
        defaultOrderExpiryMs: 7_200_000,
        notifyReplyTimeoutMs: 1000,
        maxBodyBytes: 32_768,
        retention: {
          closedOrderMs: 3_600_000,
          paidOrderMs: Infinity,
          maxOrders: 1000,
          maxBillRows: 5000,
        },
        compat: 'plain',
        realism: { capturedTexts: true, newlines: false },
        faults: { dropNotificationRate: 0.3 },
        tlsPort: 3201,
        certDir: '/tmp/simulator-certs',
        tlsHosts: ['simulator', '10.0.0.5'],
        refundDelayMs: 100,
        refundMinIntervalMs: 60_000,
        feeRatePercent: 0.38,
        billCreating: false,
        merchants: [
          {
            ...TEST_MERCHANT,
            refundNotifyUrl: 'http://127.0.0.1:3000/wechat-pay/refund-notify',
          },
        ],
      },
    });
  });

  it('lets a flag win over its variable', () => {
    const cli = parseCli(['--port', '3300', '--max-orders=20'], {
      SIMULATOR_PORT: '3200',
      SIMULATOR_MAX_ORDERS: '10',
    });
    expect(cli).toEqual({
      command: 'start',
      options: { port: 3300, tlsPort: 3101, retention: { maxOrders: 20 } },
    });
  });

  it('answers --help and --version before reading anything else', () => {
    expect(parseCli(['--help'], { SIMULATOR_PORT: 'x' })).toEqual({ command: 'help' });
    expect(parseCli(['-h'], {})).toEqual({ command: 'help' });
    expect(parseCli(['--version'], {})).toEqual({ command: 'version' });
  });

  it('lists every flag and variable in the help text', () => {
    const text = usage();
    for (const setting of Object.values(CLI_SETTINGS)) {
      expect(text).toContain(`--${setting.flag} <value>  (${setting.env})`);
    }
    expect(text).toContain('WECHAT_APP_ID, WECHAT_APP_SECRET, WECHAT_MCH_ID, WECHAT_API_KEY');
  });

  it.each([
    [['--port', 'abc'], {}, '--port must be a number'],
    [[], { SIMULATOR_TIME_SCALE: 'fast' }, 'SIMULATOR_TIME_SCALE must be a number'],
    [[], { SIMULATOR_PORT: 'Infinity' }, 'SIMULATOR_PORT must be a number'],
    [['--max-orders', ''], {}, '--max-orders must be a number or Infinity'],
    [['--realism', 'newlines'], {}, '--realism takes item=on|off pairs, got "newlines"'],
    [['--faults', '{oops'], {}, '--faults must be a JSON object'],
    [['--bill-creating', 'maybe'], {}, '--bill-creating must be on or off'],
    [[], { SIMULATOR_TLS_PORT: 'https' }, 'SIMULATOR_TLS_PORT must be a number'],
    [['--prot', '1'], {}, "Unknown option '--prot'"],
    [['3100'], {}, 'Unexpected argument'],
  ])('refuses %j %j: %s', (argv, env, message) => {
    let error: unknown;
    try {
      parseCli(argv, env);
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(CliUsageError);
    expect((error as Error).message).toContain(message);
  });
});
