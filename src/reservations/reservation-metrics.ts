import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { Gauge, Histogram } from 'prom-client';
import { DataSource } from 'typeorm';
import { MetricsService } from '../infra/metrics/metrics.service';
import { LIVE_STATUSES } from './reservation.entity';
import { Planner } from './scheduling/planner';

/**
 * Reservation metrics: live reservations by status and the queue by GPU type (read from the
 * database at scrape time, so every replica reports the same), and histograms observed where the
 * work happens: time from request to active (cron, at activation), admission passes (worker).
 */
@Injectable()
export class ReservationMetrics {
  private readonly timeToActive: Histogram;
  private readonly admissionPass: Histogram;

  constructor(@InjectDataSource() dataSource: DataSource, metrics: MetricsService, planner: Planner) {
    const registers = [metrics.registry];
    new Gauge({
      name: 'odc_reservations',
      help: 'Reservations not yet ended, by status',
      labelNames: ['status'],
      registers,
      async collect() {
        const rows = await dataSource.query<{ status: string; count: number }[]>(
          `SELECT status, count(*)::int AS count FROM reservations WHERE status = ANY($1) GROUP BY status`,
          [[...LIVE_STATUSES]],
        );
        this.reset();
        for (const status of LIVE_STATUSES) {
          this.set({ status }, rows.find((row) => row.status === status)?.count ?? 0);
        }
      },
    });
    new Gauge({
      name: 'odc_queue_length',
      help: 'Queued reservations by GPU type',
      labelNames: ['gpu_type'],
      registers,
      async collect() {
        const rows = await dataSource.query<{ gpu_type: string; count: number }[]>(
          `SELECT gpu_type, count(*)::int AS count FROM reservations WHERE status = 'queued' GROUP BY gpu_type`,
        );
        this.reset();
        for (const row of rows) {
          this.set({ gpu_type: row.gpu_type }, row.count);
        }
      },
    });
    new Gauge({
      name: 'odc_planner_thread_heap_bytes',
      help: "The admission planner thread's V8 heap (not in odc_nodejs_heap_*, which are the main thread's)",
      labelNames: ['kind'],
      registers,
      async collect() {
        const heap = await planner.threadHeap();
        this.reset();
        if (heap) {
          this.set({ kind: 'used' }, heap.used_heap_size);
          this.set({ kind: 'total' }, heap.total_heap_size);
          this.set({ kind: 'physical' }, heap.total_physical_size);
        }
      },
    });
    this.timeToActive = new Histogram({
      name: 'odc_reservation_time_to_active_seconds',
      help: 'From the request to the environment being ready (queueing included)',
      buckets: [1, 2, 5, 10, 30, 60, 120, 300, 600, 1800, 3600, 4 * 3600, 24 * 3600],
      registers,
    });
    this.admissionPass = new Histogram({
      name: 'odc_admission_pass_seconds',
      help: 'One admission pass: planning the queue and claiming what starts now',
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers,
    });
  }

  observeTimeToActive(requestedAt: Date, activeAt: Date): void {
    this.timeToActive.observe((activeAt.getTime() - requestedAt.getTime()) / 1000);
  }

  observeAdmissionPass(seconds: number): void {
    this.admissionPass.observe(seconds);
  }
}
