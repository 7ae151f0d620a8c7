import { ApiProperty } from '@nestjs/swagger';

export const LOGIN_METHODS = ['oidc', 'aws', 'api_key'] as const;
export type LoginMethod = (typeof LOGIN_METHODS)[number];

/** How one gets in here: what `gpu-dev login` reads before it offers a way. */
export class LoginMethodsDto {
  @ApiProperty({
    enum: LOGIN_METHODS,
    isArray: true,
    description:
      'The ways this server offers, best first: oidc (a browser login: `gpu-dev login`), aws (`gpu-dev login --aws`), api_key (always: `gpu-dev login --key`)',
    example: ['api_key'],
  })
  methods!: LoginMethod[];

  @ApiProperty({
    description: 'How a person without any credential gets an API key on this server',
    example:
      'An admin makes you a user and a key: npm run user:create -- --username NAME on the server (docs/identity.md)',
  })
  api_key_help!: string;
}
