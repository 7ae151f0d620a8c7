import { ApiProperty } from '@nestjs/swagger';
import { IsString, Length, Matches } from 'class-validator';
import { HTTP_URL } from '../../infra/http/http-url';
import type { IdentityKind, UserIdentity } from '../users/user-identity.entity';

/** An identity to bind to a user: the issuer and subject a 409 for a taken name reports. */
export class LinkIdentityDto {
  @ApiProperty({
    example: 'https://token.actions.githubusercontent.com',
    minLength: 1,
    maxLength: 512,
    pattern: HTTP_URL.source,
  })
  @IsString()
  @Length(1, 512)
  @Matches(HTTP_URL, {
    message: 'issuer must be an http(s) URL without query or fragment, as the tokens carry it',
  })
  issuer!: string;

  @ApiProperty({ example: 'repo:my-org/app:environment:gpu', minLength: 1, maxLength: 255 })
  @IsString()
  @Length(1, 255)
  subject!: string;
}

export class IdentityDto {
  @ApiProperty() id!: string;
  @ApiProperty() issuer!: string;
  @ApiProperty() subject!: string;
  @ApiProperty({ enum: ['oidc', 'jwt'] }) kind!: IdentityKind;
  @ApiProperty({ description: '`first-sight`, or the admin who linked it' }) bound_by!: string;
  @ApiProperty({ format: 'date-time' }) created_at!: string;

  static from(identity: UserIdentity): IdentityDto {
    return Object.assign(new IdentityDto(), {
      id: identity.id,
      issuer: identity.issuer,
      subject: identity.subject,
      kind: identity.kind,
      bound_by: identity.boundBy,
      created_at: identity.createdAt.toISOString(),
    });
  }
}

export class IdentityListDto {
  @ApiProperty({ type: [IdentityDto], description: 'Oldest first' }) items!: IdentityDto[];
}
