/**
 * The whole configuration: every domain's section, loaded and validated at once. Domain code asks
 * for the section it reads (`config: StorageConfig`); the object it is handed is this one.
 */
import { AuditConfig } from '../audit/audit.config';
import { AuthConfig } from '../auth/auth.config';
import { ClustersConfig } from '../clusters/clusters.config';
import { DeployerConfig } from '../deployer/deployer.config';
import { CryptoConfig } from '../infra/config/crypto.config';
import { DatabaseConfig } from '../infra/config/database.config';
import { readEnvironment, type EnvSource } from '../infra/config/environment';
import { configKeys, loadConfig } from '../infra/config/load-config';
import { LoggingConfig } from '../infra/config/logging.config';
import { QueueConfig } from '../infra/config/queue.config';
import { ServerConfig } from '../infra/config/server.config';
import { ReservationsConfig } from '../reservations/reservations.config';
import { StorageConfig, type StorageProviderConfig } from '../storage/storage.config';
import { RolesConfig } from './roles.config';

/** Every section, each documented variable by variable in `.env.example`. */
export const APP_CONFIG_SECTIONS = [
  ServerConfig,
  RolesConfig,
  LoggingConfig,
  DatabaseConfig,
  QueueConfig,
  CryptoConfig,
  DeployerConfig,
  AuthConfig,
  AuditConfig,
  ClustersConfig,
  ReservationsConfig,
  StorageConfig,
] as const;

export type AppConfig = ServerConfig &
  RolesConfig &
  LoggingConfig &
  DatabaseConfig &
  QueueConfig &
  CryptoConfig &
  DeployerConfig &
  AuthConfig &
  AuditConfig &
  ClustersConfig &
  ReservationsConfig &
  StorageConfig &
  StorageProviderConfig;

/** Validates the environment; throws a ConfigError listing every problem of every section at once. */
export function loadAppConfig(source: EnvSource = readEnvironment()): AppConfig {
  // StorageConfig's checks (a region with aws-ebs) are what make it a StorageProviderConfig too.
  return loadConfig(APP_CONFIG_SECTIONS, source) as AppConfig;
}

/** Every variable ODC reads. */
export function appConfigKeys(): string[] {
  return configKeys(APP_CONFIG_SECTIONS);
}
