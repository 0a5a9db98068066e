// Exponential moving average of a curve, debiased as TensorBoard does: the first points are not pulled towards 0.

/**
 * points: [{x, y}] in x order; weight in [0, 1): 0 is the raw curve, 0.99 nearly flat. A point whose y is not a
 * finite number is kept as it is and does not enter the average.
 */
export function smooth(points, weight) {
  if (!(weight > 0)) return points.map((p) => ({ x: p.x, y: p.y }));
  let last = 0, debias = 0;
  return points.map((p) => {
    if (!Number.isFinite(p.y)) return { x: p.x, y: p.y };
    last = last * weight + (1 - weight) * p.y;
    debias = debias * weight + (1 - weight);
    return { x: p.x, y: last / debias };
  });
}
