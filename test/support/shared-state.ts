import type { EmbeddedPostgres } from '../../src/infra/database/embedded-postgres';

/** Handed from global setup to test workers through the environment (workers start after setup). */
export const TEST_ENV = {
  adminUrl: 'ODC_TEST_ADMIN_URL',
  template: 'ODC_TEST_TEMPLATE',
  logAuditDir: 'ODC_TEST_LOG_AUDIT_DIR',
} as const;

export interface SharedState {
  embedded?: EmbeddedPostgres;
  adminUrl: string;
  template: string;
  logAuditDir: string;
}
