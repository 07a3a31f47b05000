import {
  BadRequestException,
  ConflictException,
  HttpException,
  Inject,
  Injectable,
  Logger,
  NotFoundException,
} from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { formatBeijingTime } from 'nestjs-wechat-pay-v2/protocol';
import {
  WechatPayBusinessError,
  WechatPayError,
  WechatPayGateway,
  type PayParams,
  type SignType,
} from 'nestjs-wechat-pay-v2';
import { Repository } from 'typeorm';
import type { AuthenticatedUser } from '../auth/auth.service';
import { CatalogService } from '../catalog/catalog.module';
import { Clock } from '../clock';
import { DEMO_CONFIG, type DemoConfig } from '../config/demo.config';
import { OrderEntity, OrderItemEntity } from '../database/entities';
import { Transactions } from '../database/transactions';
import { OrderSyncService } from '../payments/order-sync.service';
import { PaymentsService } from '../payments/payments.service';
import { newOrderNo } from './order-number';
import type { CheckoutDto, OrderDto, OrderItemDto, OrderPageDto } from './orders.dto';
import { CLOSE_RETRY_MS, firstCheckDelay } from '../reconciler/backoff';
import { DatabaseUnavailableError, databaseUnavailableReason } from '../common/database-errors';
import { PaymentNotReadyError } from '../common/payment-not-ready.error';

/** A prepay_id lives 2 hours at WeChat; stop handing it out a little before that. */
const PREPAY_LIFETIME_MS = 2 * 60 * 60 * 1000;
const PREPAY_SAFETY_MS = 5 * 60 * 1000;
const BODY_MAX_CHARS = 127;
const MIN_TIME_TO_EXPIRY_MS = 5 * 60 * 1000;

@Injectable()
export class OrdersService {
  private readonly logger = new Logger(OrdersService.name);

  constructor(
    @InjectRepository(OrderEntity) private readonly orders: Repository<OrderEntity>,
    @InjectRepository(OrderItemEntity) private readonly items: Repository<OrderItemEntity>,
    private readonly catalog: CatalogService,
    private readonly gateway: WechatPayGateway,
    private readonly payments: PaymentsService,
    private readonly sync: OrderSyncService,
    private readonly transactions: Transactions,
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
    const priced = await this.price(lines);
    const now = this.clock.now();
    const expiresAt = now + this.config.orderTtlMinutes * 60_000;
    const order = await this.transactions.run(async (manager) => {
      const row = manager.getRepository(OrderEntity).create({
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
        lastError: null,
        createdAt: now,
        updatedAt: now,
      });
      const saved = await manager.getRepository(OrderEntity).save(row);
      await manager
        .getRepository(OrderItemEntity)
        .insert(priced.lines.map((line) => ({ ...line, orderId: saved.id })));
      return saved;
    });
    return this.checkout(order, clientIp);
  }

  /** Fresh pay parameters for an unpaid order of this user. */
  async pay(user: AuthenticatedUser, orderNo: string, clientIp: string): Promise<CheckoutDto> {
    const order = await this.ownOrder(user, orderNo);
    if (order.status === 'PAID') throw new ConflictException(`order ${orderNo} is already paid`);
    if (order.status === 'CLOSED')
      throw new ConflictException(`order ${orderNo} is closed; place a new order`);
    const now = this.clock.now();
    if (order.expiresAt <= now) {
      throw new ConflictException(`order ${orderNo} has expired; place a new order`);
    }
    const prepayLive =
      order.prepayId !== null && order.prepayExpiresAt !== null && order.prepayExpiresAt > now;
    // A new prepay_id needs a unifiedorder, which WeChat refuses when time_expire is under 5
    // minutes away: say so plainly instead of surfacing a request validation error.
    if (!prepayLive && order.expiresAt - now < MIN_TIME_TO_EXPIRY_MS) {
      throw new ConflictException(`order ${orderNo} expires in under 5 minutes; place a new order`);
    }
    return this.checkout(order, clientIp);
  }

  /**
   * The order with pay parameters. Once the row exists every failure names the order (and how to
   * retry it when that can help), so the client pays this order rather than placing another.
   */
  private async checkout(order: OrderEntity, clientIp: string): Promise<CheckoutDto> {
    try {
      const payParams = await this.prepay(order, clientIp);
      return { ...(await this.view(order)), payParams };
    } catch (error) {
      if (error instanceof HttpException) throw error;
      throw new PaymentNotReadyError(order.orderNo, error);
    }
  }

