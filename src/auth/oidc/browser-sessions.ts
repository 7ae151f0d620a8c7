import { Injectable, Logger, type OnModuleDestroy } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import connectPgSimple from 'connect-pg-simple';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import session from 'express-session';
import { randomBytes } from 'node:crypto';
import type { Pool } from 'pg';
import { DataSource } from 'typeorm';
import type { PostgresDriver } from 'typeorm/driver/postgres/PostgresDriver';
import { AuthConfig } from '../auth.config';

declare module 'express-session' {
  interface SessionData {
    /** Set once the OIDC login completed (a fresh session id, so a planted one is worth nothing). */
    userId: string;
    /** Where the browser goes after logging in: a path on this site. */
    returnTo: string;
    /** The login in progress at the provider: its state handle and nonce (LoginStateStore). */
    oidcState: { handle: string; context: { nonce?: string; maxAge?: number; issued?: string } };
    /** A `gpu-dev login` in progress: where its loopback listener waits and the state it expects. */
    cliLogin: { port: number; state: string };
  }
}

export const SESSION_COOKIE = 'odc.sid';

/**
 * Browser sessions after an OIDC login: express-session, kept in PostgreSQL (every replica sees
 * them), cookie httpOnly, SameSite=Lax, Secure whenever the request came over https (directly or
 * through ODC_TRUST_PROXY_HOPS proxies). Only when OIDC login is configured; a request with an
 * Authorization header never touches a session.
 */
@Injectable()
export class BrowserSessions implements OnModuleDestroy {
  private readonly logger = new Logger('BrowserSessions');
  private readonly store?: session.Store & { close(): void | Promise<void> };
  private readonly handler?: RequestHandler;

  constructor(@InjectDataSource() dataSource: DataSource, config: AuthConfig) {
    if (!config.ODC_OIDC_ISSUER) {
      return;
    }
    const PgStore = connectPgSimple(session);
    this.store = new PgStore({
      pool: (dataSource.driver as PostgresDriver).master as Pool,
      tableName: 'http_sessions',
      errorLog: (message: string, error: unknown) => this.logger.error(`${message} ${String(error)}`),
    });
    this.handler = session({
      name: SESSION_COOKIE,
      store: this.store,
      // Development without a configured secret: sessions last as long as the process.
      secret: config.ODC_SESSION_SECRET ?? randomBytes(32).toString('hex'),
      resave: false,
      saveUninitialized: false,
      cookie: {
        httpOnly: true,
        sameSite: 'lax',
        secure: 'auto',
        maxAge: config.ODC_SESSION_TTL_HOURS * 3_600_000,
      },
    });
  }

  get enabled(): boolean {
    return this.handler !== undefined;
  }

  readonly middleware = (req: Request, res: Response, next: NextFunction): void => {
    if (!this.handler || req.headers.authorization !== undefined) {
      next();
      return;
    }
    this.handler(req, res, next);
  };

  async onModuleDestroy(): Promise<void> {
    await this.store?.close();
  }
}
