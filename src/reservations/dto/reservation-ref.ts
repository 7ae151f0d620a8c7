import { BadRequestException, type PipeTransform } from '@nestjs/common';
import { ApiParam } from '@nestjs/swagger';
import { DNS_LABEL } from '../../infra/kubernetes/names';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function isUuid(value: string): boolean {
  return UUID.test(value);
}

/**
 * A reservation in a path: its id, or the name of one of the caller's reservations that has not
 * ended (ReservationQueries.idOf finds which). Anything else is a 400 before any lookup.
 */
export class ReservationRefPipe implements PipeTransform<string, string> {
  transform(value: string): string {
    if (isUuid(value) || DNS_LABEL.test(value)) {
      return value;
    }
    throw new BadRequestException(
      'id must be a reservation id (a UUID) or the name of one of your reservations that has not ended',
    );
  }
}

export function ApiReservationRefParam(): MethodDecorator {
  return ApiParam({
    name: 'id',
    type: 'string',
    description: 'The reservation id, or the name of one of your reservations that has not ended',
    example: 'train-llm',
  });
}
