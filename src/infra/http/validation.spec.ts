import 'reflect-metadata';
import { Type } from 'class-transformer';
import { IsInt, IsNumber, IsOptional, IsString, Matches, Max, Min, ValidateNested } from 'class-validator';
import { AppError } from '../errors/app-error';
import { ABOUT_ABSENCE } from './about-absence';
import { createValidationPipe } from './validation';

class Place {
  @Matches(/^[a-z]+$/, { message: 'zone must be lower-case letters' })
  zone!: string;
}

class Request {
  @IsNumber({ allowNaN: false, allowInfinity: false })
  @Min(0.01)
  @Max(100)
  hours!: number;

  @IsOptional()
  @IsInt()
  @Min(1)
  count?: number;

  @IsOptional()
  @ValidateNested()
  @Type(() => Place)
  place?: Place;
}

/** A rule about absence (as "exactly one of volume and source" is) beside one that is not. */
class Sourced {
  @IsString()
  @Matches(/^[a-z]+$/, { message: 'give exactly one of volume and source', context: ABOUT_ABSENCE })
  source!: string;
}

async function refusal(
  body: unknown,
  metatype: new () => object = Request,
): Promise<{ message: string; fields: unknown }> {
  try {
    await createValidationPipe().transform(body, { type: 'body', metatype });
  } catch (error) {
    if (error instanceof AppError) {
      return { message: error.message, fields: error.details?.fields };
    }
    throw error;
  }
  throw new Error('accepted');
}

describe('the validation pipe', () => {
  it('says only that a missing field is required, not every rule it fails', async () => {
    expect(await refusal({})).toEqual({
      message: 'hours is required',
      fields: [{ field: 'hours', problems: ['hours is required'] }],
    });
  });

  it('says the same of a null one, and of a missing field of a nested object', async () => {
    expect(await refusal({ hours: null })).toEqual({
      message: 'hours is required',
      fields: [{ field: 'hours', problems: ['hours is required (null is no value)'] }],
    });
    expect(await refusal({ hours: 1, place: {} })).toEqual({
      message: 'place.zone is required',
      fields: [{ field: 'place.zone', problems: ['place.zone is required'] }],
    });
  });

  it('names every missing field in the message', async () => {
    expect((await refusal({ place: {} })).message).toBe('hours and place.zone are required');
  });

  it('keeps the words of a rule about absence instead', async () => {
    expect((await refusal({}, Sourced)).fields).toEqual([
      { field: 'source', problems: ['give exactly one of volume and source'] },
    ]);
  });

  it('lists the rules a given value breaks, and keeps the general message beside them', async () => {
    expect(await refusal({ count: 0 })).toEqual({
      message: 'Request validation failed',
      fields: [
        { field: 'hours', problems: ['hours is required'] },
        { field: 'count', problems: ['count must not be less than 1'] },
      ],
    });
    expect((await refusal({ hours: 0 })).fields).toEqual([
      { field: 'hours', problems: ['hours must not be less than 0.01'] },
    ]);
  });
});
