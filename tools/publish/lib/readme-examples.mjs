// Turns a README's ```js / ```ts blocks into one program a consumer can run: imports are hoisted
// and merged, and each block is nested inside the previous one's scope, so a block may use what
// an earlier one declared (the READMEs continue examples across headings) and may also
// redeclare a name (a fresh example). Blocks that need a KVM device are left out.

/** Blocks that cannot run without /dev/kvm: the KVM suites run those. */
const NEEDS_KVM = /\bKvm\.open\(|\bnew KvmEvtchn\(/

/**
 * @typedef {object} ReadmeProgram
 * @property {string} code   the ES module
 * @property {number} blocks how many blocks it runs
 * @property {number[]} skipped the README lines of blocks left out (need KVM)
 */

/**
 * @param {string} markdown
 * @param {(ts: string) => string} transpile TypeScript -> JavaScript (types erased)
 * @returns {ReadmeProgram}
 */
export function readmeProgram(markdown, transpile) {
  /** @type {Map<string, { default?: string, namespace?: string, named: Set<string> }>} */
  const imports = new Map()
  /** @type {string[]} */
  const bodies = []
  /** @type {number[]} */
  const skipped = []
  const fence = /^```(js|mjs|javascript|ts|typescript)[ \t]*\n([\s\S]*?)^```[ \t]*$/gm
  for (const m of markdown.matchAll(fence)) {
    const lang = m[1] ?? ''
    const source = m[2] ?? ''
    if (NEEDS_KVM.test(source)) {
      skipped.push(markdown.slice(0, m.index).split('\n').length)
      continue
    }
    let js = lang.startsWith('t') ? transpile(source) : source
    js = js.replace(
      /^import\s+(?:([^'";]*?)\s+from\s+)?(['"])([^'"]+)\2;?[ \t]*$/gm,
      (_all, clause, _q, from) => {
        const entry = imports.get(from) ?? { named: new Set() }
        imports.set(from, entry)
        for (const part of splitClause(clause ?? '')) {
          if (part.startsWith('{')) {
            for (const s of part.slice(1, -1).split(','))
              if (s.trim() && !s.trim().startsWith('type ')) entry.named.add(s.trim())
          } else if (part.startsWith('*')) entry.namespace = part
          else entry.default = part
        }
        return ''
      },
    )
    bodies.push(js)
  }
  const head = [...imports].flatMap(([from, e]) => {
    const lines = []
    if (e.namespace) lines.push(`import ${e.namespace} from '${from}'`)
    const clause = [e.default, e.named.size ? `{ ${[...e.named].join(', ')} }` : '']
      .filter(Boolean)
      .join(', ')
    lines.push(clause ? `import ${clause} from '${from}'` : `import '${from}'`)
    return lines
  })
  const nested = bodies.map((b) => `{\n${b}\n`).join('') + '}\n'.repeat(bodies.length)
  return { code: `${head.join('\n')}\n${nested}`, blocks: bodies.length, skipped }
}

/**
 * `a, { b, c }` -> ['a', '{ b, c }']; `* as ns` -> ['* as ns'].
 * @param {string} clause
 */
function splitClause(clause) {
  const brace = clause.indexOf('{')
  const parts =
    brace < 0 ? clause.split(',') : [...clause.slice(0, brace).split(','), clause.slice(brace)]
  return parts.map((p) => p.trim()).filter(Boolean)
}
