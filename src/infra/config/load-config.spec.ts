import { Transform } from 'class-transformer';
import { IsIn, IsInt, IsOptional, IsString, Min } from 'class-validator';
import { ConfigRules, emptyToUndefined, Secret, toNumber } from './config-decorators';
import { ConfigError, configKeys, configWith, describeConfig, loadConfig, sectionsOf } from './load-config';

class ModeSection {
  @IsIn(['fast', 'safe'])
  MODE: 'fast' | 'safe' = 'safe';

  get careful(): boolean {
    return this.MODE === 'safe';
  }
}

@ConfigRules<LimitsSection & ModeSection>((config) =>
  config.MODE === 'fast' && config.LIMIT > 10
    ? { variable: 'LIMIT', message: 'LIMIT must be at most 10 when MODE=fast' }
    : undefined,
)
class LimitsSection {
  @Transform(toNumber)
  @IsInt()
  @Min(1)
  LIMIT = 5;

  @Secret()
  @Transform(emptyToUndefined)
  @IsOptional()
  @IsString()
  PASSWORD_URL?: string;
}

class ClashingSection {
  @IsString()
  MODE = 'other';
}

const SECTIONS = [ModeSection, LimitsSection] as const;

function problemsOf(source: Record<string, string>): string[] {
  try {
    loadConfig(SECTIONS, source);
  } catch (error) {
    if (error instanceof ConfigError) {
      return error.problems;
    }
    throw error;
  }
  throw new Error('expected a ConfigError');
}

describe('loadConfig', () => {
  it('merges the sections: their variables, defaults and getters on one frozen object', () => {
    const config = loadConfig(SECTIONS, { LIMIT: '7', UNRELATED: 'x' });
    expect(config.MODE).toBe('safe');
    expect(config.LIMIT).toBe(7);
    expect(config.careful).toBe(true);
    expect(Object.isFrozen(config)).toBe(true);
    expect(config).not.toHaveProperty('UNRELATED');
    expect(sectionsOf(config)).toEqual(SECTIONS);
  });

  it('lists the problems of every section at once', () => {
    expect(problemsOf({ MODE: 'slow', LIMIT: '0' })).toEqual([
      expect.stringMatching(/^MODE: .*\(got "slow"\)$/),
      expect.stringMatching(/^LIMIT: .*\(got 0\)$/),
    ]);
  });

  it("runs a section's rules across variables, with another section's values", () => {
    expect(problemsOf({ MODE: 'fast', LIMIT: '11' })).toEqual([
      'LIMIT: LIMIT must be at most 10 when MODE=fast (got 11)',
    ]);
    expect(loadConfig(SECTIONS, { MODE: 'safe', LIMIT: '11' }).LIMIT).toBe(11);
  });

  it("skips a section's rules while its own variables are invalid", () => {
    expect(problemsOf({ MODE: 'fast', LIMIT: 'lots' })).toEqual([expect.stringMatching(/^LIMIT: .*integer/)]);
  });

  it('refuses a variable that two sections define', () => {
    expect(() => loadConfig([ModeSection, ClashingSection], {})).toThrow(
      'configuration: MODE is defined by both ModeSection and ClashingSection',
    );
  });
});

describe('configKeys', () => {
  it('names every variable, optional ones without a default too', () => {
    expect(configKeys(SECTIONS)).toEqual(['MODE', 'LIMIT', 'PASSWORD_URL']);
  });
});

describe('configWith', () => {
  it('replaces values in a frozen copy that keeps its getters and sections', () => {
    const config = loadConfig(SECTIONS, {});
    const fast = configWith(config, { MODE: 'fast' });
    expect(fast.careful).toBe(false);
    expect(Object.isFrozen(fast)).toBe(true);
    expect(sectionsOf(fast)).toEqual(SECTIONS);
    expect(config.MODE).toBe('safe');
  });
});

describe('describeConfig', () => {
  it("masks secrets, a URL's password only", () => {
    const described = describeConfig(loadConfig(SECTIONS, { PASSWORD_URL: 'postgres://u:s3cret@db/x' }));
    expect(described).toEqual({ MODE: 'safe', LIMIT: 5, PASSWORD_URL: 'postgres://u:***@db/x' });
  });
});
