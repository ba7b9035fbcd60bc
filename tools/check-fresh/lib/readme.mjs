// The README's set-up commands: the first two ```sh blocks of README.md, taken at run time so that
// CI and the fresh-root check run exactly what a newcomer copies.
import { readFileSync } from 'node:fs'

/**
 * The contents of the first `count` fenced ```sh blocks of a markdown text.
 * @param {string} markdown
 * @param {number} [count]
 * @returns {string[]}
 */
export function readmeCommands(markdown, count = 2) {
  const blocks = [...markdown.matchAll(/^```sh\n([\s\S]*?)^```$/gm)].map((m) =>
    /** @type {string} */ (m[1]).trim(),
  )
  if (blocks.length < count)
    throw new Error(`README.md has ${blocks.length} \`\`\`sh blocks, expected at least ${count}`)
  return blocks.slice(0, count)
}

/**
 * The README's commands of the repository at `root`.
 * @param {string} root
 */
export function repoReadmeCommands(root) {
  return readmeCommands(readFileSync(`${root}/README.md`, 'utf8'))
}
