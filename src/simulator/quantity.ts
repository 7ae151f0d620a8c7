/**
 * Resource quantities as kube-apiserver writes them back: apimachinery's `Quantity` keeps the
 * format it was parsed in (binary suffixes `Ki`…`Ei`, decimal suffixes `n`…`E` or none, or an
 * exponent `1e3`) and prints the canonical form of that format — `1024Mi` reads back `1Gi`,
 * `0.5Gi` `512Mi`, `1000M` `1G`, `1.5G` `1500M`, `0.5` `500m`. Exact arithmetic (BigInt), so
 * sizes in bytes keep every digit.
 */

type Format = 'BinarySI' | 'DecimalSI' | 'DecimalExponent';

const BINARY_POWERS: Record<string, number> = { Ki: 1, Mi: 2, Gi: 3, Ti: 4, Pi: 5, Ei: 6 };
const DECIMAL_EXPONENTS: Record<string, number> = {
  n: -9,
  u: -6,
  m: -3,
  '': 0,
  k: 3,
  M: 6,
  G: 9,
  T: 12,
  P: 15,
  E: 18,
};
const DECIMAL_SUFFIXES = new Map(Object.entries(DECIMAL_EXPONENTS).map(([suffix, e]) => [e, suffix]));
const BINARY_SUFFIXES = ['', 'Ki', 'Mi', 'Gi', 'Ti', 'Pi', 'Ei'];

/** A value as `mantissa × 10^exponent`, exactly, and the format it was written in. */
interface Parsed {
  mantissa: bigint;
  exponent: number;
  format: Format;
}

const QUANTITY = /^([+-]?)(\d*)(?:\.(\d*))?(?:[eE]([+-]?\d+)|(Ki|Mi|Gi|Ti|Pi|Ei|[numkMGTPE])?)$/;

function parse(text: string): Parsed | undefined {
  const match = QUANTITY.exec(text.trim());
  if (!match) {
    return undefined;
  }
  const [, sign, whole = '', fraction = '', exponentText, suffix = ''] = match;
  if (whole === '' && fraction === '') {
    return undefined;
  }
  let mantissa = BigInt(`${whole}${fraction}` || '0') * (sign === '-' ? -1n : 1n);
  let exponent = -fraction.length;
  let format: Format = 'DecimalSI';
  const binaryPower = BINARY_POWERS[suffix];
  if (exponentText !== undefined) {
    exponent += Number(exponentText);
    format = 'DecimalExponent';
  } else if (binaryPower !== undefined) {
    mantissa *= 1024n ** BigInt(binaryPower);
    format = 'BinarySI';
  } else {
    // QUANTITY takes no suffix it has no exponent for.
    exponent += DECIMAL_EXPONENTS[suffix] ?? 0;
  }
  // apimachinery keeps nothing finer than nano units: rounds up (away from zero) to them.
  if (exponent < -9) {
    const divisor = 10n ** BigInt(-9 - exponent);
    const rounded = mantissa / divisor;
    mantissa = rounded * divisor === mantissa ? rounded : rounded + (mantissa < 0n ? -1n : 1n);
    exponent = -9;
  }
  return { mantissa, exponent, format };
}

const abs = (n: bigint) => (n < 0n ? -n : n);

/** `mantissa × 10^exponent` with the factors of ten moved into the exponent, a multiple of three. */
function decimalParts(mantissa: bigint, exponent: number): [bigint, number] {
  while (mantissa !== 0n && mantissa % 10n === 0n) {
    mantissa /= 10n;
    exponent += 1;
  }
  const over = ((exponent % 3) + 3) % 3;
  return [mantissa * 10n ** BigInt(over), exponent - over];
}

/** The exact integer value, when there is one. */
function integerValue(mantissa: bigint, exponent: number): bigint | undefined {
  if (exponent >= 0) {
    return mantissa * 10n ** BigInt(exponent);
  }
  const divisor = 10n ** BigInt(-exponent);
  return mantissa % divisor === 0n ? mantissa / divisor : undefined;
}

function format({ mantissa, exponent, format: written }: Parsed): string {
  if (mantissa === 0n) {
    return '0';
  }
  if (written === 'BinarySI') {
    const whole = integerValue(mantissa, exponent);
    // Small values and values with a fraction are printed as decimal (no rounding, no confusion).
    if (whole !== undefined && abs(whole) >= 1024n) {
      let amount = whole;
      let power = 0;
      while (amount % 1024n === 0n && power < BINARY_SUFFIXES.length - 1) {
        amount /= 1024n;
        power += 1;
      }
      return `${amount}${BINARY_SUFFIXES[power]}`;
    }
  }
  const [amount, e] = decimalParts(mantissa, exponent);
  if (written === 'DecimalExponent') {
    return e === 0 ? `${amount}` : `${amount}e${e}`;
  }
  const suffix = DECIMAL_SUFFIXES.get(e);
  return suffix === undefined ? `${amount}e${e}` : `${amount}${suffix}`;
}

/**
 * A quantity as kube-apiserver stores and answers it (a JSON number too: `2` reads back `"2"`);
 * anything that does not parse is left as it is, for validation to refuse.
 */
export function canonicalQuantity(value: unknown): unknown {
  const text = typeof value === 'number' && Number.isFinite(value) ? String(value) : value;
  if (typeof text !== 'string') {
    return value;
  }
  const parsed = parse(text);
  return parsed ? format(parsed) : value;
}

/** A size in bytes as a provisioner writes it (`resource.NewQuantity(bytes, BinarySI)`): `100Gi`. */
export function bytesQuantity(bytes: number | bigint): string {
  return format({ mantissa: BigInt(bytes), exponent: 0, format: 'BinarySI' });
}
