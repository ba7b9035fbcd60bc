// Error messages name the value a caller passed, and that value may be anything: an object
// without a prototype or a Symbol makes String() or a template literal throw a TypeError,
// which would replace the RoutingError the caller is owed.

/** A short, never-throwing rendering of any value for an error message. */
export function describe(value: unknown): string {
  switch (typeof value) {
    case 'string':
      return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value)
    case 'bigint':
      return `${value}n`
    case 'symbol':
      return String(value)
    case 'function':
      return 'a function'
    case 'object':
      if (value === null) return 'null'
      return Array.isArray(value) ? 'an array' : 'an object'
    default:
      return String(value)
  }
}
