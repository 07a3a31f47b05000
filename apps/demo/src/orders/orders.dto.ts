import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import {
  ArrayMaxSize,
  ArrayMinSize,
  IsArray,
  IsInt,
  IsOptional,
  Max,
  Min,
  ValidateNested,
} from 'class-validator';

/** Product ids are 32-bit in both databases: a larger one cannot name a product. */
export const MAX_PRODUCT_ID = 2_147_483_647;
/** 100 pages of 100 is far more history than the app shows; the bound keeps OFFSET small. */
export const MAX_PAGE = 10_000;

export class OrderItemDto {
  @ApiProperty({ example: 1, minimum: 1, maximum: MAX_PRODUCT_ID })
  @IsInt()
  @Min(1)
  @Max(MAX_PRODUCT_ID)
  productId!: number;

  @ApiProperty({ example: 2, minimum: 1, maximum: 99 })
  @IsInt()
  @Min(1)
  @Max(99)
  quantity!: number;
}

/** Only the items: the amount is always computed on the server, and any amount sent is ignored. */
export class CreateOrderDto {
  @ApiProperty({ type: OrderItemDto, isArray: true })
  @IsArray()
  @ArrayMinSize(1)
  @ArrayMaxSize(20)
  @ValidateNested({ each: true })
  @Type(() => OrderItemDto)
  items!: OrderItemDto[];
}

export class ListOrdersQueryDto {
  @ApiPropertyOptional({ default: 1, maximum: MAX_PAGE })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(MAX_PAGE)
  page?: number;

  @ApiPropertyOptional({ default: 20, maximum: 100 })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(100)
  pageSize?: number;
}

export class PayParamsDto {
  @ApiProperty({ description: 'Unix seconds, as a string' })
  timeStamp!: string;
  @ApiProperty()
  nonceStr!: string;
  @ApiProperty({ example: 'prepay_id=wx...' })
  package!: string;
  @ApiProperty({ enum: ['MD5', 'HMAC-SHA256'] })
  signType!: string;
  @ApiProperty()
  paySign!: string;
}

export class OrderLineDto {
  @ApiProperty()
  productId!: number;
  @ApiProperty()
  name!: string;
  @ApiProperty({ description: 'fen' })
  unitPriceFen!: number;
  @ApiProperty()
  quantity!: number;
  @ApiProperty({ description: 'fen' })
  lineTotalFen!: number;
}

/** A refund of the order, as its buyer sees it. */
export class OrderRefundDto {
  @ApiProperty({ description: 'fen' })
  amountFen!: number;
  @ApiProperty({
    enum: ['PENDING', 'PROCESSING', 'SUCCESS', 'CLOSED', 'CHANGE'],
    description:
      'PENDING and PROCESSING: under way; SUCCESS: paid back; CLOSED: not refunded; CHANGE: the shop is handling it',
  })
  status!: string;
  @ApiProperty({ description: 'ISO time' })
  createdAt!: string;
  @ApiPropertyOptional({ description: 'ISO time' })
  successAt?: string;
}

export class OrderDto {
  @ApiProperty()
  orderNo!: string;
  @ApiProperty({ description: 'Total in fen, computed on the server' })
  amount!: number;
  @ApiProperty({ enum: ['UNPAID', 'PAID', 'PARTIALLY_REFUNDED', 'REFUNDED', 'CLOSED'] })
  status!: string;
  @ApiProperty()
  description!: string;
  @ApiProperty({ description: 'ISO time' })
  createdAt!: string;
  @ApiProperty({ description: 'ISO time after which the order can no longer be paid' })
  expiresAt!: string;
  @ApiPropertyOptional({ description: 'ISO time' })
  paidAt?: string;
  @ApiPropertyOptional()
  cancelRequested?: boolean;
  @ApiProperty({ type: OrderLineDto, isArray: true })
  items!: OrderLineDto[];
  @ApiPropertyOptional({ description: 'Paid orders: the sum refunded successfully, fen' })
  refundedFen?: number;
  @ApiPropertyOptional({
    type: OrderRefundDto,
    isArray: true,
    description: 'GET /api/orders/:orderNo of a paid order: its refunds, oldest first',
  })
  refunds?: OrderRefundDto[];
}

export class CheckoutDto extends OrderDto {
  @ApiPropertyOptional({ type: PayParamsDto, description: 'Pass to wx.requestPayment as they are' })
  payParams?: PayParamsDto;
}

export class OrderPageDto {
  @ApiProperty({ type: OrderDto, isArray: true })
  items!: OrderDto[];
  @ApiProperty()
  page!: number;
  @ApiProperty()
  pageSize!: number;
  @ApiProperty()
  total!: number;
}
