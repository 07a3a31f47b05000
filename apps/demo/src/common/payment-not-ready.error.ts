/**
 * The order exists but its pay parameters could not be produced this time. The answer carries the
 * order number, and a retry path when repeating can succeed, so the client pays the same order
 * instead of abandoning it (or placing a second one).
 */
export class PaymentNotReadyError extends Error {
  constructor(
    readonly orderNo: string,
    override readonly cause: unknown,
  ) {
    super(`order ${orderNo}: pay parameters not ready`);
    this.name = 'PaymentNotReadyError';
  }

  get retryPath(): string {
    return `/api/orders/${this.orderNo}/pay`;
  }
}
