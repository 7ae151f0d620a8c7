import {
  Body,
  Controller,
  Get,
  Headers,
  HttpCode,
  Param,
  ParseUUIDPipe,
  Post,
  Query,
  Req,
  Res,
} from '@nestjs/common';
import {
  ApiAcceptedResponse,
  ApiConflictResponse,
  ApiHeader,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiTags,
  ApiUnprocessableEntityResponse,
} from '@nestjs/swagger';
import type { Response } from 'express';
import { AuditService } from '../audit/audit.service';
import { requestContext } from '../audit/request-context';
import type { AuthenticatedRequest } from '../auth/auth-requirements';
import { Authenticated, CurrentPrincipal } from '../auth/auth.decorators';
import type { Principal } from '../auth/principal';
import { AppError, CommonErrorCode } from '../infra/errors/app-error';
import { ErrorResponse } from '../infra/http/error-response';
import {
  CreateReservationDto,
  ListReservationsQueryDto,
  ReservationDto,
  ReservationPageDto,
} from './dto/reservation.dto';
import { reservationDto } from './reservation-view';
import { ReservationsService, type ReservationWithContext } from './reservations.service';

const IDEMPOTENCY_KEY = /^[\x21-\x7e]{1,255}$/;

function dtoOf(found: ReservationWithContext): ReservationDto {
  return reservationDto(found.reservation, found);
}

@ApiTags('reservations')
@Controller('api/v1/reservations')
@ApiNotFoundResponse({ type: ErrorResponse })
export class ReservationsController {
  constructor(
    private readonly reservations: ReservationsService,
    private readonly audit: AuditService,
  ) {}

  /**
   * Asks for GPUs: checked against the catalog and your limits, then queued (202) with its place
   * in the queue and an estimated wait; a worker places it as soon as a node has room. Send an
   * `Idempotency-Key` to retry safely: the same key and body answer the reservation already made.
   */
  @Post()
  @Authenticated('reservations:write')
  @HttpCode(202)
  @ApiHeader({ name: 'Idempotency-Key', required: false, description: 'Up to 255 visible ASCII characters' })
  @ApiAcceptedResponse({ type: ReservationDto })
  @ApiUnprocessableEntityResponse({
    type: ErrorResponse,
    description:
      'unknown_gpu_type, invalid_gpu_count, invalid_duration, lifetime_exceeded, no_node_large_enough, idempotency_key_reused',
  })
  @ApiConflictResponse({ type: ErrorResponse, description: 'quota_exceeded, queue_limit_reached' })
  async create(
    @CurrentPrincipal() principal: Principal,
    @Req() request: AuthenticatedRequest,
    @Res({ passthrough: true }) response: Response,
    @Body() body: CreateReservationDto,
    @Headers('idempotency-key') idempotencyKey?: string,
  ): Promise<ReservationDto> {
    if (idempotencyKey !== undefined && !IDEMPOTENCY_KEY.test(idempotencyKey)) {
      throw new AppError(
        CommonErrorCode.BadRequest,
        'Idempotency-Key must be 1 to 255 visible ASCII characters',
      );
    }
    const { reservation, created } = await this.reservations.create(principal, body, idempotencyKey);
    if (created) {
      await this.audit.record({
        action: 'reservation.create',
        outcome: 'success',
        userId: principal.userId,
        username: principal.username,
        resourceType: 'reservation',
        resourceId: reservation.reservation.id,
        ...requestContext(request),
        requestMetadata: { gpu_type: body.gpu_type, gpu_count: body.gpu_count, hours: body.hours },
      });
    } else {
      response.setHeader('Idempotent-Replayed', 'true');
    }
    return dtoOf(reservation);
  }

  @Get()
  @Authenticated('reservations:read')
  @ApiOkResponse({ type: ReservationPageDto })
  async list(
    @CurrentPrincipal() principal: Principal,
    @Query() query: ListReservationsQueryDto,
  ): Promise<ReservationPageDto> {
    const page = await this.reservations.list(principal, query);
    return { items: page.items.map(dtoOf), ...(page.next ? { next_cursor: page.next } : {}) };
  }

  /** With its timeline, connection details and, while queued, its place and estimated wait. */
  @Get(':id')
  @Authenticated('reservations:read')
  @ApiOkResponse({ type: ReservationDto })
  async get(
    @CurrentPrincipal() principal: Principal,
    @Param('id', new ParseUUIDPipe()) id: string,
  ): Promise<ReservationDto> {
    return dtoOf(await this.reservations.get(principal, id));
  }

  @Post(':id/cancel')
  @Authenticated('reservations:write')
  @HttpCode(200)
  @ApiOkResponse({ type: ReservationDto })
  @ApiConflictResponse({ type: ErrorResponse, description: 'invalid_reservation_state' })
  async cancel(
    @CurrentPrincipal() principal: Principal,
    @Req() request: AuthenticatedRequest,
    @Param('id', new ParseUUIDPipe()) id: string,
  ): Promise<ReservationDto> {
    const cancelled = await this.reservations.cancel(principal, id);
    await this.audit.record({
      action: 'reservation.cancel',
      outcome: 'success',
      userId: principal.userId,
      username: principal.username,
      resourceType: 'reservation',
      resourceId: id,
      ...requestContext(request),
    });
    return dtoOf(cancelled);
  }
}
