// Every constant and offset of ring.ts, wire.ts and errors.ts, checked against Xen's public
// io/xs_wire.h compiled by gcc: the machine's libxen-dev headers, or the same package fetched
// into ~/.cache by tools/xen-headers.mjs when it has none (the project never installs it).
import { execFileSync } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { beforeAll, describe, expect, it } from 'vitest'
import { xenIncludeDir } from '../../../tools/xen-headers.mjs'
import {
  XBT_NULL,
  XENSTORE_ABS_PATH_MAX,
  XENSTORE_CONNECTED,
  XENSTORE_INTERFACE,
  XENSTORE_PAYLOAD_MAX,
  XENSTORE_RECONNECT,
  XENSTORE_REL_PATH_MAX,
  XENSTORE_RING_SIZE,
  XENSTORE_SERVER_FEATURE_ERROR,
  XENSTORE_SERVER_FEATURE_RECONNECTION,
  XenstoreRingError,
  XS_HEADER_SIZE,
  XsErrno,
  XsType,
} from '../src/index.js'

const FIELDS: Record<string, string> = {
  req: 'req',
  rsp: 'rsp',
  reqCons: 'req_cons',
  reqProd: 'req_prod',
  rspCons: 'rsp_cons',
  rspProd: 'rsp_prod',
  serverFeatures: 'server_features',
  connection: 'connection',
  error: 'error',
}

function program(): string {
  const out: string[] = []
  const p = (key: string, expr: string) =>
    out.push(`printf("\\"%s\\": %lld,\\n", "${key}", (long long)(${expr}));`)
  for (const [k, c] of Object.entries(FIELDS))
    p(`off.${k}`, `offsetof(struct xenstore_domain_interface, ${c})`)
  p('off.size', 'sizeof(struct xenstore_domain_interface)')
  p('header', 'sizeof(struct xsd_sockmsg)')
  for (const f of ['type', 'req_id', 'tx_id', 'len'])
    p(`hdr.${f}`, `offsetof(struct xsd_sockmsg, ${f})`)
  for (const name of Object.keys(XsType)) p(`type.${name}`, `XS_${name}`)
  p('type.COUNT', 'XS_TYPE_COUNT')
  for (const c of [
    'RING_SIZE',
    'PAYLOAD_MAX',
    'ABS_PATH_MAX',
    'REL_PATH_MAX',
    'CONNECTED',
    'RECONNECT',
  ])
    p(`c.${c}`, `XENSTORE_${c}`)
  p('c.FEATURE_RECONNECTION', 'XENSTORE_SERVER_FEATURE_RECONNECTION')
  p('c.FEATURE_ERROR', 'XENSTORE_SERVER_FEATURE_ERROR')
  for (const e of Object.keys(XenstoreRingError)) p(`ringerr.${e}`, `XENSTORE_ERROR_${e}`)
  return `#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <xen/io/xs_wire.h>
int main(void) {
  printf("{\\n");
  ${out.join('\n  ')}
  printf("\\"errors\\": [");
  for (unsigned i = 0; i < sizeof(xsd_errors) / sizeof(xsd_errors[0]); i++)
    printf("%s[\\"%s\\", %d]", i ? ", " : "", xsd_errors[i].errstring, xsd_errors[i].errnum);
  printf("]\\n}\\n");
  return 0;
}
`
}

function compileAndRun(includeDir: string): Record<string, unknown> {
  const dir = mkdtempSync(join(tmpdir(), 'xs-wire-'))
  try {
    writeFileSync(join(dir, 'probe.c'), program())
    execFileSync('gcc', [
      '-std=c11',
      '-Wall',
      `-I${includeDir}`,
      '-o',
      join(dir, 'probe'),
      join(dir, 'probe.c'),
    ])
    return JSON.parse(execFileSync(join(dir, 'probe'), { encoding: 'utf8' }))
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

describe('xs_wire.h', () => {
  let c: Record<string, unknown> = {}
  beforeAll(async () => {
    c = compileAndRun(await xenIncludeDir())
  }, 600_000)

  it('struct xenstore_domain_interface offsets and size', () => {
    for (const [k, v] of Object.entries(XENSTORE_INTERFACE))
      expect([k, c[`off.${k}`]]).toEqual([k, v])
    expect(c['c.RING_SIZE']).toBe(XENSTORE_RING_SIZE)
  })

  it('struct xsd_sockmsg: four u32 fields in order', () => {
    expect(c.header).toBe(XS_HEADER_SIZE)
    expect([c['hdr.type'], c['hdr.req_id'], c['hdr.tx_id'], c['hdr.len']]).toEqual([0, 4, 8, 12])
  })

  it('every message type number', () => {
    for (const [k, v] of Object.entries(XsType)) expect([k, c[`type.${k}`]]).toEqual([k, v])
    expect(c['type.COUNT']).toBe(Math.max(...Object.values(XsType)) + 1)
  })

  it('limits, connection states, features and ring errors', () => {
    expect(c['c.PAYLOAD_MAX']).toBe(XENSTORE_PAYLOAD_MAX)
    expect(c['c.ABS_PATH_MAX']).toBe(XENSTORE_ABS_PATH_MAX)
    expect(c['c.REL_PATH_MAX']).toBe(XENSTORE_REL_PATH_MAX)
    expect(c['c.CONNECTED']).toBe(XENSTORE_CONNECTED)
    expect(c['c.RECONNECT']).toBe(XENSTORE_RECONNECT)
    expect(c['c.FEATURE_RECONNECTION']).toBe(XENSTORE_SERVER_FEATURE_RECONNECTION)
    expect(c['c.FEATURE_ERROR']).toBe(XENSTORE_SERVER_FEATURE_ERROR)
    for (const [k, v] of Object.entries(XenstoreRingError)) expect(c[`ringerr.${k}`]).toBe(v)
    expect(XBT_NULL).toBe(0)
  })

  it('xsd_errors[]: the same names, numbers and order as XsErrno', () => {
    expect(c.errors).toEqual(Object.entries(XsErrno))
  })
})
