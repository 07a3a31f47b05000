import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsInt, IsOptional, IsString, Length, Matches, Max, Min } from 'class-validator';

export class CreateRefundDto {
  @ApiProperty({ description: 'The refund in fen: a positive integer, at most what remains' })
  @IsInt({ message: 'amountFen must be an integer number of fen' })
  @Min(1, { message: 'amountFen must be at least 1' })
  @Max(Number.MAX_SAFE_INTEGER, { message: 'amountFen is too large' })
  amountFen!: number;

  @ApiPropertyOptional({
    description: 'Shown to the buyer by WeChat (refund_desc), 1 to 80 characters',
  })
  @IsOptional()
  @IsString({ message: 'reason must be a string' })
  @Length(1, 80, { message: 'reason must be 1 to 80 characters' })
  // Control characters cannot travel in WeChat's XML, and a NUL cannot be stored in PostgreSQL.
  // eslint-disable-next-line no-control-regex
  @Matches(/^[^\u0000-\u001f\u007f]*$/, { message: 'reason must not contain control characters' })
  reason?: string;
}

export class RefundCreatedDto {
  @ApiProperty({ description: 'Our out_refund_no' })
  refundNo!: string;
  @ApiProperty({
    enum: ['PENDING', 'PROCESSING', 'SUCCESS', 'CLOSED', 'CHANGE'],
    description:
      'PROCESSING: WeChat accepted it; PENDING: WeChat’s answer is not known yet, the shop retries it; CLOSED: WeChat refused it',
  })
  status!: string;
  @ApiProperty({ description: 'fen' })
  amountFen!: number;
  @ApiPropertyOptional({ description: 'Why WeChat refused or why the answer is not known yet' })
  error?: string;
}

export class AdminRefundDto {
  @ApiProperty()
  refundNo!: string;
  @ApiProperty({ enum: ['PENDING', 'PROCESSING', 'SUCCESS', 'CLOSED', 'CHANGE'] })
  status!: string;
  @ApiProperty({ description: 'fen' })
  amountFen!: number;
  @ApiPropertyOptional()
  reason?: string;
  @ApiPropertyOptional({ description: 'WeChat’s refund_id' })
  refundId?: string;
  @ApiPropertyOptional()
  recvAccount?: string;
  @ApiProperty({ description: 'ISO time' })
  createdAt!: string;
  @ApiPropertyOptional({ description: 'ISO time' })
  successAt?: string;
  @ApiPropertyOptional()
  lastError?: string;
}

export class AdminOrderRefundsDto {
  @ApiProperty()
  orderNo!: string;
  @ApiProperty()
  orderStatus!: string;
  @ApiProperty({ description: 'fen' })
  amountFen!: number;
  @ApiProperty({ description: 'The refunds that are not closed, fen' })
  reservedFen!: number;
  @ApiProperty({ description: 'The refunds WeChat reports successful, fen' })
  refundedFen!: number;
  @ApiProperty({ type: AdminRefundDto, isArray: true })
  refunds!: AdminRefundDto[];
}
