import type { EntityManager } from 'typeorm';
import { Body, Controller, Get, HttpCode, Param, ParseUUIDPipe, Post, Query, Req, Res } from '@nestjs/common';
import {
  ApiAcceptedResponse,
  ApiConflictResponse,
  ApiBody,
  ApiExtraModels,
  ApiHeader,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiTags,
  ApiUnprocessableEntityResponse,
} from '@nestjs/swagger';
import type { Response } from 'express';
import { AuditService } from '../audit/public';
import { type AuthenticatedRequest, Authenticated, CurrentPrincipal, type Principal } from '../auth/public';
import { AppError, CommonErrorCode } from '../infra/errors/app-error';
import { ApiUuidParam } from '../infra/http/api-params';
import { ErrorResponse } from '../infra/http/error-response';
import {
  AddUserDto,
  CREATE_RESERVATION_SCHEMA,
  CreateReservationDto,
  ExtendReservationDto,
  SetJupyterDto,
  ListReservationsQueryDto,
  ReservationDto,
  ReservationPageDto,
} from './dto/reservation.dto';
import { reservationDto } from './reservation-view';
import { ReservationQueries, type ReservationWithContext } from './reservation-queries';
import { ReservationsService } from './reservations.service';

const IDEMPOTENCY_KEY = /^[\x21-\x7e]{1,255}$/;

function dtoOf(found: ReservationWithContext): ReservationDto {
  return reservationDto(found.reservation, found);
}

@ApiTags('reservations')
@ApiExtraModels(CreateReservationDto)
@Controller('api/v1/reservations')
@ApiNotFoundResponse({ type: ErrorResponse })
export class ReservationsController {
  constructor(
    private readonly reservations: ReservationsService,
    private readonly queries: ReservationQueries,
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
  @ApiBody({ schema: CREATE_RESERVATION_SCHEMA })
  @ApiHeader({
    name: 'Idempotency-Key',
    required: false,
    description: 'Up to 255 visible ASCII characters',
    schema: { type: 'string', pattern: IDEMPOTENCY_KEY.source },
  })
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
  ): Promise<ReservationDto> {
    // Read here rather than with @Headers(), which would document the header a second time.
    const idempotencyKey = request.header('idempotency-key');
    if (idempotencyKey !== undefined && !IDEMPOTENCY_KEY.test(idempotencyKey)) {
      throw new AppError(
        CommonErrorCode.BadRequest,
        'Idempotency-Key must be 1 to 255 visible ASCII characters',
      );
    }
    // Its audit record commits with it (and is chained after: the answer need not wait for that).
    const { reservation, created } = await this.reservations.create(
      principal,
      body,
      idempotencyKey,
      (tx, r) =>
        this.stageChange(tx, principal, request, 'reservation.create', r.id, {
          gpu_type: body.gpu_type,
          gpu_count: body.gpu_count,
          hours: body.hours,
        }),
    );
    if (!created) {
      response.setHeader('Idempotent-Replayed', 'true');
    } else {
      this.audit.chainSoon();
    }
    const described = await this.queries.withContext(reservation, principal.username);
    return dtoOf(described);
  }

  @Get()
  @Authenticated('reservations:read')
  @ApiOkResponse({ type: ReservationPageDto })
  async list(
    @CurrentPrincipal() principal: Principal,
    @Query() query: ListReservationsQueryDto,
  ): Promise<ReservationPageDto> {
    const page = await this.queries.list(principal, query);
    return { items: page.items.map(dtoOf), ...(page.next ? { next_cursor: page.next } : {}) };
  }

  /** With its timeline, connection details and, while queued, its place and estimated wait. */
  @Get(':id')
  @ApiUuidParam()
  @Authenticated('reservations:read')
  @ApiOkResponse({ type: ReservationDto })
  async get(
    @CurrentPrincipal() principal: Principal,
    @Param('id', new ParseUUIDPipe()) id: string,
  ): Promise<ReservationDto> {
    return dtoOf(await this.queries.get(principal, id));
  }

