/**
 * The three-snapshot technique for leaks: `node dist/bench/heap-diff.js A B C` (after
 * `npm run build:fast`) prints what was allocated between heap snapshots A and B and is still
 * alive in C, grouped by kind and constructor, largest first, with a retaining path of each of the
 * largest groups as C holds it. A snapshot holds only what is reachable (V8 collects before it
 * writes one), and object ids are stable across snapshots of one process, so what survives from
 * the A–B window into C is what the process keeps. docs/performance.md ("Memory") shows a use.
 */
import { readFileSync } from 'node:fs';

interface RawSnapshot {
  snapshot: {
    meta: {
      node_fields: string[];
      node_types: [string[]];
      edge_fields: string[];
      edge_types: [string[]];
    };
  };
  nodes: number[];
  edges: number[];
  strings: string[];
}

const GROUPS_SHOWN = 40;
const PATHS_SHOWN = 12;
const PATH_DEPTH = 14;

class HeapSnapshot {
  readonly raw: RawSnapshot;
  private readonly nodeWidth: number;
  private readonly field: (name: string) => number;

  constructor(file: string) {
    this.raw = JSON.parse(readFileSync(file, 'utf8')) as RawSnapshot;
    const fields = this.raw.snapshot.meta.node_fields;
    this.nodeWidth = fields.length;
    this.field = (name) => fields.indexOf(name);
  }

  /** Index of each node's first field, in order. */
  *nodeIndexes(): Generator<number> {
    for (let i = 0; i < this.raw.nodes.length; i += this.nodeWidth) {
      yield i;
    }
  }

  id(node: number): number {
    return this.raw.nodes[node + this.field('id')]!;
  }

  size(node: number): number {
    return this.raw.nodes[node + this.field('self_size')]!;
  }

  label(node: number): string {
    const type = this.raw.snapshot.meta.node_types[0][this.raw.nodes[node + this.field('type')]!]!;
    const name = String(this.raw.strings[this.raw.nodes[node + this.field('name')]!]);
    return `${type}: ${type.includes('string') ? '' : name.slice(0, 80)}`;
  }

  ids(): Set<number> {
    const ids = new Set<number>();
    for (const node of this.nodeIndexes()) {
      ids.add(this.id(node));
    }
    return ids;
  }

  /** For each node, a few of the nodes that hold it (weak edges left out), with the edge's name. */
  retainers(): Map<number, { from: number; edge: string }[]> {
    const meta = this.raw.snapshot.meta;
    const edgeWidth = meta.edge_fields.length;
    const [typeAt, nameAt, toAt] = ['type', 'name_or_index', 'to_node'].map((f) =>
      meta.edge_fields.indexOf(f),
    );
    const result = new Map<number, { from: number; edge: string }[]>();
    let edge = 0;
    for (const node of this.nodeIndexes()) {
      const count = this.raw.nodes[node + this.field('edge_count')]!;
      for (let k = 0; k < count; k += 1, edge += edgeWidth) {
        const type = meta.edge_types[0][this.raw.edges[edge + typeAt!]!];
        if (type === 'weak') {
          continue;
        }
        const value = this.raw.edges[edge + nameAt!]!;
        const name = type === 'element' || type === 'hidden' ? `[${value}]` : `.${this.raw.strings[value]}`;
        const to = this.raw.edges[edge + toAt!]!;
        const list = result.get(to) ?? [];
        if (list.length < 4) {
          list.push({ from: node, edge: name });
        }
        result.set(to, list);
      }
    }
    return result;
  }
}

interface Group {
  count: number;
  bytes: number;
  samples: number[];
}

function survivors(c: HeapSnapshot, before: Set<number>, window: Set<number>): Map<string, Group> {
  const groups = new Map<string, Group>();
  for (const node of c.nodeIndexes()) {
    const id = c.id(node);
    if (before.has(id) || !window.has(id)) {
      continue;
    }
    const label = c.label(node);
    const group = groups.get(label) ?? { count: 0, bytes: 0, samples: [] };
    group.count += 1;
    group.bytes += c.size(node);
    if (group.samples.length < 2) {
      group.samples.push(node);
    }
    groups.set(label, group);
  }
  return groups;
}

function retainingPath(
  c: HeapSnapshot,
  retainers: ReturnType<HeapSnapshot['retainers']>,
  node: number,
): string {
  const lines = [c.label(node)];
  const seen = new Set([node]);
  let current = node;
  for (let depth = 0; depth < PATH_DEPTH; depth += 1) {
    const next = (retainers.get(current) ?? []).find((r) => !seen.has(r.from));
    if (!next) {
      break;
    }
    lines.push(`${next.edge} <- ${c.label(next.from)}`);
    seen.add(next.from);
    current = next.from;
  }
  return lines.join('\n    ');
}

function main(): void {
  const files = process.argv.slice(2);
  if (files.length !== 3) {
    console.error('usage: node dist/bench/heap-diff.js A.heapsnapshot B.heapsnapshot C.heapsnapshot');
    process.exit(2);
  }
  // One snapshot in memory at a time: each parses to a few times its file's size.
  const before = new HeapSnapshot(files[0]!).ids();
  const window = new HeapSnapshot(files[1]!).ids();
  const c = new HeapSnapshot(files[2]!);
  const groups = [...survivors(c, before, window).entries()].sort((x, y) => y[1].bytes - x[1].bytes);
  const total = groups.reduce((sum, [, g]) => ({ count: sum.count + g.count, bytes: sum.bytes + g.bytes }), {
    count: 0,
    bytes: 0,
  });
  console.log(
    `allocated between A and B, alive in C: ${total.count} objects, ${(total.bytes / 1024).toFixed(0)} KB`,
  );
  for (const [label, g] of groups.slice(0, GROUPS_SHOWN)) {
    console.log(`${String(g.count).padStart(8)} ${(g.bytes / 1024).toFixed(1).padStart(10)} KB  ${label}`);
  }
  const retainers = c.retainers();
  for (const [, g] of groups.slice(0, PATHS_SHOWN)) {
    console.log(`\n    ${retainingPath(c, retainers, g.samples[0]!)}`);
  }
}

main();
