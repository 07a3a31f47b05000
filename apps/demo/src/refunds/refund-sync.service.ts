import { Inject, Injectable, Logger } from '@nestjs/common';
import {
  WechatPayBusinessError,
  WechatPayConfigError,
  WechatPayError,
  WechatPayGateway,
  WechatPayRequestError,
  type RefundQueryResult,
  type RefundStatus as WechatRefundStatus,
  type RequestOptions,
} from 'nestjs-wechat-pay-v2';
import { Clock } from '../clock';
import { DEMO_CONFIG, type DemoConfig } from '../config/demo.config';
import type { RefundEntity, RefundStatus } from './refund.entity';
import { nextRefundCheckAt } from './refund-schedule';
import { RefundsStore, type RefundFinal } from './refunds.store';

/** Where a refund stands after talking to WeChat, and why when it is not accepted. */
export interface RefundStanding {
  status: RefundStatus;
  error?: string;
}

/** What WeChat reports about one refund, by notification or refundquery. */
export interface RefundReport {
  outRefundNo: string;
  refundId: string;
  /** Absent in a refundquery item (the order is the one asked about). */
  outTradeNo?: string;
  totalFee?: number;
  refundFee: number;
  status: WechatRefundStatus;
  successAt?: Date;
  refundChannel?: string;
  recvAccount?: string;
}

/** A report that names no refund of ours, or names ours with other amounts or another order. */
export class RefundReportRefused extends Error {}

const FINAL: Record<Exclude<WechatRefundStatus, 'PROCESSING'>, RefundFinal['status']> = {
  SUCCESS: 'SUCCESS',
  REFUNDCLOSE: 'CLOSED',
  CHANGE: 'CHANGE',
};

/**
 * Sends refunds to WeChat and applies what WeChat says about them:
 * - a refund is sent with the number and amounts written in its row, however often: a repeat is
 *   the same refund at WeChat, which is what makes a refund in doubt safe to retry;
 * - accepted → PROCESSING; refused for good (a business err_code that is not retryable, or a value
 *   refused before sending) → CLOSED with its reservation released; anything else (a timeout,
 *   SYSTEMERROR, BIZERR_NEED_RETRY, an answer that cannot be read) leaves it PENDING for the
 *   reconciler to send again;
 * - a final report (SUCCESS, REFUNDCLOSE, CHANGE) moves it once, through RefundsStore.finish.
 */
@Injectable()
export class RefundSyncService {
  private readonly logger = new Logger(RefundSyncService.name);

  constructor(
    private readonly gateway: WechatPayGateway,
    private readonly store: RefundsStore,
    private readonly clock: Clock,
    @Inject(DEMO_CONFIG) private readonly config: DemoConfig,
  ) {}

  /** Sends a PENDING refund; `leaseOwner` is the reconciler pass holding it, '' for none. */
  async send(
    refund: RefundEntity,
    leaseOwner: string,
    options: RequestOptions = {},
  ): Promise<RefundStanding> {
    try {
      const result = await this.gateway.refund(
        {
          outTradeNo: refund.orderNo,
          outRefundNo: refund.refundNo,
          totalFee: refund.totalFen,
          refundFee: refund.amountFen,
          ...(refund.reason !== null ? { refundDesc: refund.reason } : {}),
          notifyUrl: this.config.refundNotifyUrl,
        },
        options,
      );
      const now = this.clock.now();
      if (await this.store.accepted(refund, result.refundId, nextRefundCheckAt(0, now), now)) {
        this.logger.log(`refund ${refund.refundNo} accepted by WeChat as ${result.refundId}`);
        return { status: 'PROCESSING' };
      }
      // A notification or another pass moved it first.
      return { status: (await this.store.byId(refund.id)).status };
    } catch (error) {
      if (!(error instanceof WechatPayError)) throw error;
      const reason = describe(error);
      if (refusedForGood(error)) {
        const closed = await this.store.finish(
          refund,
          {
            status: 'CLOSED',
            refundId: null,
            successAt: null,
            refundChannel: null,
            recvAccount: null,
            detail: reason,
          },
          this.clock.now(),
        );
        this.logger.warn(`refund ${refund.refundNo} refused by WeChat (${reason}); closed`);
        if (closed) return { status: 'CLOSED', error: reason };
        return { status: (await this.store.byId(refund.id)).status };
      }
      const now = this.clock.now();
      await this.store.reschedule(
        refund,
        nextRefundCheckAt(refund.checkAttempts, now),
        reason,
        leaseOwner,
        now,
      );
      this.logger.warn(`refund ${refund.refundNo} in doubt (${error.code}); it will be sent again`);
      return { status: 'PENDING', error: error.code };
    }
  }

