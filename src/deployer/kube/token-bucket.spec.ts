import { TokenBucket } from './token-bucket';

describe('TokenBucket (client-side QPS/burst)', () => {
  it('lets a burst through at once, then spaces calls at 1/qps, queued in order', () => {
    const now = 0;
    const bucket = new TokenBucket(10, 3, () => now);
    expect([bucket.reserve(), bucket.reserve(), bucket.reserve()]).toEqual([0, 0, 0]);
    expect(bucket.reserve()).toBeCloseTo(100);
    expect(bucket.reserve()).toBeCloseTo(200);
  });

  it('refills at qps up to the burst size, never beyond', () => {
    let now = 0;
    const bucket = new TokenBucket(10, 2, () => now);
    bucket.reserve();
    bucket.reserve();
    now = 100; // one token back
    expect(bucket.reserve()).toBe(0);
    expect(bucket.reserve()).toBeCloseTo(100);
    now = 60_000; // a long quiet spell refills only `burst` tokens
    expect([bucket.reserve(), bucket.reserve()]).toEqual([0, 0]);
    expect(bucket.reserve()).toBeGreaterThan(0);
  });

  it('take() waits for its token', async () => {
    const bucket = new TokenBucket(50, 1);
    await bucket.take();
    const started = performance.now();
    await bucket.take();
    expect(performance.now() - started).toBeGreaterThanOrEqual(15);
  });
});
