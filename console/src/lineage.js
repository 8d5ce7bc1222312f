// A stream's shard lineage drawn as a tree (SVG): one row per generation, each shard a box as wide
// as its hash-key range (so a split draws two children under their parent and a merge one child
// under both), edges from parents to children. Open shards are filled, closed ones outlined.
import { s } from './ui.js';

const MAX_HASH = (1n << 128n) - 1n;

function fraction(key) {
  // 128-bit keys as a fraction of the whole range, to 1e-9 precision.
  return Number((BigInt(key) * 1000000000n) / MAX_HASH) / 1e9;
}

export function shortId(id) {
  return id.replace(/^shardId-0*/, '#').replace(/^#$/, '#0');
}

export function lineage(shards, { width = 900, rowHeight = 54, boxHeight = 30 } = {}) {
  const byId = new Map(shards.map((sh) => [sh.ShardId, sh]));
  const depth = new Map();
  const depthOf = (sh, seen = new Set()) => {
    if (depth.has(sh.ShardId)) return depth.get(sh.ShardId);
    if (seen.has(sh.ShardId)) return 0;
    seen.add(sh.ShardId);
    let d = 0;
    for (const p of [sh.ParentShardId, sh.AdjacentParentShardId]) {
      const parent = p && byId.get(p);
      if (parent) d = Math.max(d, depthOf(parent, seen) + 1);
    }
    depth.set(sh.ShardId, d);
    return d;
  };
  shards.forEach((sh) => depthOf(sh));
  const rows = Math.max(1, ...[...depth.values()].map((d) => d + 1));
  const pad = 8;
  const height = rows * rowHeight + pad;
  const svg = s('svg', { id: 'lineage', class: 'lineage', width: '100%', viewBox: `0 0 ${width} ${height}`, role: 'img' });
  const box = (sh) => {
    const x0 = pad + fraction(sh.HashKeyRange.StartingHashKey) * (width - 2 * pad);
    const x1 = pad + fraction(sh.HashKeyRange.EndingHashKey) * (width - 2 * pad);
    const y = pad + depth.get(sh.ShardId) * rowHeight;
    return { x: x0 + 2, y, w: Math.max(4, x1 - x0 - 4), h: boxHeight };
  };
  for (const sh of shards) {
    const b = box(sh);
    for (const p of [sh.ParentShardId, sh.AdjacentParentShardId]) {
      const parent = p && byId.get(p);
      if (!parent) continue;
      const a = box(parent);
      svg.append(s('path', {
        class: 'edge', 'data-parent': parent.ShardId, 'data-child': sh.ShardId,
        d: `M${a.x + a.w / 2},${a.y + a.h} C${a.x + a.w / 2},${a.y + a.h + 14} ${b.x + b.w / 2},${b.y - 14} ${b.x + b.w / 2},${b.y}`,
      }));
    }
  }
  for (const sh of shards) {
    const b = box(sh);
    const open = !sh.SequenceNumberRange?.EndingSequenceNumber;
    const g = s('g', { class: 'shard ' + (open ? 'open' : 'closed'), 'data-shard': sh.ShardId },
      s('title', {}, `${sh.ShardId} (${open ? 'open' : 'closed'})\nhash keys ${sh.HashKeyRange.StartingHashKey} – ${sh.HashKeyRange.EndingHashKey}`),
      s('rect', { x: b.x, y: b.y, width: b.w, height: b.h, rx: 4 }));
    if (b.w > 34) g.append(s('text', { x: b.x + b.w / 2, y: b.y + b.h / 2 + 4, 'text-anchor': 'middle' }, shortId(sh.ShardId)));
    svg.append(g);
  }
  return svg;
}
