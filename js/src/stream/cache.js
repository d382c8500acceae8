// A least-recently-used cache of decoded chunks with a budget in bytes (pure).

export class ChunkCache {
  /** `budget`: the most bytes the values may take together. */
  constructor(budget) {
    this.budget = budget;
    this.bytes = 0;
    this.entries = new Map(); // key -> {value, bytes}; a Map keeps insertion order: oldest first
  }

  get(key) {
    const entry = this.entries.get(key);
    if (!entry) return undefined;
    this.entries.delete(key); // most recently used: last
    this.entries.set(key, entry);
    return entry.value;
  }

  /** Keep `value` (of `bytes` bytes), dropping the least recently used entries over the budget. */
  set(key, value, bytes) {
    this.delete(key);
    if (bytes > this.budget) return; // larger than the whole cache: not kept
    this.entries.set(key, { value, bytes });
    this.bytes += bytes;
    this.shrink();
  }

  delete(key) {
    const entry = this.entries.get(key);
    if (!entry) return;
    this.entries.delete(key);
    this.bytes -= entry.bytes;
  }

  /** A new budget; entries over it go. */
  resize(budget) {
    this.budget = budget;
    this.shrink();
  }

  shrink() {
    for (const key of this.entries.keys()) {
      if (this.bytes <= this.budget) break;
      this.delete(key);
    }
  }
}
