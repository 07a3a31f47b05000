/**
 * `nestjs-wechat-pay-v2/protocol`: the WeChat Pay v2 building blocks under the module, for the rare
 * code that needs them outside a Nest app (a simulator, a migration script, a second language's test
 * vectors). These are the only exported functions that take the API key as an argument; inside the
 * module the key never leaves the signer.
 */
export {
  SIGN_TYPES,
  canonicalString,
  createNonce,
  isSignType,
  resolveSignType,
  sign,
  signString,
  signaturesEqual,
  verify,
  type SignType,
  type SignableParams,
} from '../signer/sign';
export { buildXml, parseXml, DEFAULT_MAX_XML_BYTES, type ParseXmlOptions } from '../xml/xml-codec';
export { decryptReqInfo, encryptReqInfo, parseReqInfo, refundAesKey } from '../refund/req-info';
export { buildNotifyReply } from '../notify/notify-reply';
export {
  formatBeijingDate,
  formatBeijingTime,
  parseBeijingDateTime,
  parseBeijingTime,
} from '../util/beijing-time';
export {
  formatYuan,
  isFen,
  MAX_FEN,
  MILLI_FEN_PER_FEN,
  parseFen,
  parseYuan,
  parseYuanMilliFen,
} from '../util/money';
export {
  BillLineReader,
  BillStream,
  billLines,
  MAX_BILL_LINE_CHARS,
  parseBill,
  parseBillStream,
  type BillStreamOptions,
} from '../bill/bill-parser';
export type { BillRow, BillSummary, BillType, ParsedBill } from '../bill/bill.types';
export {
  WechatPayDecryptionError,
  WechatPayError,
  WechatPayProtocolError,
  WechatPayRequestError,
  WechatPayTransportError,
  WechatPayXmlError,
  type TransportFailure,
  type XmlErrorReason,
} from '../errors/errors';
