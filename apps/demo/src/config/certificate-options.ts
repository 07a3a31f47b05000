import type { WechatPayModuleOptions } from 'nestjs-wechat-pay-v2';
import type { DemoConfig } from './demo.config';

/**
 * The merchant certificate for refunds, as paths the library reads and checks at start-up (a
 * wrong passphrase, a file that is not a certificate or an expired one stops it there). The p12
 * passphrase is the mch_id unless WECHAT_CERT_PASSPHRASE says otherwise, as WeChat issues it.
 */
export function certificateOptions(config: DemoConfig): Partial<WechatPayModuleOptions> {
  const { p12Path, passphrase, certPemPath, keyPemPath, caPemPath } = config.certificate;
  return {
    ...(p12Path !== undefined
      ? { certP12: p12Path, certPassphrase: passphrase ?? config.wechat.mchId }
      : {}),
    ...(certPemPath !== undefined && keyPemPath !== undefined
      ? {
          certPem: certPemPath,
          keyPem: keyPemPath,
          ...(passphrase !== undefined ? { certPassphrase: passphrase } : {}),
        }
      : {}),
    ...(caPemPath !== undefined ? { caCert: caPemPath } : {}),
    ...(config.wechat.secapiBaseUrl !== undefined
      ? { secapiBaseUrl: config.wechat.secapiBaseUrl }
      : {}),
  };
}
