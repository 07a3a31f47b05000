import 'reflect-metadata';
import { DataSource } from 'typeorm';
import { buildDataSourceOptions } from './apps/demo/src/database/data-source-options';
import { DEFAULT_SQLITE_URL } from './apps/demo/src/config/demo.config';

/** The DataSource the TypeORM CLI uses (npm run migration:run / :revert / :generate). */
export default new DataSource(
  buildDataSourceOptions(process.env.DATABASE_URL ?? DEFAULT_SQLITE_URL),
);
