import { Module, type MiddlewareConsumer, type NestModule } from '@nestjs/common';
import { ThrottlerModule } from '@nestjs/throttler';
import { AuditModule } from '../audit/public';
import { AuditController } from './audit.controller';
import { AuthConfig } from './auth.config';
import { ApiKeysService } from './api-keys/api-keys.service';
import { AuthGuard } from './auth.guard';
import { AWS_LOGIN_PROVIDERS, AwsLoginController } from './aws/aws-login.controller';
import { FirstAdminOnDevelopmentStart } from './first-admin';
import { JwtVerifier } from './jwt/jwt-verifier';
import { LoginMethodsController } from './login-methods.controller';
import { MeController } from './me.controller';
import { BrowserSessions } from './oidc/browser-sessions';
import { OidcController } from './oidc/oidc.controller';
import { OidcLogin } from './oidc/oidc-login.service';
import { UserIdentitiesController } from './users/user-identities.controller';
import { UsageService } from './usage/usage.service';
import { UsersService } from './users/users.service';

/** Identity for the public API (role coordinator): who calls, what they may do, and the audit log. */
@Module({
  imports: [
    AuditModule,
    // Per route and client IP (in memory, per replica): every API route, and login/key-issuing routes.
    // The API's per-minute rate is held per second: the library keeps one entry per hit in its
    // window, so a minute-long window at a high rate would cost every request a long scan.
    ThrottlerModule.forRootAsync({
      inject: [AuthConfig],
      useFactory: (config: AuthConfig) => ({
        throttlers: [
          { name: 'default', ttl: 1_000, limit: Math.ceil(config.ODC_RATE_LIMIT_API_PER_MINUTE / 60) },
          { name: 'login', ttl: 60_000, limit: config.ODC_RATE_LIMIT_LOGIN_PER_MINUTE },
        ],
      }),
    }),
  ],
  controllers: [
    MeController,
    UserIdentitiesController,
    AuditController,
    OidcController,
    AwsLoginController,
    LoginMethodsController,
  ],
  providers: [
    UsersService,
    UsageService,
    ApiKeysService,
    AuthGuard,
    FirstAdminOnDevelopmentStart,
    BrowserSessions,
    OidcLogin,
    {
      provide: JwtVerifier,
      inject: [AuthConfig],
      useFactory: (config: AuthConfig) => new JwtVerifier(config),
    },
    ...AWS_LOGIN_PROVIDERS,
  ],
  exports: [UsersService, ApiKeysService, AuditModule, AuthGuard, JwtVerifier],
})
export class AuthModule implements NestModule {
  constructor(private readonly sessions: BrowserSessions) {}

  configure(consumer: MiddlewareConsumer): void {
    consumer.apply(this.sessions.middleware).forRoutes('auth/*path', 'api/*path');
  }
}
