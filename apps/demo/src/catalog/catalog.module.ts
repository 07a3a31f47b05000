import { Controller, Get, Injectable, Module } from '@nestjs/common';
import { ApiOkResponse, ApiProperty, ApiTags } from '@nestjs/swagger';
import { InjectRepository, TypeOrmModule } from '@nestjs/typeorm';
import { In, Repository } from 'typeorm';
import { ProductEntity } from '../database/entities';

export class ProductDto {
  @ApiProperty()
  id!: number;

  @ApiProperty()
  name!: string;

  @ApiProperty({ description: 'Price in fen (1 yuan = 100 fen)' })
  priceFen!: number;
}

@Injectable()
export class CatalogService {
  constructor(
    @InjectRepository(ProductEntity) private readonly products: Repository<ProductEntity>,
  ) {}

  async list(): Promise<ProductDto[]> {
    const rows = await this.products.find({ where: { active: true }, order: { id: 'ASC' } });
    return rows.map(({ id, name, priceFen }) => ({ id, name, priceFen }));
  }

  /** Active products by id; the caller decides what a missing id means. */
  async findActive(ids: number[]): Promise<Map<number, ProductEntity>> {
    const rows = await this.products.find({ where: { id: In(ids), active: true } });
    return new Map(rows.map((p) => [p.id, p]));
  }
}

@ApiTags('catalog')
@Controller('api/products')
export class CatalogController {
  constructor(private readonly catalog: CatalogService) {}

  @Get()
  @ApiOkResponse({ type: ProductDto, isArray: true })
  list(): Promise<ProductDto[]> {
    return this.catalog.list();
  }
}

@Module({
  imports: [TypeOrmModule.forFeature([ProductEntity])],
  controllers: [CatalogController],
  providers: [CatalogService],
  exports: [CatalogService],
})
export class CatalogModule {}