  /** More time, within the lifetime limit; a running reservation's expiry moves. */
  @Post(':id/extend')
  @ApiUuidParam()
  @Authenticated('reservations:write')
  @HttpCode(200)
  @ApiOkResponse({ type: ReservationDto })
  @ApiUnprocessableEntityResponse({ type: ErrorResponse, description: 'lifetime_exceeded, invalid_duration' })
  @ApiConflictResponse({ type: ErrorResponse, description: 'invalid_reservation_state' })
  async extend(
    @CurrentPrincipal() principal: Principal,
    @Req() request: AuthenticatedRequest,
    @Param('id', new ParseUUIDPipe()) id: string,
    @Body() body: ExtendReservationDto,
  ): Promise<ReservationDto> {
    const extended = await this.reservations.extend(principal, id, body.hours, (tx) =>
      this.stageChange(tx, principal, request, 'reservation.extend', id, { hours: body.hours }),
    );
    this.audit.chainSoon();
    return dtoOf(extended);
  }

  @Post(':id/jupyter')
  @ApiUuidParam()
  @Authenticated('reservations:write')
  @HttpCode(200)
  @ApiOkResponse({ type: ReservationDto })
  @ApiConflictResponse({ type: ErrorResponse, description: 'invalid_reservation_state' })
  async jupyter(
    @CurrentPrincipal() principal: Principal,
    @Req() request: AuthenticatedRequest,
    @Param('id', new ParseUUIDPipe()) id: string,
    @Body() body: SetJupyterDto,
  ): Promise<ReservationDto> {
    const changed = await this.reservations.setJupyter(principal, id, body.enabled, (tx) =>
      this.stageChange(tx, principal, request, 'reservation.jupyter', id, { enabled: body.enabled }),
    );
    this.audit.chainSoon();
    return dtoOf(changed);
  }

  /** Shares SSH access with another ODC user. */
  @Post(':id/users')
  @ApiUuidParam()
  @Authenticated('reservations:write')
  @HttpCode(200)
  @ApiOkResponse({ type: ReservationDto })
  @ApiUnprocessableEntityResponse({ type: ErrorResponse, description: 'unknown_user' })
  @ApiConflictResponse({ type: ErrorResponse, description: 'invalid_reservation_state' })
  async addUser(
    @CurrentPrincipal() principal: Principal,
    @Req() request: AuthenticatedRequest,
    @Param('id', new ParseUUIDPipe()) id: string,
    @Body() body: AddUserDto,
  ): Promise<ReservationDto> {
    const shared = await this.reservations.addUser(principal, id, body.username, (tx) =>
      this.stageChange(tx, principal, request, 'reservation.add_user', id, { username: body.username }),
    );
    this.audit.chainSoon();
    return dtoOf(shared);
  }

  @Post(':id/cancel')
  @ApiUuidParam()
  @Authenticated('reservations:write')
  @HttpCode(200)
  @ApiOkResponse({ type: ReservationDto })
  @ApiConflictResponse({ type: ErrorResponse, description: 'invalid_reservation_state' })
  async cancel(
    @CurrentPrincipal() principal: Principal,
    @Req() request: AuthenticatedRequest,
    @Param('id', new ParseUUIDPipe()) id: string,
  ): Promise<ReservationDto> {
    // As with a reserve, its audit record commits with it.
    const cancelled = await this.reservations.cancel(principal, id, (tx) =>
      this.stageChange(tx, principal, request, 'reservation.cancel', id),
    );
    this.audit.chainSoon();
    return dtoOf(await this.queries.withTimeline(cancelled, principal));
  }

  private stageChange(
    tx: EntityManager,
    principal: Principal,
    request: AuthenticatedRequest,
    action: string,
    id: string,
    metadata?: Record<string, unknown>,
  ): Promise<void> {
    return this.audit.stageCall(tx, principal, request, {
      action,
      resourceType: 'reservation',
      resourceId: id,
      ...(metadata ? { metadata } : {}),
    });
  }
}
