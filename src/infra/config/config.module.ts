import { type DynamicModule, Module } from '@nestjs/common';
import { sectionsOf } from './load-config';

/**
 * Makes the validated configuration injectable by each of its sections' classes: a provider asks
 * for the section it reads (`config: StorageConfig`) and gets the whole configuration, typed as that.
 */
@Module({})
export class ConfigModule {
  static forRoot(config: object): DynamicModule {
    const sections = sectionsOf(config);
    return {
      module: ConfigModule,
      global: true,
      providers: sections.map((section) => ({ provide: section, useValue: config })),
      exports: [...sections],
    };
  }
}
