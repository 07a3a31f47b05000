import { Injectable } from '@nestjs/common';
import { WechatPayConfig } from '../config/wechat-pay.options';
import { createNonce, sign, verify, type SignType, type SignableParams } from './sign';

/** Signs and verifies with the configured merchant key; the key never leaves this service. */
@Injectable()
export class WechatPaySigner {
  constructor(private readonly config: WechatPayConfig) {}

  get defaultSignType(): SignType {
    return this.config.signType;
  }

  sign(params: SignableParams, signType: SignType = this.config.signType): string {
    return sign(params, this.config.apiKey, signType);
  }

  /**
   * Verifies `params.sign` over every other field received. Without `expected`, the algorithm is
   * the message's own `sign_type`, else the configured one (64 hex characters can only be HMAC).
   */
  verify(params: SignableParams, expected?: SignType): boolean {
    return verify(params, this.config.apiKey, { fallback: this.config.signType, expected });
  }

  nonce(): string {
    return createNonce();
  }
}
