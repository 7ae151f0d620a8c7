import { Column, Entity, PrimaryColumn } from 'typeorm';

export type TaskOutcome = 'running' | 'succeeded' | 'failed';

/** The last run of each exactly-once scheduled task: which replica ran it, when, and how it ended. */
@Entity({ name: 'scheduled_tasks' })
export class ScheduledTask {
  @PrimaryColumn({ type: 'text' })
  name!: string;

  @Column({ name: 'last_started_at', type: 'timestamptz' })
  lastStartedAt!: Date;

  @Column({ name: 'last_finished_at', type: 'timestamptz', nullable: true })
  lastFinishedAt!: Date | null;

  @Column({ name: 'last_outcome', type: 'text' })
  lastOutcome!: TaskOutcome;

  @Column({ name: 'last_error', type: 'text', nullable: true })
  lastError!: string | null;

  @Column({ name: 'last_instance', type: 'text' })
  lastInstance!: string;

  @Column({ name: 'run_count', type: 'bigint', default: 0 })
  runCount!: string;
}
