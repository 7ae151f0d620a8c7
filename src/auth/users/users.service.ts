import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { User } from './user.entity';

@Injectable()
export class UsersService {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  /** The user of that name, created on first sight (a CI identity from a trusted JWT issuer). */
  async findOrCreateByUsername(username: string): Promise<User> {
    const repository = this.dataSource.getRepository(User);
    const known = await repository.findOneBy({ username });
    if (known) {
      return known; // every request of a known caller: a read, no write
    }
    // ON CONFLICT DO NOTHING: two first requests at once create one user.
    await repository.createQueryBuilder().insert().values({ username }).orIgnore().execute();
    return repository.findOneByOrFail({ username });
  }

  async setSshKeys(userId: string, keys: string[]): Promise<void> {
    await this.dataSource.getRepository(User).update(userId, { sshKeys: keys });
  }
}
