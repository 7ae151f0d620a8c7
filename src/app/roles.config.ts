import { registerDecorator } from 'class-validator';
import { isLoopback } from '../deployer/deployer-access';
import type { DeployerConfig } from '../deployer/deployer.config';
import { ConfigRules, type ConfigProblem } from '../infra/config/config-decorators';
import type { CryptoConfig } from '../infra/config/crypto.config';
import type { DatabaseConfig } from '../infra/config/database.config';
import type { ServerConfig } from '../infra/config/server.config';
import { DEFAULT_ROLES, needsDatabase, parseRoles, type Role } from './roles';

function IsRoleList(): PropertyDecorator {
  return (target, propertyName) => {
    registerDecorator({
      name: 'isRoleList',
      target: target.constructor,
      propertyName: String(propertyName),
      validator: {
        validate(value: unknown) {
          try {
            parseRoles(String(value));
            return true;
          } catch {
            return false;
          }
        },
        defaultMessage(args) {
          try {
            parseRoles(String(args?.value));
            return '';
          } catch (error) {
            return (error as Error).message;
          }
        },
      },
    });
  };
}

/** What the roles' rules read besides the roles: the settings a role needs set. */
type RolesRuleInput = RolesConfig & ServerConfig & DatabaseConfig & CryptoConfig & DeployerConfig;

/** In production, the roles that keep state need a real database and a master key of their own. */
function productionDatabase(config: RolesRuleInput): ConfigProblem | undefined {
  if (config.NODE_ENV !== 'production' || !needsDatabase(config.roles) || config.DATABASE_URL !== undefined) {
    return undefined;
  }
  return {
    variable: 'DATABASE_URL',
    message: 'DATABASE_URL is required when NODE_ENV=production, unless the only role is deployer',
  };
}

function productionMasterKey(config: RolesRuleInput): ConfigProblem | undefined {
  if (
    config.NODE_ENV !== 'production' ||
    !needsDatabase(config.roles) ||
    config.ODC_MASTER_KEY !== undefined
  ) {
    return undefined;
  }
  return { variable: 'ODC_MASTER_KEY', message: 'ODC_MASTER_KEY is required in production' };
}

/**
 * A deployer can create pods: it must not serve unauthenticated beyond this machine. (A development
 * start without a token or mTLS makes up a token of its own: src/deployer/deployer-access.ts.)
 */
function guardedDeployer(config: RolesRuleInput): ConfigProblem | undefined {
  const guarded =
    !config.roles.has('deployer') ||
    config.NODE_ENV === 'development' ||
    config.ODC_DEPLOYER_TOKEN !== undefined ||
    config.ODC_DEPLOYER_CLIENT_CA !== undefined ||
    isLoopback(config.ODC_DEPLOYER_HOST) ||
    config.ODC_DEPLOYER_INSECURE;
  if (guarded) {
    return undefined;
  }
  return {
    variable: 'ODC_DEPLOYER_TOKEN',
    message:
      `refusing to serve the deployer on ${config.ODC_DEPLOYER_HOST} without authentication: set ODC_DEPLOYER_TOKEN ` +
      'or ODC_DEPLOYER_CLIENT_CA (mTLS), bind ODC_DEPLOYER_HOST to a loopback address, or (never in production) ' +
      'set ODC_DEPLOYER_INSECURE=true',
  };
}

/** What this replica runs, and what each role needs set beside it. */
@ConfigRules<RolesRuleInput>(productionDatabase, productionMasterKey, guardedDeployer)
export class RolesConfig {
  @IsRoleList()
  ODC_ROLES: string = DEFAULT_ROLES;

  get roles(): ReadonlySet<Role> {
    return parseRoles(this.ODC_ROLES);
  }
}