  /** Asks refundquery about a PROCESSING refund and applies a final answer. */
  async check(
    refund: RefundEntity,
    leaseOwner: string,
    options: RequestOptions = {},
  ): Promise<RefundStanding> {
    let answer: RefundQueryResult;
    try {
      answer = await this.gateway.refundQuery({ outRefundNo: refund.refundNo }, options);
    } catch (error) {
      if (!(error instanceof WechatPayError)) throw error;
      await this.later(refund, leaseOwner, describe(error));
      return { status: refund.status, error: error.code };
    }
    if (!answer.found) {
      await this.later(refund, leaseOwner, 'REFUNDNOTEXIST');
      return { status: refund.status, error: 'REFUNDNOTEXIST' };
    }
    const item = answer.refunds.find((r) => r.outRefundNo === refund.refundNo);
    if (item === undefined) {
      await this.later(refund, leaseOwner, 'refundquery did not list the refund');
      return { status: refund.status, error: 'not listed' };
    }
    try {
      return {
        status: await this.apply(refund, {
          outRefundNo: item.outRefundNo,
          refundId: item.refundId,
          outTradeNo: answer.outTradeNo,
          totalFee: answer.totalFee,
          refundFee: item.refundFee,
          status: item.status,
          successAt: item.successAt,
          refundChannel: item.refundChannel,
          recvAccount: item.refundRecvAccount,
        }),
      };
    } catch (error) {
      if (!(error instanceof RefundReportRefused)) throw error;
      await this.later(refund, leaseOwner, error.message);
      return { status: refund.status, error: error.message };
    }
  }

  /**
   * Applies a report about a refund: refused unless it names one of ours with its order and
   * amounts. A PROCESSING report (refundquery) only confirms acceptance; a final one moves the
   * refund once, and a repeat finds it final and changes nothing. Resolves the status now.
   */
  async apply(refund: RefundEntity | undefined, report: RefundReport): Promise<RefundStatus> {
    if (!refund || refund.refundNo !== report.outRefundNo) {
      throw new RefundReportRefused(`no refund ${report.outRefundNo} here`);
    }
    if (
      report.refundFee !== refund.amountFen ||
      (report.totalFee !== undefined && report.totalFee !== refund.totalFen) ||
      (report.outTradeNo !== undefined && report.outTradeNo !== refund.orderNo) ||
      (refund.refundId !== null && refund.refundId !== report.refundId)
    ) {
      throw new RefundReportRefused(
        `the report about refund ${refund.refundNo} does not match its order, amounts or refund_id`,
      );
    }
    const now = this.clock.now();
    if (report.status === 'PROCESSING') {
      if (refund.status === 'PENDING') {
        await this.store.accepted(refund, report.refundId, nextRefundCheckAt(0, now), now);
        return 'PROCESSING';
      }
      await this.store.reschedule(
        refund,
        nextRefundCheckAt(refund.checkAttempts + 1, now),
        null,
        refund.leaseOwner ?? '',
        now,
      );
      return refund.status;
    }
    const status = FINAL[report.status];
    const moved = await this.store.finish(
      refund,
      {
        status,
        refundId: report.refundId,
        successAt: status === 'SUCCESS' ? (report.successAt?.getTime() ?? now) : null,
        refundChannel: report.refundChannel ?? null,
        recvAccount: report.recvAccount ?? null,
        detail: status === 'SUCCESS' ? null : `WeChat reported ${report.status}`,
      },
      now,
    );
    if (moved) {
      if (status === 'CHANGE') {
        this.logger.warn(
          `refund ${refund.refundNo} of order ${refund.orderNo} could not be paid back (CHANGE); ` +
            'recorded for review: resend it from the merchant platform',
        );
      } else {
        this.logger.log(`refund ${refund.refundNo} of order ${refund.orderNo}: ${status}`);
      }
      return status;
    }
    return (await this.store.byId(refund.id)).status;
  }

  private async later(refund: RefundEntity, leaseOwner: string, error: string): Promise<void> {
    const now = this.clock.now();
    await this.store.reschedule(
      refund,
      nextRefundCheckAt(refund.checkAttempts + 1, now),
      error,
      leaseOwner,
      now,
    );
  }
}

/** Nothing was accepted and sending the same refund again cannot change that. */
function refusedForGood(error: WechatPayError): boolean {
  if (error instanceof WechatPayBusinessError) return !error.retryable;
  return error instanceof WechatPayRequestError || error instanceof WechatPayConfigError;
}

function describe(error: WechatPayError): string {
  if (error instanceof WechatPayBusinessError) {
    return `${error.errCode}: ${error.errCodeDes}`.slice(0, 255);
  }
  return `${error.code}: ${error.message}`.slice(0, 255);
}
