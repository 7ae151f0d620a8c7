import type { Request } from 'express';
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { promisify } from 'node:util';

/** What passport-openidconnect keeps between sending the browser out and its return. */
interface LoginContext {
  nonce?: string;
  maxAge?: number;
  issued?: string;
}

/**
 * The state store passport-openidconnect uses: the login's state handle and nonce in the browser
 * session, like the library's own, but saved before the browser is sent to the provider.
 * express-session otherwise saves while the redirect is already on its way, and a provider that
 * answers at once (the user is already signed in there) can beat the save.
 */
export class LoginStateStore {
  store(
    req: Request,
    context: LoginContext,
    _appState: unknown,
    _meta: unknown,
    done: (error: Error | null, handle?: string) => void,
  ): void {
    const handle = randomBytes(24).toString('base64url');
    req.session.oidcState = { handle, context };
    promisify(req.session.save.bind(req.session))().then(
      () => done(null, handle),
      (error: unknown) => done(error instanceof Error ? error : new Error('the session could not be saved')),
    );
  }

  verify(
    req: Request,
    handle: unknown,
    done: (error: Error | null, context: LoginContext | false, info?: { message: string }) => void,
  ): void {
    const expected = req.session?.oidcState;
    if (req.session) {
      delete req.session.oidcState; // one use, whatever the outcome
    }
    if (!expected || typeof handle !== 'string' || !sameString(handle, expected.handle)) {
      done(null, false, { message: 'Unable to verify the login state: start the login again' });
      return;
    }
    done(null, expected.context);
  }
}

function sameString(a: string, b: string): boolean {
  const left = Buffer.from(a);
  const right = Buffer.from(b);
  return left.length === right.length && timingSafeEqual(left, right);
}
