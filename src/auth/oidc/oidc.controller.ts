import { RateLimitGuard } from '../rate-limit.guard';
import { Controller, Get, HttpCode, Post, Query, Req, Res, UseGuards } from '@nestjs/common';
import { ApiFoundResponse, ApiNoContentResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { Request, Response } from 'express';
import type { Session, SessionData } from 'express-session';
import { promisify } from 'node:util';
import { type AuditOutcome, AuditService, type AuditRecord, requestContext } from '../../audit/public';
import { AppError, CommonErrorCode } from '../../infra/errors/app-error';
import { ApiErrors } from '../../infra/http/api-errors';
import { loginKeyScopes } from '../api-keys/api-key.entity';
import { ApiKeysService } from '../api-keys/api-keys.service';
import type { User } from '../users/user.entity';
import { BrowserSessions, SESSION_COOKIE } from './browser-sessions';
import { BrowserLoginQuery, CliLoginQuery } from './dto/login-query.dto';
import { OidcLogin } from './oidc-login.service';

const DEFAULT_RETURN_TO = '/docs';

const OIDC_OFF = {
  code: CommonErrorCode.NotFound,
  message: 'OIDC login is not configured (ODC_OIDC_ISSUER)',
};

/**
 * Login through the OpenID Provider: in a browser (a session cookie) or for `gpu-dev login` (an
 * API key handed to the CLI's listener on 127.0.0.1). Held to the login rate limit.
 */
@ApiTags('login')
@Controller('auth')
@UseGuards(RateLimitGuard)
@ApiErrors(CommonErrorCode.RateLimited)
export class OidcController {
  constructor(
    private readonly oidc: OidcLogin,
    private readonly sessions: BrowserSessions,
    private readonly keys: ApiKeysService,
    private readonly audit: AuditService,
  ) {}

  @Get('login')
  @ApiOperation({
    operationId: 'startBrowserLogin',
    summary: 'Log in in a browser (OIDC)',
    description:
      'Sends the browser to the OpenID Provider; once logged in, back to `return_to` (default /docs) ' +
      'with a session cookie, which Swagger UI then uses. Open it in a browser, not with Try it out.',
  })
  @ApiFoundResponse({ description: 'To the OpenID Provider' })
  @ApiErrors(OIDC_OFF)
  async login(@Query() query: BrowserLoginQuery, @Req() req: Request, @Res() res: Response): Promise<void> {
    const session = this.sessionOf(req);
    session.returnTo = query.return_to ?? DEFAULT_RETURN_TO;
    delete session.cliLogin;
    await this.oidc.redirectToProvider(req, res);
  }

  @Get('cli')
  @ApiOperation({
    operationId: 'startCliLogin',
    summary: 'Log in for the CLI (OIDC)',
    description:
      'What `gpu-dev login` opens: after the OpenID Provider, the browser is sent to ' +
      '`http://127.0.0.1:<port>/callback?state=<state>&key=<new API key>`. The host is always ' +
      '127.0.0.1, so the key never leaves the machine the browser runs on.',
  })
  @ApiFoundResponse({ description: 'To the OpenID Provider' })
  @ApiErrors(OIDC_OFF)
  async cliLogin(@Query() query: CliLoginQuery, @Req() req: Request, @Res() res: Response): Promise<void> {
    const session = this.sessionOf(req);
    session.cliLogin = { port: query.port, state: query.state };
    delete session.returnTo;
    await this.oidc.redirectToProvider(req, res);
  }

  @Get('callback')
  @ApiOperation({
    operationId: 'completeOidcLogin',
    summary: 'Finish an OIDC login',
    description:
      'Where the OpenID Provider sends the browser back (ODC_OIDC_REDIRECT_URL): the login is checked, ' +
      'the user made or found, and the browser sent on. Not called by hand.',
  })
  @ApiFoundResponse({ description: 'To return_to, or to the CLI listener with a new API key' })
  @ApiErrors(
    OIDC_OFF,
    { code: CommonErrorCode.Unauthorized, message: 'The ID token from the OpenID Provider does not verify' },
    { code: CommonErrorCode.Forbidden, message: 'This user is disabled' },
    {
      code: CommonErrorCode.Conflict,
      message:
        'The user name "alice" belongs to another identity. An admin can bind this one to it ' +
        '(POST /api/v1/users/alice/identities {"issuer": "https://login.example.com", "subject": "248289761001"}), ' +
        'or the issuer can name it differently',
      details: { reason: 'username_taken', issuer: 'https://login.example.com', subject: '248289761001' },
    },
    { code: CommonErrorCode.NotReady, message: 'The OpenID Provider cannot be reached; try again shortly' },
  )
  async callback(@Req() req: Request, @Res() res: Response): Promise<void> {
    const session = this.sessionOf(req);
    const { cliLogin, returnTo } = session;
    const flow = cliLogin ? 'cli' : 'browser';
    const user = await this.completeLogin(req, res, flow);
    // A fresh session id at the moment of login, so one planted before it is worth nothing.
    await promisify(session.regenerate.bind(session))();
    if (cliLogin) {
      res.redirect(302, await this.issueCliKey(req, user, cliLogin));
      return;
    }
    req.session.userId = user.id;
    // Saved before the redirect goes out: the browser's next request must find the session.
    await promisify(req.session.save.bind(req.session))();
    res.redirect(302, returnTo ?? DEFAULT_RETURN_TO);
  }

  @Post('logout')
  @ApiOperation({
    operationId: 'endBrowserSession',
    summary: 'Log out of the browser session',
    description:
      'Ends the session an OIDC browser login made. API keys are not touched: revoke one with ' +
      'DELETE /api/v1/keys/{id}.',
  })
  @HttpCode(204)
  @ApiNoContentResponse({ description: 'Logged out (or there was no session)' })
  async logout(@Req() req: Request, @Res() res: Response): Promise<void> {
    const userId = req.session?.userId;
    if (userId) {
      await this.audit.record({ action: 'auth.logout', outcome: 'success', userId, ...requestContext(req) });
      await promisify(req.session.destroy.bind(req.session))();
    }
    res.clearCookie(SESSION_COOKIE).status(204).end();
  }

  private sessionOf(req: Request): Session & Partial<SessionData> {
    if (!this.sessions.enabled) {
      throw new AppError(CommonErrorCode.NotFound, 'OIDC login is not configured (ODC_OIDC_ISSUER)');
    }
    return req.session;
  }

  /**
   * The user the provider vouches for. Every refusal is audited as `denied` (401/403, or 409 for a
   * name another login holds); a provider that could not be asked as a `failure` (503).
   */
  private async completeLogin(req: Request, res: Response, flow: 'cli' | 'browser'): Promise<User> {
    const refused = (outcome: AuditOutcome, reason: string) =>
      this.audit.record(this.loginRecord(req, outcome, { flow, reason }));
    const result = await this.oidc.complete(req, res).catch(async (error: unknown) => {
      const unavailable = !(error instanceof AppError) || error.code === CommonErrorCode.NotReady;
      await refused(
        unavailable ? 'failure' : 'denied',
        error instanceof Error ? error.message : 'unknown error',
      );
      throw error;
    });
    if ('failure' in result) {
      await refused('denied', result.failure);
      throw new AppError(
        result.status === 403 ? CommonErrorCode.Forbidden : CommonErrorCode.Unauthorized,
        `Login failed: ${result.failure}`,
      );
    }
    await this.audit.record({
      ...this.loginRecord(req, 'success', { flow }),
      userId: result.user.id,
      username: result.user.username,
      resourceType: 'user',
      resourceId: result.user.id,
    });
    return result.user;
  }

  private loginRecord(req: Request, outcome: AuditOutcome, metadata: Record<string, unknown>): AuditRecord {
    return {
      action: 'auth.login',
      outcome,
      ...requestContext(req),
      requestMetadata: { method: 'oidc', ...metadata },
    };
  }

  private async issueCliKey(
    req: Request,
    user: User,
    target: { port: number; state: string },
  ): Promise<string> {
    const { key, apiKey } = await this.keys.issue(user.id, {
      name: 'gpu-dev login',
      scopes: loginKeyScopes(user.isAdmin),
      origin: 'cli-login',
    });
    await this.audit.record({
      action: 'api_key.create',
      outcome: 'success',
      userId: user.id,
      username: user.username,
      resourceType: 'api_key',
      resourceId: apiKey.id,
      ...requestContext(req),
      requestMetadata: {
        origin: 'cli-login',
        scopes: apiKey.scopes,
        expires_at: apiKey.expiresAt.toISOString(),
      },
    });
    const callback = new URL(`http://127.0.0.1:${target.port}/callback`);
    callback.searchParams.set('state', target.state);
    callback.searchParams.set('key', key);
    return callback.href;
  }
}
