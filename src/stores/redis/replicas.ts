// The one rule for when a merge is confirmed, for a single Redis and for every shard of a cluster:
// Redis answered it, and `WAIT` reports it on the replicas the shard must have. Without
// `--min-replicas`, that is the number of replicas the shard is configured with, as far as it
// was ever seen: a replica that fails (and drops out of CLUSTER SLOTS or `connected_slaves`)
// never lowers it, so merges are then kept, not "confirmed" by a master whose death would take
// them along. `--min-replicas 0` is the explicit way to accept a master's word alone.
import calculateSlot from 'cluster-key-slot'

/** Slots of a Redis Cluster. */
const SLOTS = 16384

/** A merge that did not reach the replicas it must: it is kept and merged again. */
export class ReplicaShortfall extends Error {
  override name = 'ReplicaShortfall'
  constructor(
    readonly shard: string,
    readonly required: number,
    readonly acknowledged: number,
    waitMs: number,
  ) {
    super(
      `the merge reached ${acknowledged} of ${required} replicas within ${waitMs} ms (WAIT) on ${shard}; kept to merge again until it reaches them`,
    )
  }
}

/** A shard that is short of replicas now. */
export interface Shortfall {
  shard: string
  required: number
  acknowledged: number
}

/** A shard as CLUSTER SHARDS describes it: its slot ranges and its nodes (failed ones too). */
interface Shard {
  slots: [number, number][]
  nodes: number
}

/** Key-value pairs as Redis sends them: a flat array (RESP2) or a map (RESP3), by name. */
function fieldsOf(value: unknown): Map<string, unknown> {
  if (value instanceof Map) return new Map([...value].map(([k, v]) => [String(k), v]))
  if (Array.isArray(value)) {
    const fields = new Map<string, unknown>()
    for (let i = 0; i + 1 < value.length; i += 2) fields.set(String(value[i]), value[i + 1])
    return fields
  }
  return value !== null && typeof value === 'object' ? new Map(Object.entries(value)) : new Map()
}

/** The shards of a `CLUSTER SHARDS` answer (Redis 7); nothing from an answer it cannot read. */
export function parseShards(answer: unknown): Shard[] {
  if (!Array.isArray(answer)) return []
  return answer.flatMap((entry) => {
    const fields = fieldsOf(entry)
    const bounds = fields.get('slots')
    const nodes = fields.get('nodes')
    if (!Array.isArray(bounds) || !Array.isArray(nodes)) return []
    const slots: [number, number][] = []
    for (let i = 0; i + 1 < bounds.length; i += 2) slots.push([Number(bounds[i]), Number(bounds[i + 1])])
    return [{ slots, nodes: nodes.length }]
  })
}

/**
 * How many replicas must hold a merge, per shard, and which shards fall short now.
 * @example
 * const rule = new ReplicaRule(undefined) // --min-replicas not given
 * rule.forSingle(1)   // 1: a replica is connected
 * rule.forSingle(0)   // still 1: it failed, it was not removed
 */
export class ReplicaRule {
  /** `--min-replicas`, when given. */
  readonly explicit: number | undefined
  /** A single Redis: the most replicas it reported since start. */
  #single = 0
  /** A cluster: per slot, the most replicas its shard was seen with since start. */
  readonly #bySlot = new Uint8Array(SLOTS)
  readonly #short = new Map<string, Shortfall>()

  constructor(explicit: number | undefined) {
    this.explicit = explicit
  }

  /** A single Redis: replicas a merge needs, given those it reports now (`connected_slaves`). */
  forSingle(connected: number): number {
    this.#single = Math.max(this.#single, connected)
    return this.explicit ?? this.#single
  }

  /** A cluster: notes how many replicas the shard of these slot ranges has (configured or listed). */
  noteShard(slots: Iterable<[number, number]>, replicas: number): void {
    const n = Math.min(replicas, 255)
    for (const [from, to] of slots) {
      for (let slot = Math.max(0, from); slot <= Math.min(to, SLOTS - 1); slot++) {
        if (this.#bySlot[slot]! < n) this.#bySlot[slot] = n
      }
    }
  }

  /** A cluster: notes every shard of a `CLUSTER SHARDS` answer, failed replicas included. */
  noteShards(answer: unknown): void {
    for (const { slots, nodes } of parseShards(answer)) this.noteShard(slots, nodes - 1)
  }

  /** A cluster: replicas a merge of these keys needs (they are all on one master). */
  forKeys(keys: string[], listedNow: number): number {
    let required = 0
    for (const key of keys) {
      const slot = calculateSlot(key)
      if (this.#bySlot[slot]! < listedNow) this.#bySlot[slot] = Math.min(listedNow, 255)
      required = Math.max(required, this.#bySlot[slot]!)
    }
    return this.explicit ?? required
  }

  /**
   * What a `WAIT` answer means for the merges before it on `shard`: undefined when they are
   * confirmed, else the shortfall (also remembered, for readiness and the metrics, until met).
   */
  judge(shard: string, required: number, acknowledged: number, waitMs: number): ReplicaShortfall | undefined {
    if (acknowledged >= required) {
      this.#short.delete(shard)
      return undefined
    }
    this.#short.set(shard, { shard, required, acknowledged })
    return new ReplicaShortfall(shard, required, acknowledged, waitMs)
  }

  /** Forgets the shortfalls of shards that are not among `current` (a failed-over master's). */
  keepOnly(current: Set<string>): void {
    for (const shard of this.#short.keys()) if (!current.has(shard)) this.#short.delete(shard)
  }

  /** Shards whose last merge fell short of the replicas it needs. */
  shortfalls(): Shortfall[] {
    return [...this.#short.values()]
  }
}
