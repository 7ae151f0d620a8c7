import { ScheduledTask } from '../cron/scheduled-task.entity';

/** Every TypeORM entity, listed once for the app, the migration CLI and the drift check. */
export const ENTITIES = [ScheduledTask];
