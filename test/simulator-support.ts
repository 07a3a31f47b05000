import { createServer, type Server } from 'node:http';
import { Agent, request as httpsRequest } from 'node:https';
import type { AddressInfo } from 'node:net';
import {
  createNonce,
  sign,
  verify,
  type SignType,
  formatBeijingTime,
  buildXml,
  parseXml,
} from 'nestjs-wechat-pay-v2/protocol';
import type { SimulatorMerchant } from 'wechat-pay-v2-simulator';

/** What one XML call to the simulator returned. */
export interface XmlReply {
  status: number;
  text: string;
  fields: Record<string, string>;
}

/**
 * How a client reaches the TLS listener: the CA to trust and, for /secapi, a client certificate
 * (a PEM pair or a PKCS#12 file), or a keep-alive agent built from them.
 */
export interface TlsIdentity {
  ca: string | Buffer;
  cert?: string | Buffer;
  key?: string | Buffer;
  pfx?: Buffer;
  passphrase?: string;
  agent?: Agent;
  /** Give up waiting for the answer after this long (the request is destroyed). */
  timeoutMs?: number;
}

export interface RawReply {
  status: number;
  contentType: string;
  body: Buffer;
  /** True when the request went over a socket an earlier request had used (keep-alive). */
  reusedSocket: boolean;
}

