import { WechatPayRequestError } from '../errors/errors';
import { createNonce, type SignType } from '../signer/sign';
import type { WechatPaySigner } from '../signer/signer.service';
import type { PayParams } from './gateway.types';
import { validatePrepayId, validateSignType } from './request-validation';

export interface PayParamsInput {
  appId: string;
  prepayId: string;
  /** Must be the algorithm the unifiedorder request was signed with. */
  signType: SignType;
  /** Unix seconds as a string; defaults to now. */
  timeStamp?: string;
  /** Defaults to a fresh 32-character nonce. */
  nonceStr?: string;
}

const UNIX_SECONDS = /^\d{1,10}$/;
const NONCE = /^[0-9A-Za-z]{1,32}$/;

/**
 * The arguments of `wx.requestPayment`, signed through the signer (the key stays there). The
 * unifiedorder `sign` cannot be reused here: paySign is a second signature over exactly appId,
 * nonceStr, package, signType and timeStamp (camelCase, as the mini-program sends them), and
 * `appId` is signed although the mini-program never passes it.
 */
export function buildPayParams(input: PayParamsInput, signer: WechatPaySigner): PayParams {
  // An empty appId would silently drop out of the signed string and yield a paySign WeChat refuses.
  if (typeof input.appId !== 'string' || input.appId.trim() === '') {
    throw new WechatPayRequestError('appId', 'is required');
  }
  const prepayId = validatePrepayId(input.prepayId);
  const signType = validateSignType(input.signType);
  const timeStamp = input.timeStamp ?? String(Math.floor(Date.now() / 1000));
  if (!UNIX_SECONDS.test(timeStamp)) {
    throw new WechatPayRequestError('timeStamp', 'must be unix seconds as a digit string');
  }
  const nonceStr = input.nonceStr ?? createNonce();
  if (!NONCE.test(nonceStr)) {
    throw new WechatPayRequestError('nonceStr', 'must be 1 to 32 letters or digits');
  }
  const pkg = `prepay_id=${prepayId}`;
  const paySign = signer.sign(
    { appId: input.appId, nonceStr, package: pkg, signType, timeStamp },
    signType,
  );
  return { timeStamp, nonceStr, package: pkg, signType, paySign };
}