  async get(user: AuthenticatedUser, orderNo: string): Promise<OrderDto> {
    let order = await this.ownOrder(user, orderNo);
    // The mini-program polls here after requestPayment:ok; a late notification must not make the
    // answer wrong, so an unpaid order old enough to have been paid is checked with WeChat first.
    if (
      order.status === 'UNPAID' &&
      order.prepayId !== null &&
      this.clock.now() - order.createdAt >= this.config.orderQueryAfterMs
    ) {
      try {
        await this.sync.sync(order, 'query');
        order = await this.orders.findOneByOrFail({ id: order.id });
      } catch (error) {
        if (!(error instanceof WechatPayError)) throw error;
        this.logger.warn(
          `orderquery for ${orderNo} failed (${error.code}); answering from the database`,
        );
      }
    }
    return this.view(order);
  }

  async list(user: AuthenticatedUser, page: number, pageSize: number): Promise<OrderPageDto> {
    const [rows, total] = await this.orders.findAndCount({
      where: { userId: user.id },
      order: { createdAt: 'DESC', id: 'DESC' },
      skip: (page - 1) * pageSize,
      take: pageSize,
    });
    return { items: await Promise.all(rows.map((o) => this.view(o))), page, pageSize, total };
  }

  /**
   * Records the cancel request, then closes the order at WeChat and here. When WeChat refuses for
   * now (it asks merchants not to close an order within 5 minutes of creating it, and answers
   * SYSTEMERROR) or cannot be reached, the answer says the cancel is pending
   * (`cancelRequested`) and the reconciler closes the order as soon as WeChat allows.
   */
  async cancel(user: AuthenticatedUser, orderNo: string): Promise<OrderDto> {
    const order = await this.ownOrder(user, orderNo);
    if (order.status === 'PAID') throw new ConflictException(`order ${orderNo} is already paid`);
    if (order.status === 'CLOSED') return this.view(order);
    await this.recordCancel(order);
    try {
      await this.gateway.closeOrder(order.orderNo);
      await this.payments.close(order.id);
    } catch (error) {
      if (!(error instanceof WechatPayError)) throw error;
      if (error instanceof WechatPayBusinessError) {
        await this.afterCloseRefused(order, error);
      } else {
        this.logger.warn(
          `closeorder for ${orderNo} failed (${error.code}); the reconciler will close it`,
        );
      }
    }
    return this.view(await this.orders.findOneByOrFail({ id: order.id }));
  }

  /**
   * Written before WeChat is asked, so no outcome of the closeorder call can lose the request. The
   * next check moves no later than the close retry, and no earlier than it already was.
   */
  private async recordCancel(order: OrderEntity): Promise<void> {
    const now = this.clock.now();
    const retryAt = now + CLOSE_RETRY_MS;
    await this.transactions.run((m) =>
      m.getRepository(OrderEntity).update(
        { id: order.id, status: 'UNPAID' },
        {
          cancelRequestedAt: order.cancelRequestedAt ?? now,
          nextCheckAt: order.nextCheckAt === null ? retryAt : Math.min(order.nextCheckAt, retryAt),
          updatedAt: now,
        },
      ),
    );
  }

  private async afterCloseRefused(
    order: OrderEntity,
    error: WechatPayBusinessError,
  ): Promise<void> {
    switch (error.errCode) {
      case 'ORDERPAID':
        await this.sync.sync(order, 'query');
        throw new ConflictException(`order ${order.orderNo} is already paid`);
      case 'ORDERCLOSED':
      case 'ORDERNOTEXIST':
        // Closed at WeChat already, or never created there: either way nothing can be paid.
        await this.payments.close(order.id);
        return;
      default:
        // Recorded already: the reconciler retries the close.
        if (!error.retryable) throw error;
    }
  }

