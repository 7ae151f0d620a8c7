import type { EntityManager } from 'typeorm';
import { Body, Controller, Get, HttpCode, Param, Post, Query, Req, Res } from '@nestjs/common';
import {
  ApiAcceptedResponse,
  ApiBody,
  ApiExtraModels,
  ApiHeader,
  ApiOkResponse,
  ApiOperation,
  ApiTags,
} from '@nestjs/swagger';
import type { Response } from 'express';
import { AuditService } from '../audit/public';
import { type AuthenticatedRequest, Authenticated, CurrentPrincipal, type Principal } from '../auth/public';
import { AppError, CommonErrorCode } from '../infra/errors/app-error';
import { ApiErrors } from '../infra/http/api-errors';
import { StorageErrorCode } from '../storage/public';
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
import { ApiReservationRefParam, ReservationRefPipe } from './dto/reservation-ref';
import { reservationDto } from './reservation-view';
import { ReservationQueries, type ReservationWithContext } from './reservation-queries';
import { ReservationErrorCode } from './reservation.errors';
import { ReservationsService } from './reservations.service';

const IDEMPOTENCY_KEY = /^[\x21-\x7e]{1,255}$/;

/**
 * Swagger UI's "Try it out" starts from the first: a request that a fresh `npm start` (its
 * simulated cluster of H100, A100 and T4 nodes) places at once. The others need what they say.
 */
const CREATE_RESERVATION_EXAMPLES = {
  'one-h100': {
    summary: 'One H100 for an hour',
    value: { gpu_type: 'h100', gpu_count: 1, hours: 1, name: 'first-try' },
  },
  'with-a-disk': {
    summary: 'Four H100s for 8 h, your disk at /home/dev (make it first: POST /api/v1/disks)',
    value: {
      gpu_type: 'h100',
      gpu_count: 4,
      hours: 8,
      name: 'train-llm',
      image: 'nvcr.io/nvidia/pytorch:24.10-py3',
      disk: 'work',
    },
  },
  'on-labelled-nodes': {
    summary: 'Two A100s with Jupyter, only on nodes with these labels',
    value: {
      gpu_type: 'a100',
      gpu_count: 2,
      hours: 2,
      jupyter: true,
      node_labels: { 'topology.kubernetes.io/zone': 'sim-a' },
    },
  },
};

/** A reservation named in the path that the caller has not (or that is not theirs). */
const NO_SUCH_RESERVATION = {
  code: CommonErrorCode.NotFound,
  message: 'You have no reservation named train-llm that has not ended (an ended one is named by its id)',
};

function dtoOf(found: ReservationWithContext): ReservationDto {
  return reservationDto(found.reservation, found);
}

@ApiTags('reservations')
@ApiExtraModels(CreateReservationDto)
@Controller('api/v1/reservations')
export class ReservationsController {
  constructor(
    private readonly reservations: ReservationsService,
    private readonly queries: ReservationQueries,
    private readonly audit: AuditService,
  ) {}

  @Post()
  @ApiOperation({
    operationId: 'createReservation',
    summary: 'Reserve GPUs',
    description:
      'Asks for GPUs: checked against the catalog (GET /api/v1/gpu-types) and your limits, then queued ' +
      '(202) with its place in the queue and an estimated wait; a worker places it as soon as a node has ' +
      'room. Poll GET /api/v1/reservations/{id} until it is `active`: it then has its SSH command. ' +
      'Send an `Idempotency-Key` to retry safely: the same key and body answer the reservation already ' +
      'made (with `Idempotent-Replayed: true`).',
  })
  @Authenticated('reservations:write')
  @HttpCode(202)
  @ApiBody({ schema: CREATE_RESERVATION_SCHEMA, examples: CREATE_RESERVATION_EXAMPLES })
  @ApiHeader({
    name: 'Idempotency-Key',
    required: false,
    description: 'Up to 255 visible ASCII characters',
    schema: { type: 'string', pattern: IDEMPOTENCY_KEY.source },
  })
  @ApiAcceptedResponse({ type: ReservationDto })
  @ApiErrors(
    CommonErrorCode.BadRequest,
    {
      code: CommonErrorCode.ValidationFailed,
      message: 'no_persist applies to a disk: name one with disk',
      fields: [{ field: 'no_persist', problems: ['needs disk'] }],
    },
    ReservationErrorCode.UnknownGpuType,
    ReservationErrorCode.InvalidGpuCount,
    ReservationErrorCode.InvalidDuration,
    ReservationErrorCode.LifetimeExceeded,
    ReservationErrorCode.GpuTypeNotOffered,
    ReservationErrorCode.NoMatchingNode,
    ReservationErrorCode.NoNodeLargeEnough,
    ReservationErrorCode.DiskUnreachable,
    ReservationErrorCode.IdempotencyKeyReused,
    StorageErrorCode.UnknownDisk,
    ReservationErrorCode.QuotaExceeded,
    ReservationErrorCode.QueueLimitReached,
    ReservationErrorCode.NameTaken,
    StorageErrorCode.DiskInUse,
    {
      code: StorageErrorCode.InvalidDiskState,
      message: 'Disk work is lost; restore it from a snapshot first',
    },
  )
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
  @ApiOperation({
    operationId: 'listReservations',
    summary: 'List your reservations',
    description:
      'Newest first, a page at a time (`limit`, then `cursor` from `next_cursor`); `status` narrows ' +
      'it down. Admins see everyone’s with `user=all`.',
  })
  @Authenticated('reservations:read')
  @ApiOkResponse({ type: ReservationPageDto })
  @ApiErrors({ code: CommonErrorCode.Forbidden, message: "Only admins can list every user's resources" })
  async list(
    @CurrentPrincipal() principal: Principal,
    @Query() query: ListReservationsQueryDto,
  ): Promise<ReservationPageDto> {
    const page = await this.queries.list(principal, query);
    return { items: page.items.map(dtoOf), ...(page.next ? { next_cursor: page.next } : {}) };
  }

