import { parseBeijingTime } from 'nestjs-wechat-pay-v2/protocol';
import {
  deriveOpenid,
  newLoginCode,
  newPrepayId,
  newRequestId,
  newSessionKey,
  newRefundId,
  newTransactionId,
} from './ids';

const AT = new Date('2024-03-05T01:02:03Z'); // 09:02:03 in Beijing

describe('simulator identifiers', () => {
  it('mints prepay ids as wx, the Beijing creation time and 20 hex digits', () => {
    const id = newPrepayId(AT);
    expect(id).toMatch(/^wx20240305090203[0-9a-f]{20}$/);
    expect(id).toHaveLength(36);
    expect(newPrepayId(AT)).not.toBe(id);
  });

  it('mints 28-digit transaction ids that start with 42000 and carry the Beijing date', () => {
    const id = newTransactionId(AT);
    expect(id).toMatch(/^42000\d{5}20240305\d{10}$/);
    expect(newTransactionId(AT)).not.toBe(id);
  });

  it('mints 29-digit refund ids that start with 50 and carry the Beijing date', () => {
    const id = newRefundId(AT);
    expect(id).toMatch(/^50\d{8}20240305\d{11}$/);
    expect(id).toHaveLength(29);
    expect(newRefundId(AT)).not.toBe(id);
  });

  it('mints 32-character login codes, 24-character session keys and dashed request ids', () => {
    expect(newLoginCode()).toMatch(/^[A-Za-z0-9]{32}$/);
    expect(Buffer.from(newSessionKey(), 'base64')).toHaveLength(16);
    expect(newSessionKey()).toHaveLength(24);
    expect(newRequestId()).toMatch(/^[0-9a-f]{8}-[0-9a-f]{8}-[0-9a-f]{8}$/);
  });

  it('derives a stable 28-character openid per user and AppID', () => {
    const openid = deriveOpenid('wx1111111111111111', 'alice');
    expect(openid).toMatch(/^o[A-Za-z0-9_-]{27}$/);
    expect(deriveOpenid('wx1111111111111111', 'alice')).toBe(openid);
    expect(deriveOpenid('wx2222222222222222', 'alice')).not.toBe(openid);
    expect(deriveOpenid('wx1111111111111111', 'bob')).not.toBe(openid);
  });

  it('keeps the creation time readable from a prepay id', () => {
    expect(parseBeijingTime(newPrepayId(AT).slice(2, 16))?.getTime()).toBe(AT.getTime());
  });
});
