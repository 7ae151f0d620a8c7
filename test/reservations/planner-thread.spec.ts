import { syntheticFleet } from '../../bench/scale.bench';
import { Planner } from '../../src/reservations/scheduling/planner';
import { schedule } from '../../src/reservations/scheduling/schedule';

/**
 * Admission plans on a thread of its own (the build's plan.worker.js, which the integration tier
 * builds before it runs): the same plan as on the event loop.
 */
describe('the planner thread', () => {
  const planner = new Planner();

  afterAll(() => planner.onModuleDestroy());

  it('makes the plan the event loop would, on its thread', async () => {
    expect(planner.onThread).toBe(true);
    expect(await planner.threadHeap()).toBeUndefined();
    const input = syntheticFleet(2000, 3000, 1000, 5);
    const threaded = await planner.plan(input);
    expect(threaded).toEqual(schedule(input));
    expect(threaded.admit.length + threaded.waiting.length).toBeGreaterThan(0);
    // The plan's requests are the caller's own objects, not copies.
    expect(threaded.order[0]).toBe(input.queued.find((request) => request.id === threaded.order[0]!.id));
  });

  it("reports the thread's own heap, which the process's heap figures leave out", async () => {
    const heap = (await planner.threadHeap())!;
    expect(heap.used_heap_size).toBeGreaterThan(0);
    expect(heap.total_heap_size).toBeGreaterThanOrEqual(heap.used_heap_size);
  });
});
