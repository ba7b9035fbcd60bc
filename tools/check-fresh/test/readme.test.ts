import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { readmeCommands } from '../lib/readme.mjs'

describe('readmeCommands', () => {
  it('takes the first two sh blocks, not other fences', () => {
    const md = [
      '# x',
      '```',
      'not this',
      '```',
      '```sh',
      'npm install -g a && pnpm demo',
      '```',
      'text',
      '```sh',
      'pnpm test',
      '```',
      '```sh',
      'third',
      '```',
    ].join('\n')
    expect(readmeCommands(md)).toEqual(['npm install -g a && pnpm demo', 'pnpm test'])
  })

  it('says how many blocks it found when there are too few', () => {
    expect(() => readmeCommands('```sh\nonly\n```\n')).toThrow(
      /has 1 ```sh blocks, expected at least 2/,
    )
  })

  it("reads this repository's README: install, then the demo; install, then both test tiers", () => {
    const [demo, test] = readmeCommands(
      readFileSync(new URL('../../../README.md', import.meta.url), 'utf8'),
    )
    expect(demo).toMatch(/^npm install -g .*pnpm@[\d.]+ && pnpm install && pnpm demo$/)
    expect(test).toMatch(/&& pnpm test && pnpm test:kvm$/)
  })
})
