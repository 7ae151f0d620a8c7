import { type ArgumentMetadata, type PipeTransform } from '@nestjs/common';
import { AppError, CommonErrorCode } from '../../infra/errors/app-error';
import { DNS_LABEL } from '../../infra/kubernetes/names';
import { MAX_EXTERNAL_IDS } from '../contract';

/** What ExternalIdListPipe takes, as a pattern. */
export const EXTERNAL_ID_LIST = `^${DNS_LABEL.source.slice(1, -1)}(,${DNS_LABEL.source.slice(1, -1)}){0,${MAX_EXTERNAL_IDS - 1}}$`;

/**
 * `?external_id=a,b,c`: a comma list of up to MAX_EXTERNAL_IDS DNS labels, or absent (all). The
 * parameter given twice reaches here as a list (when no global pipe refused it first): a 400 too.
 */
export class ExternalIdListPipe implements PipeTransform<unknown, string[] | undefined> {
  transform(value: unknown, metadata: ArgumentMetadata): string[] | undefined {
    if (value === undefined) {
      return undefined;
    }
    const ids = typeof value === 'string' ? value.split(',') : [];
    if (ids.length === 0 || ids.length > MAX_EXTERNAL_IDS || !ids.every((id) => DNS_LABEL.test(id))) {
      throw new AppError(CommonErrorCode.ValidationFailed, `${metadata.data ?? 'parameter'} is not valid`, {
        fields: [
          {
            field: metadata.data ?? 'parameter',
            problems: [`must be given once, a comma list of at most ${MAX_EXTERNAL_IDS} DNS-1123 labels`],
          },
        ],
      });
    }
    return ids;
  }
}
