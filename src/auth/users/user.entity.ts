import { Column, CreateDateColumn, Entity, Index, PrimaryGeneratedColumn, UpdateDateColumn } from 'typeorm';

export type UserRole = 'user' | 'admin';

/**
 * A person (or a CI identity) using ODC; found again by one of its identities (user_identities:
 * an OIDC login's or a trusted JWT's issuer and subject), or by an API key. Never by a name a
 * token carries.
 */
@Entity({ name: 'users' })
export class User {
  @PrimaryGeneratedColumn('uuid')
  id!: string;

  @Index('UQ_users_username', { unique: true })
  @Column({ type: 'text' })
  username!: string;

  @Column({ type: 'text', nullable: true })
  email!: string | null;

  /** The DB flag: admin whatever the OIDC claims say. */
  @Column({ type: 'text', default: 'user' })
  role!: UserRole;

  /** Admin by the groups claim at the last OIDC login (ODC_OIDC_ADMIN_GROUPS). */
  @Column({ name: 'admin_by_claims', type: 'boolean', default: false })
  adminByClaims!: boolean;

  @Column({ name: 'oidc_claims', type: 'jsonb', nullable: true })
  oidcClaims!: Record<string, unknown> | null;

  @Column({ name: 'ssh_keys', type: 'jsonb', default: () => "'[]'" })
  sshKeys!: string[];

  @Column({ type: 'boolean', default: false })
  disabled!: boolean;

  @Column({ name: 'last_login_at', type: 'timestamptz', nullable: true })
  lastLoginAt!: Date | null;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt!: Date;

  @UpdateDateColumn({ name: 'updated_at', type: 'timestamptz' })
  updatedAt!: Date;

  get isAdmin(): boolean {
    return this.role === 'admin' || this.adminByClaims;
  }
}
