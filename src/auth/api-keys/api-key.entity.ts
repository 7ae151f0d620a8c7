import {
  Column,
  CreateDateColumn,
  Entity,
  Index,
  JoinColumn,
  ManyToOne,
  PrimaryGeneratedColumn,
} from 'typeorm';
import { User } from '../users/user.entity';

export const API_KEY_SCOPES = [
  'reservations:read',
  'reservations:write',
  'disks:read',
  'disks:write',
  'clusters:admin',
  'audit:read',
  'usage:write',
  /** Replace the user's SSH keys: shell access to every environment they reserve. */
  'ssh-keys:write',
  /** Create, rotate and revoke the user's API keys. */
  'keys:write',
  /** Admins: bind identities to users. */
  'users:admin',
] as const;
export type ApiKeyScope = (typeof API_KEY_SCOPES)[number];

/** Scopes only an admin's credential may carry. */
export const ADMIN_SCOPES: readonly ApiKeyScope[] = ['clusters:admin', 'audit:read', 'users:admin'];

/**
 * What a person's login (browser session, CLI flow, AWS IAM) may do: what a person does with ODC,
 * their SSH keys and API keys, and for admins the admin scopes too. `usage:write` is for services
 * that report usage, never implied.
 */
export function loginKeyScopes(admin: boolean): ApiKeyScope[] {
  const personal: ApiKeyScope[] = [
    'reservations:read',
    'reservations:write',
    'disks:read',
    'disks:write',
    'ssh-keys:write',
    'keys:write',
  ];
  return admin ? [...personal, ...ADMIN_SCOPES] : personal;
}

/** `odc_<prefix>_<secret>`: the prefix finds the row, only a SHA-256 of the secret is stored. */
@Entity({ name: 'api_keys' })
export class ApiKey {
  @PrimaryGeneratedColumn('uuid')
  id!: string;

  @Index('UQ_api_keys_prefix', { unique: true })
  @Column({ type: 'text' })
  prefix!: string;

  @Column({ name: 'secret_hash', type: 'bytea' })
  secretHash!: Buffer;

  @Index('IDX_api_keys_user')
  @Column({ name: 'user_id', type: 'uuid' })
  userId!: string;

  @ManyToOne(() => User, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'user_id', foreignKeyConstraintName: 'FK_api_keys_user' })
  user?: User;

  @Column({ type: 'text' })
  name!: string;

  @Column({ type: 'text', array: true })
  scopes!: ApiKeyScope[];

  /** How it was issued: api, cli-login, aws-login, user-create (admin-create before), first-start. */
  @Column({ type: 'text' })
  origin!: string;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt!: Date;

  @Column({ name: 'expires_at', type: 'timestamptz' })
  expiresAt!: Date;

  @Column({ name: 'revoked_at', type: 'timestamptz', nullable: true })
  revokedAt!: Date | null;

  @Column({ name: 'last_used_at', type: 'timestamptz', nullable: true })
  lastUsedAt!: Date | null;
}
