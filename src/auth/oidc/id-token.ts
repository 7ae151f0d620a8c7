import { jwtVerify, type JWTPayload, type JWTVerifyGetKey } from 'jose';

/** ID tokens are signed with one of these; anything else (`none`, HS256 with a public key) is refused. */
export const ID_TOKEN_ALGORITHMS = ['RS256', 'ES256'];
const CLOCK_TOLERANCE_SECONDS = 30;

/**
 * The claims of an ID token whose signature verifies against the provider's keys, issued by it,
 * for this client, and current (30 s of skew). passport-openidconnect checks the claims but not
 * the signature; this is the check it leaves out.
 */
export async function verifyIdToken(
  idToken: string,
  keys: JWTVerifyGetKey,
  expected: { issuer: string; clientId: string },
): Promise<JWTPayload> {
  const { payload } = await jwtVerify(idToken, keys, {
    issuer: expected.issuer,
    audience: expected.clientId,
    algorithms: ID_TOKEN_ALGORITHMS,
    clockTolerance: CLOCK_TOLERANCE_SECONDS,
  });
  return payload;
}
