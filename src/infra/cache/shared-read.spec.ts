import { SharedRead } from './shared-read';

describe('SharedRead', () => {
  const counter = () => {
    let calls = 0;
    const compute = async () => {
      calls++;
      await new Promise((resolve) => setTimeout(resolve, 20));
      return { calls };
    };
    return { compute, calls: () => calls };
  };

  it('computes once for callers that arrive together and within the age, again after it', async () => {
    const { compute, calls } = counter();
    const read = new SharedRead(compute, 100);
    const answers = await Promise.all(Array.from({ length: 8 }, () => read.get('all')));
    expect(new Set(answers).size).toBe(1);
    await read.get('all');
    expect(calls()).toBe(1);
    await new Promise((resolve) => setTimeout(resolve, 120));
    expect(await read.get('all')).toEqual({ calls: 2 });
  });

  it('keeps one answer per key', async () => {
    const read = new SharedRead(async (limit: number) => ({ limit }), 60_000);
    expect(await read.get(10)).toEqual({ limit: 10 });
    expect(await read.get(100)).toEqual({ limit: 100 });
  });

  it('does not keep a failure: the next caller computes again', async () => {
    let fail = true;
    const read = new SharedRead(async () => {
      if (fail) {
        fail = false;
        throw new Error('database went away');
      }
      return { ok: true };
    }, 60_000);
    await expect(read.get('all')).rejects.toThrow('database went away');
    await expect(read.get('all')).resolves.toEqual({ ok: true });
  });

  it('computes on every call with age 0', async () => {
    const { compute, calls } = counter();
    const read = new SharedRead(compute, 0);
    await Promise.all([read.get('all'), read.get('all')]);
    expect(calls()).toBe(2);
  });
});
