import { Injectable, type ArgumentMetadata, type PipeTransform } from '@nestjs/common';
import { ApiParam } from '@nestjs/swagger';
import { registerDecorator, type ValidationOptions } from 'class-validator';
import { AppError, CommonErrorCode } from '../errors/app-error';

/** A DNS-1123 label: what Kubernetes takes for namespaces, label-safe names and most of ODC's names. */
export const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;

/** Kubernetes label syntax: optional DNS prefix, a name of at most 63; values at most 63. */
const LABEL_KEY = /^([a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?\/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/;
const LABEL_VALUE = /^([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?$/;

/**
 * A label map in the OpenAPI document. Its keys' rule is in words: OpenAPI 3.0 has no
 * `propertyNames` (scripts/peers/schemathesis.hooks.py keeps generated keys to it).
 */
export const LABEL_MAP_SCHEMA = {
  type: 'object',
  additionalProperties: { type: 'string', pattern: LABEL_VALUE.source },
  'x-key-pattern': LABEL_KEY.source,
} as const;

/** A DNS-1123 label in the OpenAPI document. */
export const DNS_LABEL_SCHEMA = { type: 'string', pattern: DNS_LABEL.source } as const;

export function isLabelMap(value: unknown): boolean {
  return (
    typeof value === 'object' &&
    value !== null &&
    Object.entries(value).every(
      ([key, v]) => LABEL_KEY.test(key) && typeof v === 'string' && LABEL_VALUE.test(v),
    )
  );
}

export function IsLabelMap(options?: ValidationOptions): PropertyDecorator {
  return (target, propertyName) =>
    registerDecorator({
      name: 'isLabelMap',
      target: target.constructor,
      propertyName: String(propertyName),
      options: { message: '$property must map Kubernetes label keys to label values', ...options },
      validator: { validate: isLabelMap },
    });
}

/** A name as Kubernetes takes it for most objects (DNS-1123 subdomain). */
const DNS_SUBDOMAIN_SHAPE = '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*';
export const DNS_SUBDOMAIN = new RegExp(`^(?=.{1,253}$)${DNS_SUBDOMAIN_SHAPE}$`);

/**
 * DNS_SUBDOMAIN in the OpenAPI document, its length as maxLength: a lookahead leaves generators
 * (schemathesis) filtering most of what they make.
 */
export const DNS_SUBDOMAIN_SCHEMA = {
  type: 'string',
  pattern: `^${DNS_SUBDOMAIN_SHAPE}$`,
  maxLength: 253,
} as const;

/** A path parameter DnsLabelPipe checks, as the document shows it. */
export function ApiDnsLabelParam(name: string): MethodDecorator & ClassDecorator {
  return ApiParam({ name, ...DNS_LABEL_SCHEMA });
}

/**
 * Path parameters that name Kubernetes objects: a DNS-1123 label or 400. Without it `..` or `a/b`
 * would reach URL paths and label selectors.
 */
@Injectable()
export class DnsLabelPipe implements PipeTransform<string, string> {
  transform(value: string, metadata: ArgumentMetadata): string {
    if (!DNS_LABEL.test(value)) {
      throw new AppError(
        CommonErrorCode.ValidationFailed,
        `${metadata.data ?? 'parameter'} is not a valid name`,
        {
          fields: [
            {
              field: metadata.data ?? 'parameter',
              problems: ['must be a DNS-1123 label (lower case, digits, -; at most 63)'],
            },
          ],
        },
      );
    }
    return value;
  }
}
