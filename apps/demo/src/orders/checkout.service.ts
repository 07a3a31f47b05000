import { ConflictException, HttpException, Inject, Injectable } from '@nestjs/common';
import { formatBeijingTime } from 'nestjs-wechat-pay-v2/protocol';
import type { AuthenticatedUser } from '../auth/auth.service';
import { CatalogService } from '../catalog/catalog.service';
import { Clock } from '../clock';
import { PaymentNotReadyError } from '../common/payment-not-ready.error';
import { DEMO_CONFIG, type DemoConfig } from '../config/demo.config';
import { firstCheckDelay } from './check-schedule';
import { isPaid, next, stateOf } from './order-machine';
import { newOrderNo } from './order-number';
import type { OrderEntity } from './order.entity';
import { orderView } from './order-view';
import type { CheckoutDto, OrderItemDto } from './orders.dto';
import { OrdersStore } from './orders.store';
import { PrepayService } from './prepay.service';
import { priceOrder, type PricedLine } from './pricing';

/** Placing an order, and paying an unpaid one again. */
@Injectable()
export class CheckoutService {
  constructor(
    private readonly catalog: CatalogService,
    private readonly store: OrdersStore,
    private readonly prepay: PrepayService,
    private readonly clock: Clock,
    @Inject(DEMO_CONFIG) private readonly config: DemoConfig,
  ) {}

  /**
   * Writes the order first (unpaid), then asks WeChat for a prepay_id. If that call fails the order
   * stays unpaid with no prepay_id, the error says whether a retry can help, and
   * POST /api/orders/:orderNo/pay picks it up later with exactly the same parameters.
   */
  async create(
    user: AuthenticatedUser,
    lines: OrderItemDto[],
    clientIp: string,
  ): Promise<CheckoutDto> {
    const products = await this.catalog.findActive([...new Set(lines.map((l) => l.productId))]);
    const priced = priceOrder(lines, products);
    const now = this.clock.now();
    const expiresAt = now + this.config.orderTtlMinutes * 60_000;
    const order = await this.store.place(
      {
        orderNo: newOrderNo(now),
        userId: user.id,
        openid: user.openid,
        appId: this.config.wechat.appId,
        mchId: this.config.wechat.mchId,
        amountFen: priced.amountFen,
        description: priced.description,
        status: 'UNPAID',
        signType: this.config.wechat.signType,
        notifyUrl: this.config.wechat.notifyUrl,
        timeExpire: formatBeijingTime(new Date(expiresAt)),
        expiresAt,
        prepayId: null,
        prepayExpiresAt: null,
        transactionId: null,
        paidAt: null,
        paidVia: null,
        closedAt: null,
        cancelRequestedAt: null,
        nextCheckAt: now + firstCheckDelay(),
        checkAttempts: 0,
        leaseOwner: null,
        leaseUntil: null,
        refundReservedFen: 0,
        refundedFen: 0,
        lastError: null,
        createdAt: now,
        updatedAt: now,
      },
      priced.lines,
    );
    return this.checkout(order, priced.lines, clientIp);
  }

  /** Fresh pay parameters for an unpaid order of this user. */
  async pay(user: AuthenticatedUser, orderNo: string, clientIp: string): Promise<CheckoutDto> {
    const order = await this.store.own(orderNo, user.id);
    const now = this.clock.now();
    if (next(stateOf(order, now), 'PREPAY_OBTAINED').outcome === 'REFUSED') {
      throw new ConflictException(
        isPaid(order.status)
          ? `order ${order.orderNo} is already paid`
          : `order ${order.orderNo} is closed; place a new order`,
      );
    }
    if (order.expiresAt <= now) {
      throw new ConflictException(`order ${order.orderNo} has expired; place a new order`);
    }
    return this.checkout(order, await this.store.items(order.id), clientIp);
  }

  /**
   * The order with pay parameters. Once the row exists every failure names the order (and how to
   * retry it when that can help), so the client pays this order rather than placing another.
   */
  private async checkout(
    order: OrderEntity,
    lines: PricedLine[],
    clientIp: string,
  ): Promise<CheckoutDto> {
    try {
      const payParams = await this.prepay.payParams(order, clientIp);
      return { ...orderView(order, lines), payParams };
    } catch (error) {
      if (error instanceof HttpException) throw error;
      throw new PaymentNotReadyError(order.orderNo, error);
    }
  }
}
