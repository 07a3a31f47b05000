import {
  createParamDecorator,
  Injectable,
  UnauthorizedException,
  type CanActivate,
  type ExecutionContext,
} from '@nestjs/common';
import type { Request } from 'express';
import { AuthService, type AuthenticatedUser } from './auth.service';

type RequestWithUser = Request & { user?: AuthenticatedUser };

/** Requires `Authorization: Bearer <token>` from POST /api/auth/login. */
@Injectable()
export class SessionGuard implements CanActivate {
  constructor(private readonly auth: AuthService) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const request = context.switchToHttp().getRequest<RequestWithUser>();
    const match = /^Bearer\s+(\S+)$/i.exec(request.headers.authorization ?? '');
    const user = match ? await this.auth.authenticate(match[1]) : undefined;
    if (!user)
      throw new UnauthorizedException('a valid Bearer token from POST /api/auth/login is required');
    request.user = user;
    return true;
  }
}

export const CurrentUser = createParamDecorator(
  (_data: unknown, context: ExecutionContext): AuthenticatedUser => {
    const user = context.switchToHttp().getRequest<RequestWithUser>().user;
    if (!user) throw new UnauthorizedException();
    return user;
  },
);
