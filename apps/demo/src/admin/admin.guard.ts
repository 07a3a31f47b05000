import {
  Inject,
  Injectable,
  NotFoundException,
  UnauthorizedException,
  type CanActivate,
  type ExecutionContext,
} from '@nestjs/common';
import type { Request } from 'express';
import { bearerMatches } from '../common/bearer-token';
import { DEMO_CONFIG, type DemoConfig } from '../config/demo.config';

/**
 * The admin API (refunds, bills) answers only `Authorization: Bearer <ADMIN_TOKEN>`. With no
 * ADMIN_TOKEN configured the admin routes do not exist: 404, as for any unknown path.
 */
@Injectable()
export class AdminGuard implements CanActivate {
  constructor(@Inject(DEMO_CONFIG) private readonly config: DemoConfig) {}

  canActivate(context: ExecutionContext): boolean {
    const token = this.config.adminToken;
    const request = context.switchToHttp().getRequest<Request>();
    if (token === undefined) {
      throw new NotFoundException(`Cannot ${request.method} ${request.path}`);
    }
    if (!bearerMatches(request.headers.authorization, token)) {
      throw new UnauthorizedException('the admin API needs the ADMIN_TOKEN as a Bearer token');
    }
    return true;
  }
}
