import { CallGate } from './call-gate';

/** A call that ends when the test says so. */
function pending<T>(): { promise: Promise<T>; resolve: (value: T) => void; reject: (error: Error) => void } {
  let resolve!: (value: T) => void;
  let reject!: (error: Error) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

const settle = () => new Promise((resolve) => setImmediate(resolve));

describe('CallGate', () => {
  it('lets `limit` calls run at once and starts the others in turn as places free', async () => {
    const gate = new CallGate(2);
    const calls = Array.from({ length: 5 }, () => pending<number>());
    const started: number[] = [];
    const results = calls.map((call, i) =>
      gate.run(() => {
        started.push(i);
        return call.promise;
      }),
    );
    const firstFailure = results[0]!.catch((error: unknown) => error);
    await settle();
    expect(started).toEqual([0, 1]);
    expect(gate.inFlight).toBe(2);

    calls[1]!.resolve(1);
    await settle();
    expect(started).toEqual([0, 1, 2]);
    expect(gate.inFlight).toBe(2);

    calls[0]!.reject(new Error('no'));
    await settle();
    expect(started).toEqual([0, 1, 2, 3]);

    calls[2]!.resolve(2);
    calls[3]!.resolve(3);
    await settle();
    expect(started).toEqual([0, 1, 2, 3, 4]);
    calls[4]!.resolve(4);

    expect(await firstFailure).toEqual(new Error('no'));
    await expect(Promise.all(results.slice(1))).resolves.toEqual([1, 2, 3, 4]);
    expect(gate.inFlight).toBe(0);
  });

  it('never has more than `limit` in flight, whatever the order calls end in', async () => {
    const gate = new CallGate(3);
    let now = 0;
    let most = 0;
    await Promise.all(
      Array.from({ length: 40 }, (_, i) =>
        gate.run(async () => {
          now += 1;
          most = Math.max(most, now);
          for (let turn = 0; turn < (i * 7) % 5; turn++) {
            await settle();
          }
          now -= 1;
        }),
      ),
    );
    expect(most).toBe(3);
    expect(gate.inFlight).toBe(0);
  });

  it('refuses a limit below one', () => {
    expect(() => new CallGate(0)).toThrow(/at least 1/);
    expect(() => new CallGate(1.5)).toThrow(/at least 1/);
  });
});
