import type { Reservation } from './reservation.entity';
import type { ReservationDto, ReservationEventDto } from './dto/reservation.dto';
import type { ReservationEvent } from './reservation-event.entity';

const HOUR_MINUTES = 60;

/** Hours as the API shows them: minutes / 60, without float noise (0.0833…, not 0.08333333334). */
export function hoursOf(minutes: number): number {
  return Number((minutes / HOUR_MINUTES).toFixed(4));
}

export function eventDto(event: ReservationEvent): ReservationEventDto {
  return {
    at: event.at.toISOString(),
    ...(event.fromStatus ? { from: event.fromStatus } : {}),
    ...(event.toStatus ? { to: event.toStatus } : {}),
    message: event.message,
  };
}

/** A reservation as its owner sees it; queue standing when queued, the timeline when given. */
export function reservationDto(
  reservation: Reservation,
  context: {
    owner: string;
    cluster?: string;
    simulated?: true;
    disk?: string;
    now?: Date;
    events?: ReservationEvent[];
  },
): ReservationDto {
  const now = context.now ?? new Date();
  const queued = reservation.status === 'queued';
  return {
    id: reservation.id,
    ...(reservation.name ? { name: reservation.name } : {}),
    owner: context.owner,
    gpu_type: reservation.gpuType,
    gpu_count: reservation.gpuCount,
    hours: hoursOf(reservation.durationMinutes),
    extended_hours: hoursOf(reservation.extendedMinutes),
    ...(reservation.image ? { image: reservation.image } : {}),
    jupyter: reservation.jupyter,
    ...(reservation.nodeLabels ? { node_labels: reservation.nodeLabels } : {}),
    ...(context.disk ? { disk: context.disk } : {}),
    no_persist: reservation.noPersist,
    status: reservation.status,
    ...(reservation.statusReason ? { status_reason: reservation.statusReason } : {}),
    ...(reservation.status === 'ending' && reservation.endingAs ? { ending_as: reservation.endingAs } : {}),
    ...(queued && reservation.queuePosition !== null ? { queue_position: reservation.queuePosition } : {}),
    ...(queued && reservation.estimatedStart
      ? {
          estimated_wait_seconds: Math.max(
            0,
            Math.round((reservation.estimatedStart.getTime() - now.getTime()) / 1000),
          ),
        }
      : {}),
    ...(context.cluster ? { cluster: context.cluster } : {}),
    ...(context.simulated ? { simulated: true } : {}),
    ...(reservation.nodeName ? { node: reservation.nodeName } : {}),
    created_at: reservation.createdAt.toISOString(),
    ...(reservation.startedAt ? { started_at: reservation.startedAt.toISOString() } : {}),
    ...(reservation.expiresAt ? { expires_at: reservation.expiresAt.toISOString() } : {}),
    ...(reservation.endedAt ? { ended_at: reservation.endedAt.toISOString() } : {}),
    ...(reservation.sshCommand ? { ssh_command: reservation.sshCommand } : {}),
    ...(reservation.jupyterUrl ? { jupyter_url: reservation.jupyterUrl } : {}),
    secondary_users: reservation.secondaryUsers,
    ...(context.events ? { events: context.events.map(eventDto) } : {}),
  };
}