  /**
   * Pay parameters from the live prepay_id, or from a unifiedorder re-entry with the order's
   * original parameters (WeChat then answers with a live prepay_id for the same order).
   */
  private async prepay(order: OrderEntity, clientIp: string): Promise<PayParams> {
    const now = this.clock.now();
    const signType = order.signType as SignType;
    if (order.prepayId && order.prepayExpiresAt !== null && order.prepayExpiresAt > now) {
      return this.gateway.payParams(order.prepayId, signType);
    }
    try {
      const { order: prepay, payParams } = await this.gateway.createJsapiPayment({
        outTradeNo: order.orderNo,
        body: order.description,
        totalFee: order.amountFen,
        openid: order.openid,
        spbillCreateIp: clientIp,
        notifyUrl: order.notifyUrl,
        timeExpire: order.timeExpire,
        signType,
      });
      await this.savePrepay(order, prepay.prepayId, now);
      return payParams;
    } catch (error) {
      if (!(error instanceof WechatPayError)) throw error;
      await this.transactions.run((m) =>
        m
          .getRepository(OrderEntity)
          .update(
            { id: order.id },
            { lastError: `${error.code}: ${error.message}`.slice(0, 255), updatedAt: now },
          ),
      );
      if (error instanceof WechatPayBusinessError && error.errCode === 'ORDERPAID') {
        await this.sync.sync(order, 'query');
        throw new ConflictException(`order ${order.orderNo} is already paid`);
      }
      if (error instanceof WechatPayBusinessError && error.errCode === 'ORDERCLOSED') {
        await this.payments.close(order.id);
        throw new ConflictException(`order ${order.orderNo} is closed; place a new order`);
      }
      throw error;
    }
  }

  /**
   * WeChat holds the order once unifiedorder answered. If the prepay_id cannot be stored, a retry
   * re-enters unifiedorder with the same parameters and gets a prepay_id for that same order, so
   * the failure is reported as retryable whatever the database said.
   */
  private async savePrepay(order: OrderEntity, prepayId: string, now: number): Promise<void> {
    try {
      await this.transactions.run((m) =>
        m.getRepository(OrderEntity).update(
          { id: order.id, status: 'UNPAID' },
          {
            prepayId,
            prepayExpiresAt: now + PREPAY_LIFETIME_MS - PREPAY_SAFETY_MS,
            lastError: null,
            updatedAt: now,
          },
        ),
      );
    } catch (error) {
      const reason = databaseUnavailableReason(error) ?? 'prepay_id not saved';
      throw new DatabaseUnavailableError(reason, { cause: error });
    }
  }

  private async price(lines: OrderItemDto[]) {
    const quantities = new Map<number, number>();
    for (const line of lines)
      quantities.set(line.productId, (quantities.get(line.productId) ?? 0) + line.quantity);
    const products = await this.catalog.findActive([...quantities.keys()]);
    const priced = [...quantities].map(([productId, quantity], index) => {
      const product = products.get(productId);
      if (!product)
        throw new BadRequestException([
          `items.${index}.productId ${productId} is not an available product`,
        ]);
      if (quantity > 99)
        throw new BadRequestException([`items.${index}.quantity must not exceed 99 per product`]);
      return {
        productId,
        name: product.name,
        unitPriceFen: product.priceFen,
        quantity,
        lineTotalFen: product.priceFen * quantity,
      };
    });
    const amountFen = priced.reduce((sum, line) => sum + line.lineTotalFen, 0);
    if (!Number.isSafeInteger(amountFen) || amountFen <= 0 || amountFen > 2_000_000_000) {
      throw new BadRequestException(['items add up to an amount this shop cannot charge']);
    }
    const first = priced[0].name;
    const more = priced.length > 1 ? ` 等${priced.length}件商品` : '';
    const description = [...(first + more)].slice(0, BODY_MAX_CHARS).join('');
    return { lines: priced, amountFen, description };
  }

  private async ownOrder(user: AuthenticatedUser, orderNo: string): Promise<OrderEntity> {
    // Another user's order answers exactly like a missing one: its existence is not revealed.
    const order = await this.orders.findOneBy({ orderNo, userId: user.id });
    if (!order) throw new NotFoundException(`order ${orderNo} not found`);
    return order;
  }

  private async view(order: OrderEntity): Promise<OrderDto> {
    const lines = await this.items.find({ where: { orderId: order.id }, order: { id: 'ASC' } });
    return {
      orderNo: order.orderNo,
      amount: order.amountFen,
      status: order.status,
      description: order.description,
      createdAt: new Date(order.createdAt).toISOString(),
      expiresAt: new Date(order.expiresAt).toISOString(),
      ...(order.paidAt !== null ? { paidAt: new Date(order.paidAt).toISOString() } : {}),
      ...(order.cancelRequestedAt !== null && order.status === 'UNPAID'
        ? { cancelRequested: true }
        : {}),
      items: lines.map(({ productId, name, unitPriceFen, quantity, lineTotalFen }) => ({
        productId,
        name,
        unitPriceFen,
        quantity,
        lineTotalFen,
      })),
    };
  }
}
