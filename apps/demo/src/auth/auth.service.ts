import { Inject, Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { WechatLoginService } from 'nestjs-wechat-pay-v2';
import { LessThan, Repository } from 'typeorm';
import { Statement } from '../database/statement';
import { Transactions } from '../database/transactions';
import { Clock } from '../clock';
import { DEMO_CONFIG, type DemoConfig } from '../config/demo.config';
import { SessionEntity } from './session.entity';
import { SessionCache } from './session-cache';
import { issueToken, sessionIdFromToken } from './session-token';
import { UserEntity } from './user.entity';

/** A session the cache does not hold is read with its user in one statement. */
const SESSION_USER = new Statement(
  'SELECT u.id, u.openid, s.expires_at FROM sessions s JOIN users u ON u.id = s.user_id ' +
    'WHERE s.id = $1',
);
/** How long a session read from the database is reused, and how many are kept. */
const SESSION_CACHE_MS = 60_000;
const SESSION_CACHE_ENTRIES = 10_000;

export interface AuthenticatedUser {
  id: number;
  openid: string;
}

@Injectable()
export class AuthService {
  private readonly recent = new SessionCache(SESSION_CACHE_MS, SESSION_CACHE_ENTRIES);

  constructor(
    private readonly wechatLogin: WechatLoginService,
    @InjectRepository(UserEntity) private readonly users: Repository<UserEntity>,
    @Inject(DEMO_CONFIG) private readonly config: DemoConfig,
    private readonly clock: Clock,
    private readonly transactions: Transactions,
  ) {}

  /**
   * Exchanges a wx.login code for a session. The openid stays on the server and the session_key
   * is dropped here: this shop has no use for it, so it is neither stored nor logged.
   */
  async login(code: string): Promise<{ token: string; expiresIn: number }> {
    const { openid } = await this.wechatLogin.code2Session(code);
    const user = await this.findOrCreateUser(openid);
    const now = this.clock.now();
    const { token, sessionId } = issueToken(this.config.sessionSecret);
    await this.transactions.run(async (manager) => {
      const sessions = manager.getRepository(SessionEntity);
      await sessions.insert({
        id: sessionId,
        userId: user.id,
        createdAt: now,
        expiresAt: now + this.config.sessionTtlSeconds * 1000,
      });
      // Expired sessions are swept at each login: cheap, and it keeps the table from growing.
      await sessions.delete({ userId: user.id, expiresAt: LessThan(now) });
    });
    return { token, expiresIn: this.config.sessionTtlSeconds };
  }

  async authenticate(token: string): Promise<AuthenticatedUser | undefined> {
    const sessionId = sessionIdFromToken(this.config.sessionSecret, token);
    if (!sessionId) return undefined;
    const now = this.clock.now();
    let session = this.recent.get(sessionId, now);
    if (!session) {
      const [row] = await this.transactions.read<{
        id: unknown;
        openid: string;
        expires_at: unknown;
      }>(SESSION_USER, [sessionId]);
      if (!row) return undefined;
      session = { userId: Number(row.id), openid: row.openid, expiresAt: Number(row.expires_at) };
      this.recent.set(sessionId, session, now);
    }
    if (session.expiresAt <= now) return undefined;
    return { id: session.userId, openid: session.openid };
  }

  private async findOrCreateUser(openid: string): Promise<UserEntity> {
    const existing = await this.users.findOneBy({ openid });
    if (existing) return existing;
    // Two first logins of one user can race: the unique openid lets one insert win, and the
    // other simply reads the winner's row.
    await this.transactions.run((manager) =>
      manager
        .getRepository(UserEntity)
        .createQueryBuilder()
        .insert()
        .values({ openid, createdAt: this.clock.now() })
        .orIgnore()
        .execute(),
    );
    return this.users.findOneByOrFail({ openid });
  }
}
