// `npm run token -- <userId>`: prints an HS256 token for AUTH_MODE=jwt, for development and tests.
import { DEV_JWT_SECRET } from '@booking/config';
import { SignJWT } from 'jose';

const [userId, ttl = '1h'] = process.argv.slice(2);
if (!userId) {
  process.stderr.write('usage: npm run token -- <userId> [lifetime, e.g. 1h]\n');
  process.exit(2);
}
const secret = process.env.AUTH_JWT_SECRET ?? DEV_JWT_SECRET;
if (process.env.NODE_ENV === 'production' && secret === DEV_JWT_SECRET) {
  process.stderr.write('AUTH_JWT_SECRET: the development secret is not for NODE_ENV=production\n');
  process.exit(1);
}
const token = new SignJWT({}).setProtectedHeader({ alg: 'HS256', typ: 'JWT' }).setSubject(userId).setIssuedAt().setExpirationTime(ttl);
if (process.env.AUTH_JWT_ISSUER) token.setIssuer(process.env.AUTH_JWT_ISSUER);
if (process.env.AUTH_JWT_AUDIENCE) token.setAudience(process.env.AUTH_JWT_AUDIENCE);
process.stdout.write(`${await token.sign(new TextEncoder().encode(secret))}\n`);
