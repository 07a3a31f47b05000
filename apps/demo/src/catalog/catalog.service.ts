import { Injectable } from '@nestjs/common';
import { Clock } from '../clock';
import { Statement } from '../database/statement';
import { Transactions } from '../database/transactions';
import type { ProductDto } from './catalog.dto';

/**
 * How old a catalogue read may be when an order is priced from it: a price change or a product
 * taken off sale applies to new orders within this time, on every instance. Each order still
 * stores the prices it was charged, so nothing already placed changes.
 */
export const CATALOGUE_TTL_MS = 5_000;

const ACTIVE_PRODUCTS = new Statement(
  'SELECT id, name, price_fen FROM products WHERE active = TRUE ORDER BY id',
);

interface Catalogue {
  products: ProductDto[];
  byId: Map<number, ProductDto>;
}

/**
 * The active products, read once per CATALOGUE_TTL_MS rather than on every checkout: the
 * catalogue is small and changes rarely, and checkout is the hot path.
 */
@Injectable()
export class CatalogService {
  private cached?: { readAt: number; catalogue: Promise<Catalogue> };

  constructor(
    private readonly transactions: Transactions,
    private readonly clock: Clock,
  ) {}

  async list(): Promise<ProductDto[]> {
    return (await this.catalogue()).products;
  }

  /** Active products by id; the caller decides what a missing id means. */
  async findActive(ids: number[]): Promise<Map<number, ProductDto>> {
    const { byId } = await this.catalogue();
    const found = new Map<number, ProductDto>();
    for (const id of ids) {
      const product = byId.get(id);
      if (product) found.set(id, product);
    }
    return found;
  }

  private catalogue(): Promise<Catalogue> {
    const now = this.clock.now();
    if (this.cached && now - this.cached.readAt < CATALOGUE_TTL_MS) return this.cached.catalogue;
    const cached = { readAt: now, catalogue: this.read() };
    this.cached = cached;
    // A failed read is not kept: the next request reads again.
    cached.catalogue.catch(() => {
      if (this.cached === cached) this.cached = undefined;
    });
    return cached.catalogue;
  }

  private async read(): Promise<Catalogue> {
    const rows = await this.transactions.read<{ id: unknown; name: string; price_fen: unknown }>(
      ACTIVE_PRODUCTS,
      [],
    );
    const products = rows.map((row) => ({
      id: Number(row.id),
      name: row.name,
      priceFen: Number(row.price_fen),
    }));
    return { products, byId: new Map(products.map((p) => [p.id, p])) };
  }
}
