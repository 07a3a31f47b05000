import { gzipSync } from 'node:zlib';
import { buildXml, parseXml, verify, WechatPayXmlError } from 'nestjs-wechat-pay-v2/protocol';
import {
  BILL_TYPES,
  beijingDate,
  beijingDayStart,
  billReadyAt,
  renderBill,
  type BillLedger,
  type BillType,
} from './bills';
import type { SimulatorClock } from './clock';
import type { FaultInjector } from './faults';
import type { MerchantRegistry } from './merchants';
import { RETURN_MSG, textsFor } from './pay-api';
import type { SimulatorRealism } from './realism';

/**
 * downloadbill's failures: return_code=FAIL (unsigned, like every envelope failure), the texts of
 * §10 in English as the bill service words them, and `error_code` 20002 with `No Bill Exist`.
 */
export const BILL_RETURN_MSG = {
  noBill: 'No Bill Exist',
  creating: 'Bill Creating',
  badType: 'invalid bill_type',
  badTarType: 'invalid tar_type',
  badDate: 'data format error',
  outOfRange: 'invalid bill_date',
  missing: 'missing parameter',
  badSignature: 'SIGN ERROR',
  systemError: 'SYSTEMERROR',
} as const;

export const NO_BILL_ERROR_CODE = '20002';

export interface BillAnswer {
  contentType: string;
  body: Buffer;
}

export interface BillApiSettings {
  maxBodyBytes: number;
  feeRateBasisPoints: number;
  /** True: a day's bill answers `Bill Creating` until 09:00 Beijing time the next day. */
  billCreating: boolean;
  realism: Readonly<SimulatorRealism>;
}

const xml = (body: string): BillAnswer => ({
  contentType: 'text/xml; charset=utf-8',
  body: Buffer.from(body, 'utf8'),
});
const failure = (returnMsg: string, errorCode?: string) =>
  xml(buildXml({ return_code: 'FAIL', return_msg: returnMsg, error_code: errorCode }));

/** `POST /pay/downloadbill` (§10): the day's bill as text or gzip, or an XML failure. */
export class BillApi {
  constructor(
    private readonly merchants: MerchantRegistry,
    private readonly ledger: BillLedger,
    private readonly clock: SimulatorClock,
    private readonly faults: FaultInjector,
    private readonly settings: BillApiSettings,
  ) {}

  async handle(body: Buffer): Promise<BillAnswer> {
    let params: Record<string, string>;
    try {
      params = await parseXml(body, { maxBytes: this.settings.maxBodyBytes });
    } catch (err) {
      const reason = err instanceof WechatPayXmlError ? err.reason : undefined;
      if (reason === 'EMPTY') return failure(RETURN_MSG.emptyBody);
      if (reason === 'NOT_UTF8') return failure(RETURN_MSG.notUtf8);
      if (reason === 'TOO_LARGE') return failure(RETURN_MSG.tooLarge);
      return failure(RETURN_MSG.badXml);
    }
    const given = (name: string) => (params[name] ?? '') !== '';
    if (!['appid', 'mch_id', 'nonce_str', 'bill_date'].every(given)) {
      return failure(BILL_RETURN_MSG.missing);
    }
    const texts = textsFor(this.settings.realism);
    const merchant = this.merchants.bound(params.appid, params.mch_id);
    if (!merchant) {
      if (!this.merchants.hasMchId(params.mch_id)) return failure(texts.unknownMchId);
      if (!this.merchants.byAppId(params.appid)) return failure(texts.unknownAppId);
      return failure(texts.notBound);
    }
    if (params.sign_type !== undefined && !/^(MD5|HMAC-SHA256)$/.test(params.sign_type)) {
      return failure(RETURN_MSG.badFormat('sign_type'));
    }
    const signType = params.sign_type === 'HMAC-SHA256' ? 'HMAC-SHA256' : 'MD5';
    if (!verify(params, merchant.apiKey, { fallback: 'MD5', expected: signType })) {
      return failure(BILL_RETURN_MSG.badSignature);
    }
    const type = (params.bill_type || 'ALL') as BillType;
    if (!(BILL_TYPES as readonly string[]).includes(type)) return failure(BILL_RETURN_MSG.badType);
    if (given('tar_type') && params.tar_type !== 'GZIP') return failure(BILL_RETURN_MSG.badTarType);
    const date = params.bill_date;
    if (beijingDayStart(date) === undefined) return failure(BILL_RETURN_MSG.badDate);
    const now = this.clock.now();
    if (date > beijingDate(now) || !this.ledger.holds(date)) {
      return failure(BILL_RETURN_MSG.outOfRange);
    }
    if (this.faults.takeSystemError('/pay/downloadbill')) {
      return failure(BILL_RETURN_MSG.systemError);
    }
    if (this.settings.billCreating && now < billReadyAt(date)) {
      return failure(BILL_RETURN_MSG.creating);
    }
    const rows = this.ledger.rows(merchant.mchId, date);
    if (!rows || rows.length === 0) return failure(BILL_RETURN_MSG.noBill, NO_BILL_ERROR_CODE);
    const text = Buffer.from(renderBill(rows, type, this.settings.feeRateBasisPoints), 'utf8');
    if (params.tar_type === 'GZIP') {
      return { contentType: 'application/x-gzip', body: gzipSync(text) };
    }
    return { contentType: 'text/plain; charset=utf-8', body: text };
  }
}
