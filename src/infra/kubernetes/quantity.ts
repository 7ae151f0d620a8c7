/** Kubernetes resource quantities (`500m`, `2`, `64Gi`, `1.5G`) as numbers: cpu in millicores, the rest in base units. */
/** A whole-or-decimal size with an optional suffix (`100Gi`, `1.5T`): what ODC accepts for storage sizes. */
export const SIZE_QUANTITY = /^\d+(\.\d+)?(Ki|Mi|Gi|Ti|Pi|Ei|k|M|G|T|P|E)?$/;

const BINARY: Record<string, number> = {
  Ki: 2 ** 10,
  Mi: 2 ** 20,
  Gi: 2 ** 30,
  Ti: 2 ** 40,
  Pi: 2 ** 50,
  Ei: 2 ** 60,
};
const DECIMAL: Record<string, number> = {
  n: 1e-9,
  u: 1e-6,
  m: 1e-3,
  '': 1,
  k: 1e3,
  M: 1e6,
  G: 1e9,
  T: 1e12,
  P: 1e15,
  E: 1e18,
};

export function parseQuantity(value: string | number | undefined): number {
  if (value === undefined) {
    return 0;
  }
  if (typeof value === 'number') {
    return value;
  }
  // The Kubernetes quantity grammar: a signed decimal (`5`, `.5`, `5.`), then a binary or decimal
  // suffix or a decimal exponent (`1e3`).
  const match = /^([+-]?(?:\d+\.?\d*|\.\d+))(?:([eE][+-]?\d+)|([A-Za-z]{0,2}))$/.exec(value.trim());
  if (!match) {
    throw new Error(`invalid quantity "${value}"`);
  }
  const [, number, exponent, suffix = ''] = match;
  if (exponent) {
    return Number(`${number}${exponent}`);
  }
  const scale = BINARY[suffix] ?? DECIMAL[suffix];
  if (scale === undefined) {
    throw new Error(`invalid quantity suffix in "${value}"`);
  }
  return Number(number) * scale;
}

export function isQuantity(value: unknown): boolean {
  try {
    parseQuantity(value as string | number);
    return typeof value === 'string' || typeof value === 'number';
  } catch {
    return false;
  }
}

/** CPU in millicores (so `500m` is 500 and `2` is 2000): integers, no float drift. */
export function parseCpuMillis(value: string | number | undefined): number {
  return Math.round(parseQuantity(value) * 1000);
}