  @Get(':id')
  @ApiOperation({
    operationId: 'getReservation',
    summary: 'Get a reservation',
    description:
      'By id, or by the name of one of yours that has not ended. With its timeline, its connection ' +
      'details (`ssh_command`, `jupyter_url`) once active and, while queued, its place and estimated wait.',
  })
  @ApiReservationRefParam()
  @Authenticated('reservations:read')
  @ApiOkResponse({ type: ReservationDto })
  @ApiErrors(NO_SUCH_RESERVATION)
  async get(
    @CurrentPrincipal() principal: Principal,
    @Param('id', ReservationRefPipe) ref: string,
  ): Promise<ReservationDto> {
    return dtoOf(await this.queries.get(principal, await this.queries.idOf(principal, ref)));
  }

  @Post(':id/extend')
  @ApiOperation({
    operationId: 'extendReservation',
    summary: 'Extend a reservation',
    description:
      'More hours, within the lifetime limit (ODC_RESERVATION_MAX_LIFETIME_HOURS, extensions included): ' +
      'a running reservation’s expiry moves, a queued one will run longer.',
  })
  @ApiReservationRefParam()
  @Authenticated('reservations:write')
  @HttpCode(200)
  @ApiOkResponse({ type: ReservationDto })
  @ApiErrors(
    NO_SUCH_RESERVATION,
    ReservationErrorCode.LifetimeExceeded,
    { code: ReservationErrorCode.InvalidDuration, message: 'An extension is at least 5 minutes' },
    ReservationErrorCode.InvalidState,
  )
  async extend(
    @CurrentPrincipal() principal: Principal,
    @Req() request: AuthenticatedRequest,
    @Param('id', ReservationRefPipe) ref: string,
    @Body() body: ExtendReservationDto,
  ): Promise<ReservationDto> {
    const id = await this.queries.idOf(principal, ref);
    const extended = await this.reservations.extend(principal, id, body.hours, (tx) =>
      this.stageChange(tx, principal, request, 'reservation.extend', id, { hours: body.hours }),
    );
    this.audit.chainSoon();
    return dtoOf(extended);
  }

  @Post(':id/jupyter')
  @ApiOperation({
    operationId: 'setReservationJupyter',
    summary: 'Turn Jupyter on or off',
    description: 'Starts or stops JupyterLab in the reservation; `jupyter_url` says where it answers.',
  })
  @ApiReservationRefParam()
  @Authenticated('reservations:write')
  @HttpCode(200)
  @ApiOkResponse({ type: ReservationDto })
  @ApiErrors(NO_SUCH_RESERVATION, ReservationErrorCode.InvalidState)
  async jupyter(
    @CurrentPrincipal() principal: Principal,
    @Req() request: AuthenticatedRequest,
    @Param('id', ReservationRefPipe) ref: string,
    @Body() body: SetJupyterDto,
  ): Promise<ReservationDto> {
    const id = await this.queries.idOf(principal, ref);
    const changed = await this.reservations.setJupyter(principal, id, body.enabled, (tx) =>
      this.stageChange(tx, principal, request, 'reservation.jupyter', id, { enabled: body.enabled }),
    );
    this.audit.chainSoon();
    return dtoOf(changed);
  }

  @Post(':id/users')
  @ApiOperation({
    operationId: 'addReservationUser',
    summary: 'Share a reservation',
    description:
      'Lets another ODC user in over SSH with their own keys (they are listed in `secondary_users`).',
  })
  @ApiReservationRefParam()
  @Authenticated('reservations:write')
  @HttpCode(200)
  @ApiOkResponse({ type: ReservationDto })
  @ApiErrors(NO_SUCH_RESERVATION, ReservationErrorCode.UnknownUser, ReservationErrorCode.InvalidState, {
    code: ReservationErrorCode.InvalidState,
    message: 'A reservation is shared with at most 8 users',
  })
  async addUser(
    @CurrentPrincipal() principal: Principal,
    @Req() request: AuthenticatedRequest,
    @Param('id', ReservationRefPipe) ref: string,
    @Body() body: AddUserDto,
  ): Promise<ReservationDto> {
    const id = await this.queries.idOf(principal, ref);
    const shared = await this.reservations.addUser(principal, id, body.username, (tx) =>
      this.stageChange(tx, principal, request, 'reservation.add_user', id, { username: body.username }),
    );
    this.audit.chainSoon();
    return dtoOf(shared);
  }

  @Post(':id/cancel')
  @ApiOperation({
    operationId: 'cancelReservation',
    summary: 'Cancel a reservation',
    description:
      'Ends it now, queued or running: it is `ending` (`ending_as: cancelled`) while its objects are deleted (its disk, if it ' +
      'has one, is snapshotted), then `cancelled`.',
  })
  @ApiReservationRefParam()
  @Authenticated('reservations:write')
  @HttpCode(200)
  @ApiOkResponse({ type: ReservationDto })
  @ApiErrors(NO_SUCH_RESERVATION, ReservationErrorCode.InvalidState)
  async cancel(
    @CurrentPrincipal() principal: Principal,
    @Req() request: AuthenticatedRequest,
    @Param('id', ReservationRefPipe) ref: string,
  ): Promise<ReservationDto> {
    const id = await this.queries.idOf(principal, ref);
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
