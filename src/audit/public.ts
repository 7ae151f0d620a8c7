/**
 * What other folders may use of audit: the audit trail's service, its records and rows, and the
 * request context an audited action carries. Everything else in audit/ is its own.
 */
export { AuditEntry, type AuditOutcome } from './audit-entry.entity';
export { AuditModule } from './audit.module';
export type { AuditConfig } from './audit.config';
export { type AuditRecord, AuditService } from './audit.service';
export { canonicalJson } from './canonical-json';
export {
  AuditEntryDto,
  AuditPageDto,
  AuditQueryDto,
  ChainVerificationDto,
  RecordUsageDto,
  VerifyAgainstDto,
} from './dto/audit.dto';
export { type AuditContext, requestContext } from './request-context';
