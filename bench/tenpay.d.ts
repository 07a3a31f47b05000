// tenpay ships no types. Only the members the benchmark calls are declared; the underscore
// members are internal to tenpay but are exactly what its request path and notify middleware run.
declare module 'tenpay' {
  interface TenpayConfig {
    appid: string;
    mchid: string;
    partnerKey: string;
    notify_url?: string;
    spbill_create_ip?: string;
  }

  class Payment {
    constructor(config: TenpayConfig, debug?: boolean);
    _getSign(params: Readonly<Record<string, unknown>>, type?: string): string;
    _parse(xml: string, type: string, signType?: string): Promise<Record<string, string>>;
  }

  export = Payment;
}
