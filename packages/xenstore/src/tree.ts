// The node tree, persistent: a change copies the nodes on the path from the root to the change
// and shares everything else. A transaction is then just the root it started from, and its
// isolation costs nothing until it writes (QEMU's xenstore_impl.c gets the same effect with
// refcounted copy-on-write nodes).

import type { XsPerm } from './perms.js'

/** One node: its value, permissions, children and generation count. Never mutated. */
export interface XsNode {
  /** The value, any bytes (empty for a directory-only node). */
  readonly value: Uint8Array
  /** Permissions, owner first; never empty. */
  readonly perms: readonly XsPerm[]
  /** Children by name. */
  readonly children: ReadonlyMap<string, XsNode>
  /** Bumped when a child is added or removed (DIRECTORY_PART's `<gencnt>`). */
  readonly gencnt: number
}

/**
 * The value of a node made as a parent on the way to a written node. Written values are always
 * fresh copies, so a commit can tell scaffolding from a node written empty.
 */
export const EMPTY_VALUE: Uint8Array = new Uint8Array(0)
const NO_CHILDREN: ReadonlyMap<string, XsNode> = new Map()

/** A new node with no children. */
export function makeNode(perms: readonly XsPerm[], value: Uint8Array = EMPTY_VALUE): XsNode {
  return { value, perms, children: NO_CHILDREN, gencnt: 0 }
}

/** The node at `elements` under `root`, or `undefined`. */
export function lookup(root: XsNode, elements: readonly string[]): XsNode | undefined {
  let n: XsNode | undefined = root
  for (const e of elements) {
    n = n.children.get(e)
    if (n === undefined) return undefined
  }
  return n
}

/** The nodes from the root down to `elements` (as far as they exist). */
export function walk(root: XsNode, elements: readonly string[]): XsNode[] {
  const out = [root]
  let n: XsNode | undefined = root
  for (const e of elements) {
    n = n.children.get(e)
    if (n === undefined) break
    out.push(n)
  }
  return out
}

/** `node` with child `name` set to `child` (or removed, for `undefined`). */
export function withChild(node: XsNode, name: string, child: XsNode | undefined): XsNode {
  const had = node.children.has(name)
  const children = new Map(node.children)
  if (child === undefined) children.delete(name)
  else children.set(name, child)
  // A new or removed child changes the listing: DIRECTORY_PART readers must see a new gencnt.
  const gencnt = had === (child !== undefined) ? node.gencnt : node.gencnt + 1
  return { ...node, children, gencnt }
}

/**
 * The tree with the node at `elements` replaced by `replacement` (removed for `undefined`),
 * copying the path above it. Every element but the last must exist.
 */
export function replaceAt(
  root: XsNode,
  elements: readonly string[],
  replacement: XsNode | undefined,
  from = 0,
): XsNode {
  if (from === elements.length) {
    if (replacement === undefined) throw new Error('the root cannot be removed')
    return replacement
  }
  const head = elements[from] as string
  if (from === elements.length - 1) return withChild(root, head, replacement)
  const child = root.children.get(head)
  if (child === undefined) throw new Error(`replaceAt: missing element ${head}`)
  return withChild(root, head, replaceAt(child, elements, replacement, from + 1))
}

/** Calls `visit` for every node under `node` (not `node` itself), children before parents. */
export function forEachDescendant(
  node: XsNode,
  path: string,
  visit: (path: string, node: XsNode) => void,
): void {
  for (const [name, child] of node.children) {
    const p = path === '/' ? `/${name}` : `${path}/${name}`
    forEachDescendant(child, p, visit)
    visit(p, child)
  }
}

/** How many nodes the subtree at `node` holds, `node` included. */
export function countNodes(node: XsNode): number {
  let n = 1
  for (const c of node.children.values()) n += countNodes(c)
  return n
}
