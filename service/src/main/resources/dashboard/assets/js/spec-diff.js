// Which spec fields differ between jobs: each spec flattened to its leaves ("init.freeze", "model.layers[1].units").

/** {path: value} of every leaf of a JSON value; an empty object or array is a leaf of its own. */
export function flatten(value, path = "", out = {}) {
  if (Array.isArray(value) && value.length) value.forEach((v, i) => flatten(v, `${path}[${i}]`, out));
  else if (value && typeof value === "object" && !Array.isArray(value) && Object.keys(value).length) {
    for (const [k, v] of Object.entries(value)) flatten(v, path ? path + "." + k : k, out);
  } else out[path] = value;
  return out;
}

/**
 * The fields whose values are not the same in every spec (missing in one counts as different), in the order they
 * first appear: [{path, values: [one per spec, undefined where missing]}]. The name is left out: it always differs
 * and the table's columns already say which job is which.
 */
export function differences(specs) {
  const flat = specs.map((s) => flatten(s || {}));
  const paths = [...new Set(flat.flatMap((f) => Object.keys(f)))].filter((p) => p !== "name");
  return paths.map((path) => ({ path, values: flat.map((f) => (Object.hasOwn(f, path) ? f[path] : undefined)) }))
    .filter((d) => new Set(d.values.map((v) => JSON.stringify(v))).size > 1);
}
