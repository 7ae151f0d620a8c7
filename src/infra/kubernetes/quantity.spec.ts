import { parseCpuMillis, parseQuantity } from './quantity';

describe('quantities', () => {
  it('parses cpu to millicores', () => {
    expect(parseCpuMillis('500m')).toBe(500);
    expect(parseCpuMillis('2')).toBe(2000);
    expect(parseCpuMillis(1.5)).toBe(1500);
  });

  it('parses binary and decimal suffixes', () => {
    expect(parseQuantity('64Gi')).toBe(64 * 2 ** 30);
    expect(parseQuantity('1G')).toBe(1e9);
    expect(parseQuantity('8')).toBe(8);
    expect(parseQuantity('1e3')).toBe(1000);
    expect(parseQuantity('.5')).toBe(0.5);
    expect(parseQuantity('5.')).toBe(5);
    expect(() => parseQuantity('8 GPUs')).toThrow('invalid quantity');
  });
});
