import {
  Column,
  CreateDateColumn,
  Entity,
  Index,
  JoinColumn,
  ManyToOne,
  PrimaryGeneratedColumn,
} from 'typeorm';
import { User } from './user.entity';

/** How an identity proved itself: an OIDC login, or a bearer JWT from a trusted issuer. */
export type IdentityKind = 'oidc' | 'jwt';

/**
 * One (issuer, subject) pair an identity provider vouches for, bound to one ODC user. A user may
 * hold several (an OIDC login and a CI token an admin linked); a pair belongs to one user only.
 * The name in a token never finds a user: only this binding does.
 */
@Entity({ name: 'user_identities' })
@Index('UQ_user_identities_issuer_subject', ['issuer', 'subject'], { unique: true })
export class UserIdentity {
  @PrimaryGeneratedColumn('uuid')
  id!: string;

  @Index('IDX_user_identities_user')
  @Column({ name: 'user_id', type: 'uuid' })
  userId!: string;

  @ManyToOne(() => User, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'user_id', foreignKeyConstraintName: 'FK_user_identities_user' })
  user?: User;

  @Column({ type: 'varchar', length: 512 })
  issuer!: string;

  @Column({ type: 'varchar', length: 255 })
  subject!: string;

  /** How it was first seen (informative: the binding is the pair, whichever way it arrives). */
  @Column({ type: 'text' })
  kind!: IdentityKind;

  /** By whom it was bound: `first-sight`, or the admin who linked it. */
  @Column({ name: 'bound_by', type: 'text' })
  boundBy!: string;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt!: Date;
}
