import { LRUCache } from 'lru-cache';

/** How many different answers (e.g. page sizes) one shared read keeps. */
const KEYS = 16;

/**
 * An answer every caller shares (an aggregate over the whole fleet or queue), computed at most once
 * per `maxAgeMs` and key in this replica: callers within that age get the stored answer, and
 * callers that arrive while it is being computed wait for that one computation instead of starting
 * their own. So its cost follows time, not the number of callers. A failed computation is not
 * kept. With `maxAgeMs` 0 every call computes.
 */
export class SharedRead<T extends object, K extends string | number = string> {
  private readonly cache: LRUCache<K, T> | undefined;

  constructor(
    private readonly compute: (key: K) => Promise<T>,
    maxAgeMs: number,
  ) {
    this.cache =
      maxAgeMs > 0
        ? new LRUCache<K, T>({ max: KEYS, ttl: maxAgeMs, fetchMethod: (key) => compute(key) })
        : undefined;
  }

  async get(key: K): Promise<T> {
    if (!this.cache) {
      return this.compute(key);
    }
    // fetchMethod returns an answer or throws, so fetch() never resolves to undefined.
    return (await this.cache.fetch(key))!;
  }
}
