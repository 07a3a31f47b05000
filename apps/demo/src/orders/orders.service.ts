import { ConflictException, Inject, Injectable, Logger } from '@nestjs/common';
import { WechatPayBusinessError, WechatPayError } from 'nestjs-wechat-pay-v2';
import type { AuthenticatedUser } from '../auth/auth.service';
import { Clock } from '../clock';
import { DEMO_CONFIG, type DemoConfig } from '../config/demo.config';
import { OrderSyncService } from '../payments/order-sync.service';
import { CLOSE_RETRY_MS } from './check-schedule';
import { isPaid, next, stateOf } from './order-machine';
import type { OrderEntity } from './order.entity';
import { orderView } from './order-view';
import type { OrderDto, OrderPageDto } from './orders.dto';
import { OrdersStore } from './orders.store';

/** Reading and cancelling a user's orders. */
@Injectable()
export class OrdersService {
  private readonly logger = new Logger(OrdersService.name);

  constructor(
    private readonly store: OrdersStore,
    private readonly sync: OrderSyncService,
    private readonly clock: Clock,
    @Inject(DEMO_CONFIG) private readonly config: DemoConfig,
  ) {}

  async get(user: AuthenticatedUser, orderNo: string): Promise<OrderDto> {
    let order = await this.store.own(orderNo, user.id);
    // The mini-program polls here after requestPayment:ok; a late notification must not make the
    // answer wrong, so an unpaid order old enough to have been paid is checked with WeChat first.
    if (
      order.status === 'UNPAID' &&
      order.prepayId !== null &&
      this.clock.now() - order.createdAt >= this.config.orderQueryAfterMs
    ) {
      try {
        await this.sync.sync(order, 'query');
        order = await this.store.findById(order.id);
      } catch (error) {
        if (!(error instanceof WechatPayError)) throw error;
        this.logger.warn(
          `orderquery for ${orderNo} failed (${error.code}); answering from the database`,
        );
      }
    }
    const [lines, refunds] = await Promise.all([
      this.store.items(order.id),
      isPaid(order.status) ? this.store.refunds(order.id) : undefined,
    ]);
    return orderView(order, lines, refunds);
  }

  async list(user: AuthenticatedUser, page: number, pageSize: number): Promise<OrderPageDto> {
    const { orders, total } = await this.store.page(user.id, page, pageSize);
    return { items: await Promise.all(orders.map((o) => this.view(o))), page, pageSize, total };
  }

  /**
   * Records the cancel request, then closes the order at WeChat and here. When WeChat refuses for
   * now (it asks merchants not to close an order within 5 minutes of creating it, and answers
   * SYSTEMERROR) or cannot be reached, the answer says the cancel is pending
   * (`cancelRequested`) and the reconciler closes the order as soon as WeChat allows.
   */
  async cancel(user: AuthenticatedUser, orderNo: string): Promise<OrderDto> {
    const order = await this.store.own(orderNo, user.id);
    const now = this.clock.now();
    const step = next(stateOf(order, now), 'CLOSE_REQUESTED');
    if (step.outcome === 'REFUSED') throw new ConflictException(`order ${orderNo} is already paid`);
    if (step.outcome === 'IGNORED') return this.view(order);
    // Written before WeChat is asked, so no outcome of the closeorder call can lose the request.
    // The next check moves no later than the close retry, and no earlier than it already was.
    const retryAt = now + CLOSE_RETRY_MS;
    await this.store.rememberCancel(
      order,
      order.nextCheckAt === null ? retryAt : Math.min(order.nextCheckAt, retryAt),
      now,
    );
    const cancelling = { ...order, cancelRequestedAt: order.cancelRequestedAt ?? now };
    try {
      const outcome = await this.sync.close(cancelling, 'query');
      if (outcome !== 'CLOSED' && outcome !== 'ALREADY_FINAL' && outcome !== 'CLOSE_DUE') {
        throw new ConflictException(`order ${orderNo} is already paid`);
      }
    } catch (error) {
      if (!(error instanceof WechatPayError)) throw error;
      // Recorded already: the reconciler retries the close.
      if (error instanceof WechatPayBusinessError && !error.retryable) throw error;
      this.logger.warn(
        `closeorder for ${orderNo} failed (${error.code}); the reconciler will close it`,
      );
    }
    return this.view(await this.store.findById(order.id));
  }

  private async view(order: OrderEntity): Promise<OrderDto> {
    return orderView(order, await this.store.items(order.id));
  }
}
