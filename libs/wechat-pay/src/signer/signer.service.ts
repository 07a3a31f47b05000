import { Injectable } from '@nestjs/common';
import { apiKeyOf } from '../config/secrets';
import { WechatPayConfig } from '../config/wechat-pay.options';
import { decryptReqInfo } from '../refund/req-info';
import { createNonce, sign, verify, type SignType, type SignableParams } from './sign';

/**
 * Signs and verifies with the configured merchant key. The only reader of the key: everything
 * else that needs a signature (requests, pay parameters, notification checks) or a refund
 * notification's decryption asks this service.
 */
@Injectable()
export class WechatPaySigner {
  constructor(private readonly config: WechatPayConfig) {}

  get defaultSignType(): SignType {
    return this.config.signType;
  }

  /** The signature of `params` (absent, null and empty values and `sign` itself left out). */
  sign(params: SignableParams, signType: SignType = this.config.signType): string {
    return sign(params, apiKeyOf(this.config), signType);
  }

  /**
   * Verifies `params.sign` over every other field received. Without `expected`, the algorithm is
   * the message's own `sign_type`, else inferred from the signature's length (64 hex characters
   * are HMAC-SHA256, 32 are MD5), else the configured one.
   */
  verify(params: SignableParams, expected?: SignType): boolean {
    return verify(params, apiKeyOf(this.config), { fallback: this.config.signType, expected });
  }

  /**
   * Decrypts a refund notification's `req_info` with the key derived from the API key; throws
   * WechatPayDecryptionError when it does not decrypt (another key, or not WeChat's).
   */
  decryptReqInfo(reqInfo: string): string {
    return decryptReqInfo(reqInfo, apiKeyOf(this.config));
  }

  nonce(): string {
    return createNonce();
  }
}
