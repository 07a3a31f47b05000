import { createDecipheriv, createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { parseXml } from 'nestjs-wechat-pay-v2/protocol';
import {
  startSimulator,
  TEST_MERCHANT,
  waitFor,
  type RunningSimulator,
  type SimulatedRefundView,
} from 'wechat-pay-v2-simulator';
import {
  FAIL_REPLY,
  PAYER_OPENID,
  SUCCESS_REPLY,
  SimClient,
  httpsCall,
  newOrderNo,
  orderFields,
  payParams,
  startMerchantEndpoint,
  type MerchantEndpoint,
  type TlsIdentity,
  type XmlReply,
} from './simulator-support';

jest.setTimeout(30_000);

/** Decrypts req_info the way WeChat documents it, with node:crypto only (not the library). */
function decrypt(reqInfo: string, apiKey: string): string {
  const key = Buffer.from(createHash('md5').update(apiKey, 'utf8').digest('hex'), 'latin1');
  const decipher = createDecipheriv('aes-256-ecb', key, null);
  return Buffer.concat([
    decipher.update(Buffer.from(reqInfo, 'base64')),
    decipher.final(),
  ]).toString('utf8');
}

describe('simulator: refunds', () => {
  let sim: RunningSimulator;
  let plain: SimClient;
  let secure: SimClient;
  let tls: TlsIdentity;
  const endpoints: MerchantEndpoint[] = [];

  beforeAll(async () => {
    sim = await startSimulator({ merchants: [TEST_MERCHANT], timeScale: 0.001 });
    plain = new SimClient(sim.baseUrl, TEST_MERCHANT);
    const [ca, cert, key] = await Promise.all(
      [sim.caPem, sim.certificate.certPem, sim.certificate.keyPem].map((path) => readFile(path)),
    );
    tls = { ca, cert, key };
    secure = new SimClient(sim.tlsBaseUrl, TEST_MERCHANT, 'HMAC-SHA256', tls);
  });

  afterEach(async () => {
    sim.controls.resetFaults();
    await Promise.all(endpoints.splice(0).map((e) => e.stop()));
  });

  afterAll(() => sim.stop());

  async function endpoint(
    reply?: Parameters<typeof startMerchantEndpoint>[0],
  ): Promise<MerchantEndpoint> {
    const e = await startMerchantEndpoint(reply);
    endpoints.push(e);
    return e;
  }

  /** A paid order: its out_trade_no and transaction_id. */
  async function paidOrder(
    totalFee = 1000,
    extra: Record<string, string | number> = {},
  ): Promise<{ outTradeNo: string; transactionId: string }> {
    const fields = orderFields({ total_fee: totalFee, ...extra });
    const created = await plain.call('/pay/unifiedorder', fields);
    const answer = sim.controls.requestPayment({
      ...payParams(TEST_MERCHANT, created.fields.prepay_id, 'MD5'),
      openid: PAYER_OPENID,
    });
    expect(answer.errMsg).toBe('requestPayment:ok');
    const outTradeNo = fields.out_trade_no as string;
    return { outTradeNo, transactionId: sim.controls.order(outTradeNo)?.transactionId as string };
  }

  const refund = (fields: Record<string, string | number | undefined>): Promise<XmlReply> =>
    secure.call('/secapi/pay/refund', fields);

  const refundOf = (outTradeNo: string, outRefundNo: string, refundFee: number, totalFee = 1000) =>
    refund({
      out_trade_no: outTradeNo,
      out_refund_no: outRefundNo,
      total_fee: totalFee,
      refund_fee: refundFee,
    });

  const settled = (outRefundNo: string) =>
    waitFor(() => {
      const view = sim.controls.refund(outRefundNo);
      return view && view.status !== 'PROCESSING' ? view : undefined;
    }, 5000);

  describe('refund', () => {
    it('accepts a full refund as PROCESSING with a 29-digit refund id, in the shape of a real answer, then SUCCESS', async () => {
      const { outTradeNo, transactionId } = await paidOrder(1000);
      sim.controls.setFaults({ refundOutcomes: ['PROCESSING'] });
      const answer = await refundOf(outTradeNo, `${outTradeNo}-R1`, 1000);
      expect(answer.fields).toMatchObject({
        return_code: 'SUCCESS',
        return_msg: 'OK',
        result_code: 'SUCCESS',
        appid: TEST_MERCHANT.appId,
        mch_id: TEST_MERCHANT.mchId,
        transaction_id: transactionId,
        out_trade_no: outTradeNo,
        out_refund_no: `${outTradeNo}-R1`,
        refund_channel: '',
        refund_fee: '1000',
        total_fee: '1000',
        cash_fee: '1000',
        cash_refund_fee: '1000',
        coupon_refund_fee: '0',
        coupon_refund_count: '0',
      });
      expect(answer.fields.refund_id).toMatch(/^50\d{27}$/);
      expect(answer.fields.sign).toMatch(/^[0-9A-F]{64}$/);
      expect(answer.fields.sign_type).toBeUndefined();
      expect(secure.verifies(answer)).toBe(true);
      // Laid out one element per line, like the captured answers.
      expect(answer.text.startsWith('<xml>\n<return_code>')).toBe(true);
      expect(sim.controls.refund(`${outTradeNo}-R1`)?.status).toBe('PROCESSING');
      sim.controls.finishRefund(`${outTradeNo}-R1`);
      expect(sim.controls.refund(answer.fields.refund_id)).toMatchObject({
        status: 'SUCCESS',
        successTime: expect.stringMatching(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/),
      });
    });

    it('moves a refund to SUCCESS by itself after the time-scaled delay', async () => {
      const { outTradeNo } = await paidOrder();
      await refundOf(outTradeNo, `${outTradeNo}R`, 400);
      expect(sim.controls.refund(`${outTradeNo}R`)?.status).toBe('PROCESSING');
      await expect(settled(`${outTradeNo}R`)).resolves.toMatchObject({ status: 'SUCCESS' });
    });

    it('finds the order by transaction_id too, which wins over out_trade_no', async () => {
      const first = await paidOrder();
      const second = await paidOrder();
      const answer = await refund({
        transaction_id: first.transactionId,
        out_trade_no: second.outTradeNo,
        out_refund_no: `${first.outTradeNo}T`,
        total_fee: 1000,
        refund_fee: 100,
      });
      expect(answer.fields).toMatchObject({
        result_code: 'SUCCESS',
        out_trade_no: first.outTradeNo,
      });
      expect(sim.controls.refunds(second.outTradeNo)).toEqual([]);
    });

    it('refunds only paid orders: ORDERNOTEXIST for an unpaid or unknown one', async () => {
      const fields = orderFields({ total_fee: 1000 });
      await plain.call('/pay/unifiedorder', fields);
      for (const outTradeNo of [fields.out_trade_no as string, newOrderNo()]) {
        const answer = await refundOf(outTradeNo, `${outTradeNo}R`, 100);
        expect(answer.fields).toMatchObject({
          result_code: 'FAIL',
          err_code: 'ORDERNOTEXIST',
          err_code_des: '订单不存在',
        });
        expect(secure.verifies(answer)).toBe(true);
      }
    });

    it('takes several partial refunds up to the order amount, then answers ERROR 订单已全额退款', async () => {
      const { outTradeNo } = await paidOrder(1000);
      expect((await refundOf(outTradeNo, `${outTradeNo}A`, 300)).fields.result_code).toBe(
        'SUCCESS',
      );
      expect((await refundOf(outTradeNo, `${outTradeNo}B`, 700)).fields.result_code).toBe(
        'SUCCESS',
      );
      const answer = await refundOf(outTradeNo, `${outTradeNo}C`, 1);
      expect(answer.fields).toMatchObject({ err_code: 'ERROR', err_code_des: '订单已全额退款' });
      expect(sim.controls.refunds(outTradeNo).map((r) => r.refundFee)).toEqual([300, 700]);
    });

    it('answers INVALID_REQUEST refund_fee大于可退金额 for a refund beyond what remains, and records nothing', async () => {
      const { outTradeNo } = await paidOrder(1000);
      await refundOf(outTradeNo, `${outTradeNo}A`, 600);
      const answer = await refundOf(outTradeNo, `${outTradeNo}B`, 401);
      expect(answer.fields).toMatchObject({
        result_code: 'FAIL',
        err_code: 'INVALID_REQUEST',
        err_code_des: 'refund_fee大于可退金额',
      });
      expect(sim.controls.refund(`${outTradeNo}B`)).toBeUndefined();
      expect((await refundOf(outTradeNo, `${outTradeNo}B`, 400)).fields.result_code).toBe(
        'SUCCESS',
      );
    });

    it('treats the same out_refund_no with the same amounts as the same refund, and other amounts as REFUND_FEE_MISMATCH', async () => {
      const { outTradeNo } = await paidOrder(1000);
      const first = await refundOf(outTradeNo, `${outTradeNo}R`, 500);
      const again = await refundOf(outTradeNo, `${outTradeNo}R`, 500);
      expect(again.fields.refund_id).toBe(first.fields.refund_id);
      expect(again.fields.nonce_str).not.toBe(first.fields.nonce_str);
      const changed = await refundOf(outTradeNo, `${outTradeNo}R`, 400);
      expect(changed.fields).toMatchObject({
        err_code: 'REFUND_FEE_MISMATCH',
        err_code_des: '订单金额或退款金额与之前请求不一致,请核实后再试',
      });
      expect(sim.controls.refunds(outTradeNo)).toHaveLength(1);
    });

    it('requires total_fee to be the order amount (REFUND_FEE_MISMATCH) and refund_fee a positive integer no larger (invalid refund_fee)', async () => {
      const { outTradeNo } = await paidOrder(1000);
      expect((await refundOf(outTradeNo, `${outTradeNo}A`, 100, 999)).fields.err_code).toBe(
        'REFUND_FEE_MISMATCH',
      );
      for (const [refundFee, totalFee, message] of [
        ['1001', '1000', 'invalid refund_fee'],
        ['0', '1000', 'invalid refund_fee'],
        ['1.5', '1000', 'invalid refund_fee'],
        ['-1', '1000', 'invalid refund_fee'],
        ['100', '10.00', 'invalid total_fee'],
      ]) {
        const answer = await refund({
          out_trade_no: outTradeNo,
          out_refund_no: `${outTradeNo}B`,
          total_fee: totalFee,
          refund_fee: refundFee,
        });
        expect(answer.fields).toEqual({ return_code: 'FAIL', return_msg: message });
      }
      expect(sim.controls.refunds(outTradeNo)).toEqual([]);
    });

    it('checks out_refund_no: required, at most 64 characters of letters, digits and _ - | * @', async () => {
      const { outTradeNo } = await paidOrder(1000);
      const answers = await Promise.all(
        [undefined, 'R'.repeat(65), 'bad refund', 'R#1'].map((no) =>
          refund({ out_trade_no: outTradeNo, out_refund_no: no, total_fee: 1000, refund_fee: 1 }),
        ),
      );
      expect(answers.map((a) => a.fields.return_msg)).toEqual([
        '缺少参数',
        'out_refund_no参数长度有误',
        'out_refund_no参数格式错误',
        'out_refund_no参数格式错误',
      ]);
      const ok = await refundOf(outTradeNo, `a_b-c|d*e@f${'9'.repeat(53)}`, 1);
      expect(ok.fields.result_code).toBe('SUCCESS');
      const noOrder = await refund({ out_refund_no: 'R1', total_fee: 1000, refund_fee: 1 });
      expect(noOrder.fields).toEqual({ return_code: 'FAIL', return_msg: '缺少参数' });
    });

    it('takes at most 50 refunds per order; the 51st answers INVALID_REQUEST', async () => {
      const { outTradeNo } = await paidOrder(100);
      for (let n = 1; n <= 50; n += 1) {
        const answer = await refundOf(outTradeNo, `${outTradeNo}N${n}`, 1, 100);
        expect(answer.fields.result_code).toBe('SUCCESS');
      }
      const answer = await refundOf(outTradeNo, `${outTradeNo}N51`, 1, 100);
      expect(answer.fields).toMatchObject({
        err_code: 'INVALID_REQUEST',
        err_code_des: '该订单退款次数已达上限，每笔订单最多退款50次',
      });
      expect(sim.controls.refunds(outTradeNo)).toHaveLength(50);
    });

    it('never lets concurrent refunds with distinct numbers add up to more than the order', async () => {
      const { outTradeNo } = await paidOrder(1000);
      const answers = await Promise.all(
        Array.from({ length: 20 }, (_, i) => refundOf(outTradeNo, `${outTradeNo}C${i}`, 150)),
      );
      const accepted = answers.filter((a) => a.fields.result_code === 'SUCCESS');
      expect(accepted).toHaveLength(6);
      expect(sim.controls.refunds(outTradeNo).reduce((sum, r) => sum + r.refundFee, 0)).toBe(900);
    });

    it('releases the amount of a REFUNDCLOSE refund and keeps that of a CHANGE one', async () => {
      const { outTradeNo } = await paidOrder(1000);
      sim.controls.setFaults({ refundOutcomes: ['REFUNDCLOSE', 'CHANGE'] });
      await refundOf(outTradeNo, `${outTradeNo}A`, 1000);
      await expect(settled(`${outTradeNo}A`)).resolves.toMatchObject({ status: 'REFUNDCLOSE' });
      await refundOf(outTradeNo, `${outTradeNo}B`, 1000);
      await expect(settled(`${outTradeNo}B`)).resolves.toMatchObject({ status: 'CHANGE' });
      expect((await refundOf(outTradeNo, `${outTradeNo}C`, 1)).fields.err_code_des).toBe(
        '订单已全额退款',
      );
    });

    it('refuses a second refund of an order inside refundMinIntervalMs with FREQUENCY_LIMITED (off by default)', async () => {
      const strict = await startSimulator({
        merchants: [TEST_MERCHANT],
        timeScale: 0.001,
        refundMinIntervalMs: 60_000,
      });
      try {
        const client = new SimClient(strict.tlsBaseUrl, TEST_MERCHANT, 'MD5', {
          ...tls,
          ca: await readFile(strict.caPem),
        });
        const fields = orderFields({ total_fee: 1000 });
        const created = await new SimClient(strict.baseUrl, TEST_MERCHANT).call(
          '/pay/unifiedorder',
          fields,
        );
        strict.controls.requestPayment({
          ...payParams(TEST_MERCHANT, created.fields.prepay_id, 'MD5'),
          openid: PAYER_OPENID,
        });
        const ask = (no: string) =>
          client.call('/secapi/pay/refund', {
            out_trade_no: fields.out_trade_no,
            out_refund_no: no,
            total_fee: 1000,
            refund_fee: 100,
          });
        expect((await ask('A1')).fields.result_code).toBe('SUCCESS');
        // The same number again is the same refund, not a new one: no interval applies.
        expect((await ask('A1')).fields.result_code).toBe('SUCCESS');
        expect((await ask('A2')).fields).toMatchObject({ err_code: 'FREQUENCY_LIMITED' });
        strict.controls.advanceClock(60_000);
        expect((await ask('A2')).fields.result_code).toBe('SUCCESS');
      } finally {
        await strict.stop();
      }
      // The shared simulator has no interval: two refunds of one order in a row are accepted.
      const { outTradeNo } = await paidOrder(1000);
      expect((await refundOf(outTradeNo, `${outTradeNo}A`, 1)).fields.result_code).toBe('SUCCESS');
      expect((await refundOf(outTradeNo, `${outTradeNo}B`, 1)).fields.result_code).toBe('SUCCESS');
    });
  });

  describe('refund faults', () => {
    it('answers SYSTEMERROR, BIZERR_NEED_RETRY and NOTENOUGH without refunding, and the retry with the same number succeeds', async () => {
      const { outTradeNo } = await paidOrder(1000);
      sim.controls.setFaults({
        systemErrorNext: 1,
        systemErrorPaths: ['/secapi/pay/refund'],
        businessErrors: [
          { path: '/secapi/pay/refund', errCode: 'BIZERR_NEED_RETRY' },
          { path: '/secapi/pay/refund', errCode: 'NOTENOUGH' },
        ],
      });
      const codes: string[] = [];
      for (let i = 0; i < 3; i += 1) {
        const answer = await refundOf(outTradeNo, `${outTradeNo}R`, 500);
        expect(secure.verifies(answer)).toBe(true);
        codes.push(`${answer.fields.err_code}:${answer.fields.err_code_des}`);
      }
      expect(codes).toEqual([
        'SYSTEMERROR:System Error',
        'BIZERR_NEED_RETRY:退款业务流程错误，需要商户触发重试来解决',
        'NOTENOUGH:基本账户余额不足，请充值后重新发起',
      ]);
      expect(sim.controls.refunds(outTradeNo)).toEqual([]);
      expect((await refundOf(outTradeNo, `${outTradeNo}R`, 500)).fields.result_code).toBe(
        'SUCCESS',
      );
    });

    it('can accept a refund and answer SYSTEMERROR: the retry with the same number returns that refund', async () => {
      const { outTradeNo } = await paidOrder(1000);
      sim.controls.setFaults({ refundAcceptedSystemErrorNext: 1 });
      const failed = await refundOf(outTradeNo, `${outTradeNo}R`, 500);
      expect(failed.fields.err_code).toBe('SYSTEMERROR');
      const [accepted] = sim.controls.refunds(outTradeNo);
      const retry = await refundOf(outTradeNo, `${outTradeNo}R`, 500);
      expect(retry.fields).toMatchObject({ result_code: 'SUCCESS', refund_id: accepted.refundId });
      expect(sim.controls.refunds(outTradeNo)).toHaveLength(1);
    });

    it('can accept a refund and never answer: the client times out, the refund exists, the retry returns it', async () => {
      const { outTradeNo } = await paidOrder(1000);
      sim.controls.setFaults({ refundNoAnswerNext: 1 });
      const body = secure.signed({
        out_trade_no: outTradeNo,
        out_refund_no: `${outTradeNo}R`,
        total_fee: 1000,
        refund_fee: 1000,
      });
      await expect(
        httpsCall(`${sim.tlsBaseUrl}/secapi/pay/refund`, body, { ...tls, timeoutMs: 300 }),
      ).rejects.toThrow('no answer within 300 ms');
      const [accepted] = sim.controls.refunds(outTradeNo);
      expect(accepted).toMatchObject({ refundFee: 1000 });
      const retry = await refundOf(outTradeNo, `${outTradeNo}R`, 1000);
      expect(retry.fields).toMatchObject({ result_code: 'SUCCESS', refund_id: accepted.refundId });
      // A new number for the same money is refused: the money is already on its way back.
      expect((await refundOf(outTradeNo, `${outTradeNo}R2`, 1000)).fields.err_code).toBe('ERROR');
    });
  });

  describe('orderquery after a refund', () => {
    it('reports REFUND with its trade_state_desc and the paid fields once an order has a refund', async () => {
      const { outTradeNo, transactionId } = await paidOrder(1000);
      await refundOf(outTradeNo, `${outTradeNo}R`, 100);
      const answer = await plain.call('/pay/orderquery', { out_trade_no: outTradeNo });
      expect(answer.fields).toMatchObject({
        trade_state: 'REFUND',
        trade_state_desc: '订单发生过退款，退款详情请查询退款单',
        transaction_id: transactionId,
        total_fee: '1000',
        cash_fee: '1000',
      });
      expect(plain.verifies(answer)).toBe(true);
      expect(sim.controls.order(outTradeNo)).toMatchObject({
        tradeState: 'REFUND',
        refundedFee: 100,
        refundCount: 1,
      });
      const page = await (await fetch(`${sim.baseUrl}/__simulator/`)).text();
      expect(page).toContain(`<tr data-out-refund-no="${outTradeNo}R">`);
      const listed = (await (
        await fetch(`${sim.baseUrl}/__simulator/refunds?outTradeNo=${outTradeNo}`)
      ).json()) as SimulatedRefundView[];
      expect(listed.map((r) => r.outRefundNo)).toEqual([`${outTradeNo}R`]);
    });
  });

  describe('refundquery', () => {
    const query = (fields: Record<string, string | number | undefined>) =>
      plain.call('/pay/refundquery', fields);

    it('lists the refunds of an order with the _$n fields, statuses, channel, receiving account and success time', async () => {
      const { outTradeNo, transactionId } = await paidOrder(1000);
      sim.controls.setFaults({ refundOutcomes: ['PROCESSING'] });
      const a = await refundOf(outTradeNo, `${outTradeNo}A`, 300);
      const b = await refundOf(outTradeNo, `${outTradeNo}B`, 200);
      await settled(`${outTradeNo}B`);
      const answer = await query({ out_trade_no: outTradeNo });
      expect(plain.verifies(answer)).toBe(true);
      const success = sim.controls.refund(`${outTradeNo}B`) as SimulatedRefundView;
      expect(answer.fields).toMatchObject({
        result_code: 'SUCCESS',
        transaction_id: transactionId,
        out_trade_no: outTradeNo,
        total_fee: '1000',
        cash_fee: '1000',
        fee_type: 'CNY',
        refund_count: '2',
        refund_fee: '500',
        out_refund_no_0: `${outTradeNo}A`,
        refund_id_0: a.fields.refund_id,
        refund_channel_0: 'ORIGINAL',
        refund_fee_0: '300',
        settlement_refund_fee_0: '300',
        refund_status_0: 'PROCESSING',
        refund_account_0: 'REFUND_SOURCE_UNSETTLED_FUNDS',
        refund_recv_accout_0: '支付用户零钱',
        out_refund_no_1: `${outTradeNo}B`,
        refund_id_1: b.fields.refund_id,
        refund_status_1: 'SUCCESS',
        refund_success_time_1: success.successTime,
      });
      expect(answer.fields.refund_success_time_0).toBeUndefined();
      expect(answer.fields.total_refund_count).toBeUndefined();
    });

    it('takes refund_id over out_refund_no over transaction_id over out_trade_no', async () => {
      const one = await paidOrder(1000);
      const two = await paidOrder(1000);
      const a = await refundOf(one.outTradeNo, `${one.outTradeNo}A`, 100);
      await refundOf(one.outTradeNo, `${one.outTradeNo}B`, 100);
      await refundOf(two.outTradeNo, `${two.outTradeNo}A`, 100);
      const byId = await query({
        refund_id: a.fields.refund_id,
        out_refund_no: `${one.outTradeNo}B`,
        transaction_id: two.transactionId,
        out_trade_no: two.outTradeNo,
      });
      expect(byId.fields).toMatchObject({
        refund_count: '1',
        out_refund_no_0: `${one.outTradeNo}A`,
      });
      const byNo = await query({
        out_refund_no: `${one.outTradeNo}B`,
        transaction_id: two.transactionId,
        out_trade_no: two.outTradeNo,
      });
      expect(byNo.fields).toMatchObject({
        refund_count: '1',
        out_refund_no_0: `${one.outTradeNo}B`,
      });
      const byTransaction = await query({
        transaction_id: one.transactionId,
        out_trade_no: two.outTradeNo,
      });
      expect(byTransaction.fields).toMatchObject({
        refund_count: '2',
        out_trade_no: one.outTradeNo,
      });
    });

    it('pages with offset, ten at a time, with total_refund_count, and lists up to 20 without it', async () => {
      const { outTradeNo } = await paidOrder(1000);
      for (let n = 0; n < 23; n += 1) await refundOf(outTradeNo, `${outTradeNo}P${n}`, 1);
      const first = await query({ out_trade_no: outTradeNo, offset: 0 });
      expect(first.fields).toMatchObject({
        total_refund_count: '23',
        refund_count: '10',
        out_refund_no_0: `${outTradeNo}P0`,
        out_refund_no_9: `${outTradeNo}P9`,
      });
      expect(first.fields.out_refund_no_10).toBeUndefined();
      const last = await query({ out_trade_no: outTradeNo, offset: 20 });
      expect(last.fields).toMatchObject({
        total_refund_count: '23',
        refund_count: '3',
        out_refund_no_0: `${outTradeNo}P20`,
        out_refund_no_2: `${outTradeNo}P22`,
      });
      const unpaged = await query({ out_trade_no: outTradeNo });
      expect(unpaged.fields.refund_count).toBe('20');
      expect((await query({ out_trade_no: outTradeNo, offset: 23 })).fields.err_code).toBe(
        'REFUNDNOTEXIST',
      );
      expect((await query({ out_trade_no: outTradeNo, offset: 'x' })).fields).toEqual({
        return_code: 'FAIL',
        return_msg: 'offset参数格式错误',
      });
    });

    it('answers REFUNDNOTEXIST for an order without refunds, an unknown number and an unknown order', async () => {
      const { outTradeNo } = await paidOrder(1000);
      for (const fields of [
        { out_trade_no: outTradeNo },
        { out_refund_no: 'NOSUCHREFUND' },
        { refund_id: '50000000000000000000000000000' },
        { out_trade_no: newOrderNo() },
      ]) {
        const answer = await query(fields);
        expect(answer.fields).toMatchObject({
          result_code: 'FAIL',
          err_code: 'REFUNDNOTEXIST',
          err_code_des: 'not exist',
        });
        expect(plain.verifies(answer)).toBe(true);
      }
      expect((await query({})).fields).toEqual({ return_code: 'FAIL', return_msg: '缺少参数' });
    });

    it('splits a coupon between the refunds of an order so the parts add up to the coupon', async () => {
      const fields = orderFields({ total_fee: 1000 });
      const created = await plain.call('/pay/unifiedorder', fields);
      sim.controls.requestPayment({
        ...payParams(TEST_MERCHANT, created.fields.prepay_id, 'MD5'),
        openid: PAYER_OPENID,
        coupon: { fee: 333, type: 'NO_CASH', id: '1234567890' },
      });
      const outTradeNo = fields.out_trade_no as string;
      const first = await refundOf(outTradeNo, `${outTradeNo}A`, 500);
      expect(first.fields).toMatchObject({
        refund_fee: '500',
        coupon_refund_fee: '166',
        cash_refund_fee: '334',
        settlement_refund_fee: '334',
        settlement_total_fee: '667',
        coupon_refund_count: '1',
        coupon_type_0: 'NO_CASH',
        coupon_refund_id_0: '1234567890',
        coupon_refund_fee_0: '166',
      });
      await refundOf(outTradeNo, `${outTradeNo}B`, 500);
      const answer = await query({ out_trade_no: outTradeNo });
      expect(answer.fields).toMatchObject({
        coupon_refund_fee: '333',
        cash_refund_fee: '667',
        coupon_refund_fee_1: '167',
        coupon_refund_count_1: '1',
        coupon_type_1_0: 'NO_CASH',
        coupon_refund_id_1_0: '1234567890',
        coupon_refund_fee_1_0: '167',
        settlement_refund_fee_1: '333',
      });
      expect(plain.verifies(answer)).toBe(true);
    });
  });

  describe('refund notifications', () => {
    it('posts req_info encrypted with the MD5 of the API key, no sign, with the §9.3 fields in <root>', async () => {
      const merchant = await endpoint();
      const { outTradeNo, transactionId } = await paidOrder(1000);
      const answer = await refund({
        out_trade_no: outTradeNo,
        out_refund_no: `${outTradeNo}R`,
        total_fee: 1000,
        refund_fee: 250,
        notify_url: merchant.url,
      });
      await sim.controls.waitForRefundNotifications((sends) =>
        sends.some((s) => s.outRefundNo === `${outTradeNo}R` && s.outcome === 'delivered'),
      );
      expect(merchant.bodies).toHaveLength(1);
      const outer = await parseXml(merchant.bodies[0]);
      expect(Object.keys(outer).sort()).toEqual([
        'appid',
        'mch_id',
        'nonce_str',
        'req_info',
        'return_code',
      ]);
      expect(outer).toMatchObject({
        return_code: 'SUCCESS',
        appid: TEST_MERCHANT.appId,
        mch_id: TEST_MERCHANT.mchId,
      });
      const plaintext = decrypt(outer.req_info, TEST_MERCHANT.apiKey);
      expect(plaintext.startsWith('<root>')).toBe(true);
      const inner = await parseXml(plaintext, { root: 'root' });
      const view = sim.controls.refund(`${outTradeNo}R`) as SimulatedRefundView;
      expect(inner).toEqual({
        out_refund_no: `${outTradeNo}R`,
        out_trade_no: outTradeNo,
        refund_account: 'REFUND_SOURCE_UNSETTLED_FUNDS',
        refund_fee: '250',
        refund_id: answer.fields.refund_id,
        refund_recv_accout: '支付用户零钱',
        refund_request_source: 'API',
        refund_status: 'SUCCESS',
        settlement_refund_fee: '250',
        settlement_total_fee: '1000',
        success_time: view.successTime,
        total_fee: '1000',
        transaction_id: transactionId,
      });
      expect(view.notification).toBe('delivered');
    });

    it('notifies CHANGE and REFUNDCLOSE too, without success_time', async () => {
      const merchant = await endpoint();
      const { outTradeNo } = await paidOrder(1000);
      sim.controls.setFaults({ refundOutcomes: ['CHANGE'] });
      await refund({
        out_trade_no: outTradeNo,
        out_refund_no: `${outTradeNo}R`,
        total_fee: 1000,
        refund_fee: 1000,
        notify_url: merchant.url,
      });
      const sends = await sim.controls.waitForRefundNotifications((all) =>
        all.some((s) => s.outRefundNo === `${outTradeNo}R` && s.outcome === 'delivered'),
      );
      expect(sends.find((s) => s.outRefundNo === `${outTradeNo}R`)).toMatchObject({
        refundStatus: 'CHANGE',
        outTradeNo,
      });
      const inner = await parseXml(
        decrypt((await parseXml(merchant.bodies[0])).req_info, TEST_MERCHANT.apiKey),
        { root: 'root' },
      );
      expect(inner.refund_status).toBe('CHANGE');
      expect(inner.success_time).toBeUndefined();
    });

    it('retries a failed refund notification on the payment schedule, the same bytes every time, until SUCCESS', async () => {
      const merchant = await endpoint((nth) => ({ body: nth < 3 ? FAIL_REPLY : SUCCESS_REPLY }));
      const { outTradeNo } = await paidOrder(1000);
      sim.controls.setFaults({ dropRefundNotifications: 1 });
      await refund({
        out_trade_no: outTradeNo,
        out_refund_no: `${outTradeNo}R`,
        total_fee: 1000,
        refund_fee: 1000,
        notify_url: merchant.url,
      });
      const sends = (
        await sim.controls.waitForRefundNotifications(
          (all) => all.some((s) => s.outRefundNo === `${outTradeNo}R` && s.outcome === 'delivered'),
          10_000,
        )
      ).filter((s) => s.outRefundNo === `${outTradeNo}R`);
      expect(sends.map((s) => `${s.attempt}:${s.outcome}`)).toEqual([
        '1:dropped',
        '2:failed',
        '3:failed',
        '4:delivered',
      ]);
      expect(new Set(merchant.bodies).size).toBe(1);
      expect(merchant.bodies).toHaveLength(3);
      // The payment notification of the same order went to its own notify_url, untouched by the fault.
      expect(sim.controls.notifications(outTradeNo)[0].outcome).not.toBe('dropped');
    });

    it('sends concurrent copies under refundNotificationCopies', async () => {
      const merchant = await endpoint();
      const { outTradeNo } = await paidOrder(1000);
      sim.controls.setFaults({ refundNotificationCopies: 5 });
      await refund({
        out_trade_no: outTradeNo,
        out_refund_no: `${outTradeNo}R`,
        total_fee: 1000,
        refund_fee: 1000,
        notify_url: merchant.url,
      });
      // The sends are recorded once all five replies are in, after the merchant has seen the bodies.
      const sends = (
        await sim.controls.waitForRefundNotifications(
          (all) => all.filter((a) => a.outRefundNo === `${outTradeNo}R`).length === 5,
        )
      ).filter((a) => a.outRefundNo === `${outTradeNo}R`);
      expect(sends.map((s) => `${s.attempt}.${s.copy}:${s.outcome}`)).toEqual([
        '1.1:delivered',
        '1.2:delivered',
        '1.3:delivered',
        '1.4:delivered',
        '1.5:delivered',
      ]);
      expect(merchant.bodies).toHaveLength(5);
      expect(new Set(merchant.bodies).size).toBe(1);
    });

    it('holds each send back for refundNotificationDelayMs real milliseconds', async () => {
      let arrivedAt = 0;
      const merchant = await endpoint(() => {
        arrivedAt = Date.now();
        return { body: SUCCESS_REPLY };
      });
      const { outTradeNo } = await paidOrder(1000);
      sim.controls.setFaults({ refundOutcomes: ['PROCESSING'], refundNotificationDelayMs: 400 });
      await refund({
        out_trade_no: outTradeNo,
        out_refund_no: `${outTradeNo}R`,
        total_fee: 1000,
        refund_fee: 1000,
        notify_url: merchant.url,
      });
      const finishedAt = Date.now();
      sim.controls.finishRefund(`${outTradeNo}R`);
      await sim.controls.waitForRefundNotifications((all) =>
        all.some((s) => s.outRefundNo === `${outTradeNo}R` && s.outcome === 'delivered'),
      );
      expect(merchant.bodies).toHaveLength(1);
      expect(arrivedAt - finishedAt).toBeGreaterThanOrEqual(380);
    });

    it("uses the merchant's refundNotifyUrl when the request has none, and sends nothing without either", async () => {
      const merchant = await endpoint();
      const configured = await startSimulator({
        merchants: [{ ...TEST_MERCHANT, refundNotifyUrl: merchant.url }],
        timeScale: 0.001,
      });
      try {
        const client = new SimClient(configured.tlsBaseUrl, TEST_MERCHANT, 'MD5', {
          ...tls,
          ca: await readFile(configured.caPem),
        });
        const fields = orderFields({ total_fee: 100 });
        const created = await new SimClient(configured.baseUrl, TEST_MERCHANT).call(
          '/pay/unifiedorder',
          fields,
        );
        configured.controls.requestPayment({
          ...payParams(TEST_MERCHANT, created.fields.prepay_id, 'MD5'),
          openid: PAYER_OPENID,
        });
        await client.call('/secapi/pay/refund', {
          out_trade_no: fields.out_trade_no,
          out_refund_no: 'DEFAULTURL1',
          total_fee: 100,
          refund_fee: 100,
        });
        await configured.controls.waitForRefundNotifications((all) =>
          all.some((s) => s.outcome === 'delivered'),
        );
        expect(merchant.bodies).toHaveLength(1);
      } finally {
        await configured.stop();
      }
      const { outTradeNo } = await paidOrder(1000);
      await refundOf(outTradeNo, `${outTradeNo}R`, 1000);
      await expect(settled(`${outTradeNo}R`)).resolves.toMatchObject({ notification: 'none' });
      expect(sim.controls.refundNotifications(`${outTradeNo}R`)).toEqual([]);
    });
  });

  describe('dashboard', () => {
    it('shows each refund with its order, status, amounts, destination and notification', async () => {
      const { outTradeNo } = await paidOrder(1000);
      sim.controls.setFaults({ refundOutcomes: ['PROCESSING', 'CHANGE'] });
      await refundOf(outTradeNo, `${outTradeNo}-P`, 250);
      await refundOf(outTradeNo, `${outTradeNo}-C`, 300);
      await settled(`${outTradeNo}-C`);
      const html = await (await fetch(`${sim.baseUrl}/__simulator/`)).text();
      const table = html.slice(html.indexOf('id="refunds"'));
      const row = (no: string) => {
        const start = table.indexOf(`<tr data-out-refund-no="${no}">`);
        expect(start).toBeGreaterThan(-1);
        return table.slice(start, table.indexOf('</tr>', start));
      };
      expect(row(`${outTradeNo}-P`)).toContain(outTradeNo);
      expect(row(`${outTradeNo}-P`)).toMatch(/>PROCESSING<\/td><td>¥2\.50<\/td><td>¥10\.00<\/td>/);
      expect(row(`${outTradeNo}-C`)).toMatch(/>CHANGE<\/td><td>¥3\.00<\/td><td>¥10\.00<\/td>/);
      expect(row(`${outTradeNo}-C`)).toContain('支付用户零钱');
    });
  });

  describe('retention', () => {
    it('keeps refunds with their order and forgets them together, never while a refund is in progress', async () => {
      const short = await startSimulator({
        merchants: [TEST_MERCHANT],
        timeScale: 0.001,
        retention: { paidOrderMs: 60_000 },
      });
      try {
        const client = new SimClient(short.tlsBaseUrl, TEST_MERCHANT, 'MD5', {
          ...tls,
          ca: await readFile(short.caPem),
        });
        const http = new SimClient(short.baseUrl, TEST_MERCHANT);
        const shop = await endpoint();
        const fields = orderFields({ total_fee: 100, notify_url: shop.url });
        const created = await http.call('/pay/unifiedorder', fields);
        short.controls.requestPayment({
          ...payParams(TEST_MERCHANT, created.fields.prepay_id, 'MD5'),
          openid: PAYER_OPENID,
        });
        await waitFor(
          () => short.controls.order(fields.out_trade_no as string)?.notification !== 'pending',
        );
        short.controls.setFaults({ refundOutcomes: ['PROCESSING'] });
        await client.call('/secapi/pay/refund', {
          out_trade_no: fields.out_trade_no,
          out_refund_no: 'KEEP1',
          total_fee: 100,
          refund_fee: 100,
        });
        short.controls.advanceClock(120_000);
        // In progress: the order and its refund stay.
        expect(
          (await http.call('/pay/refundquery', { out_refund_no: 'KEEP1' })).fields.refund_status_0,
        ).toBe('PROCESSING');
        short.controls.finishRefund('KEEP1');
        short.controls.advanceClock(59_000);
        expect(short.controls.refund('KEEP1')?.status).toBe('SUCCESS');
        short.controls.advanceClock(1_000);
        expect(short.controls.refund('KEEP1')).toBeUndefined();
        expect(
          (await http.call('/pay/refundquery', { out_refund_no: 'KEEP1' })).fields.err_code,
        ).toBe('REFUNDNOTEXIST');
        expect(short.controls.stats()).toMatchObject({ orders: 0, refunds: 0, evictedOrders: 1 });
      } finally {
        await short.stop();
      }
    });
  });
});
