import { DataSource } from 'typeorm';
import type { ApiKeyScope } from '../../src/auth/api-keys/api-key.entity';
import { ApiKeysService } from '../../src/auth/api-keys/api-keys.service';
import { UsersService } from '../../src/auth/users/users.service';
import type { TestApp } from './app';

/** An API key for `username` (made if new) with these scopes; `admin` makes the user an admin. */
export async function keyFor(
  app: TestApp,
  username: string,
  scopes: ApiKeyScope[],
  options: { admin?: boolean } = {},
): Promise<string> {
  const user = await app.core().get(UsersService).findOrCreateByUsername(username);
  if (options.admin) {
    await app.core().get(DataSource).query(`UPDATE users SET role = 'admin' WHERE id = $1`, [user.id]);
  }
  return (await app.core().get(ApiKeysService).issue(user.id, { name: 'test', scopes, origin: 'api' })).key;
}
