// npm run token -- <user-uuid> [--ttl 3600] [--email a@b.c]
// Prints an HS256 JWT for that user, signed with AUTH_JWT_SECRET (.dev.vars or env).
import { SignJWT } from 'jose';
import { parseCli, usageError } from './lib/cli';
import { readDotVars } from './lib/env';

const USAGE = `usage: npm run token -- <user-uuid> [--ttl seconds] [--email address]
  Prints an HS256 JWT for that user, signed with AUTH_JWT_SECRET (.dev.vars or the environment; default
  dev-jwt-secret), with AUTH_ISSUER / AUTH_AUDIENCE when set. Writes nothing anywhere.`;

const { values, positionals } = parseCli(
  { allowPositionals: true, options: { ttl: { type: 'string', default: '3600' }, email: { type: 'string' } } },
  USAGE,
);
const sub = positionals[0];
if (!sub || !/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(sub)) {
  usageError(sub ? `not a user uuid: ${sub}` : 'a user uuid is required', USAGE);
}
const vars = { ...readDotVars(), ...process.env };
const secret = vars.AUTH_JWT_SECRET || 'dev-jwt-secret';
let jwt = new SignJWT({ role: 'authenticated', ...(values.email ? { email: values.email } : {}) })
  .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
  .setSubject(sub)
  .setIssuedAt()
  .setExpirationTime(`${Number(values.ttl)}s`);
if (vars.AUTH_ISSUER) jwt = jwt.setIssuer(vars.AUTH_ISSUER);
if (vars.AUTH_AUDIENCE) jwt = jwt.setAudience(vars.AUTH_AUDIENCE);
console.log(await jwt.sign(new TextEncoder().encode(secret)));