/** One HTTPS request with real TLS (node:https), verifying the server against `tls.ca`. */
export function httpsCall(
  url: string,
  body: string,
  tls: TlsIdentity,
  method = 'POST',
): Promise<RawReply> {
  return new Promise((resolve, reject) => {
    const { timeoutMs, agent, ...identity } = tls;
    const req = httpsRequest(url, {
      method,
      headers: { 'Content-Type': 'text/xml', 'Content-Length': Buffer.byteLength(body) },
      ...(agent ? { agent } : { ...identity, agent: false }),
    });
    if (timeoutMs !== undefined) {
      req.setTimeout(timeoutMs, () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    }
    req.on('error', reject);
    req.on('response', (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('error', reject);
      res.on('end', () =>
        resolve({
          status: res.statusCode ?? 0,
          contentType: String(res.headers['content-type'] ?? ''),
          body: Buffer.concat(chunks),
          reusedSocket: req.reusedSocket,
        }),
      );
    });
    req.end(body);
  });
}

/**
 * A deliberately small signed-XML client for the simulator e2e specs, built only on the core
 * signer and codec, so the simulator is tested independently of the library's gateway.
 */
export class SimClient {
  constructor(
    readonly baseUrl: string,
    readonly merchant: SimulatorMerchant,
    readonly signType: SignType = 'MD5',
    /** Set for a client of the TLS listener (baseUrl https://...). */
    readonly tls?: TlsIdentity,
  ) {}

  /** Adds appid, mch_id, nonce_str and (for HMAC) sign_type, signs and posts. */
  call(path: string, fields: Record<string, string | number | undefined>): Promise<XmlReply> {
    return this.post(path, this.signed(fields));
  }

  signed(fields: Record<string, string | number | undefined>): string {
    const all: Record<string, string | number | undefined> = {
      appid: this.merchant.appId,
      mch_id: this.merchant.mchId,
      nonce_str: createNonce(),
      sign_type: this.signType === 'HMAC-SHA256' ? 'HMAC-SHA256' : undefined,
      ...fields,
    };
    return buildXml({ ...all, sign: sign(all, this.merchant.apiKey, this.signType) });
  }

  async post(path: string, body: string, method = 'POST'): Promise<XmlReply> {
    if (this.tls) {
      const res = await httpsCall(`${this.baseUrl}${path}`, body, this.tls, method);
      const text = res.body.toString('utf8');
      return { status: res.status, text, fields: await parseXml(text) };
    }
    const res = await fetch(`${this.baseUrl}${path}`, {
      method,
      headers: { 'Content-Type': 'text/xml' },
      body: method === 'GET' ? undefined : body,
    });
    const text = await res.text();
    return { status: res.status, text, fields: await parseXml(text) };
  }

  /** True when a reply's signature verifies with this client's algorithm and key. */
  verifies(reply: XmlReply): boolean {
    return verify(reply.fields, this.merchant.apiKey, { fallback: 'MD5', expected: this.signType });
  }

  unifiedOrder(overrides: Record<string, string | number | undefined> = {}): Promise<XmlReply> {
    return this.call('/pay/unifiedorder', orderFields(overrides));
  }
}

let sequence = 0;

/** A unique merchant order number for each test order. */
export function newOrderNo(prefix = 'SIM'): string {
  sequence += 1;
  return `${prefix}${Date.now()}${String(sequence).padStart(4, '0')}`;
}

export const PAYER_OPENID = 'oSimPayer000000000000000001';

export function orderFields(
  overrides: Record<string, string | number | undefined> = {},
): Record<string, string | number | undefined> {
  return {
    body: '模拟商品-咖啡',
    out_trade_no: newOrderNo(),
    total_fee: 100,
    spbill_create_ip: '127.0.0.1',
    notify_url: 'http://127.0.0.1:9/notify',
    trade_type: 'JSAPI',
    openid: PAYER_OPENID,
    ...overrides,
  };
}

/** The wx.requestPayment parameters a merchant server hands the mini program (§5). */
export function payParams(
  merchant: SimulatorMerchant,
  prepayId: string,
  signType: SignType,
): { timeStamp: string; nonceStr: string; package: string; signType: SignType; paySign: string } {
  const params = {
    appId: merchant.appId,
    timeStamp: String(Math.floor(Date.now() / 1000)),
    nonceStr: createNonce(),
    package: `prepay_id=${prepayId}`,
    signType,
  };
  // appId is signed but not passed to wx.requestPayment.
  return {
    timeStamp: params.timeStamp,
    nonceStr: params.nonceStr,
    package: params.package,
    signType,
    paySign: sign(params, merchant.apiKey, signType),
  };
}

/** Beijing time `minutes` from now on the wall clock. */
export function beijingIn(minutes: number, from = Date.now()): string {
  return formatBeijingTime(new Date(from + minutes * 60_000));
}

export async function jsonCall<T = Record<string, unknown>>(
  baseUrl: string,
  path: string,
  method = 'GET',
  body?: unknown,
): Promise<{ status: number; body: T }> {
  const res = await fetch(`${baseUrl}${path}`, {
    method,
    headers: body === undefined ? undefined : { 'Content-Type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as T };
}

export interface MerchantReply {
  status?: number;
  body?: string;
  /** Wait this long before answering. */
  delayMs?: number;
}

export const SUCCESS_REPLY =
  '<xml><return_code><![CDATA[SUCCESS]]></return_code><return_msg><![CDATA[OK]]></return_msg></xml>';
export const FAIL_REPLY =
  '<xml><return_code><![CDATA[FAIL]]></return_code><return_msg><![CDATA[busy]]></return_msg></xml>';

/** A local stand-in for the merchant's notify_url that records what it receives. */
export interface MerchantEndpoint {
  url: string;
  /** Raw bodies in arrival order. */
  bodies: string[];
  stop(): Promise<void>;
}

export async function startMerchantEndpoint(
  reply: (nth: number, body: string) => MerchantReply = () => ({ body: SUCCESS_REPLY }),
): Promise<MerchantEndpoint> {
  const bodies: string[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      bodies.push(body);
      const answer = reply(bodies.length, body);
      const send = () => {
        if (res.destroyed) return;
        res.writeHead(answer.status ?? 200, { 'Content-Type': 'text/xml' });
        res.end(answer.body ?? '');
      };
      if (answer.delayMs) setTimeout(send, answer.delayMs);
      else send();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/wechat/notify`,
    bodies,
    stop: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
