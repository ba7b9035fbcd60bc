// The encoder against C: a generated C program fills `struct kvm_irq_routing` from the installed
// <linux/kvm.h> for the same tables (calloc, then field by field, as a C VMM does) and writes the
// bytes; they must equal encodeRouting's, and decode back to the tables.
import { execFileSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import fc from 'fast-check'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  decodeRouting,
  defaultIrqchipRoutes,
  encodeRouting,
  normalizeEntry,
  type RoutingEntry,
} from '../src/index.js'
import { anyTable } from './arbitraries.js'

const fixed: RoutingEntry[][] = [
  [],
  defaultIrqchipRoutes(),
  [
    { gsi: 0, type: 'irqchip', irqchip: 0, pin: 7 },
    { gsi: 24, type: 'msi', addressLo: 0xfee0_1000, addressHi: 0x1, data: 0x4031 },
    { gsi: 25, type: 'msi', addressLo: 0xfee0_2000, addressHi: 0, data: 0x22, devid: 0 },
    {
      gsi: 26,
      type: 'msi',
      addressLo: 0,
      addressHi: 0xffff_ffff,
      data: 0xffff_ffff,
      devid: 0xbeef,
    },
    {
      gsi: 27,
      type: 's390Adapter',
      indAddr: 0xffff_ffff_ffff_ffffn,
      summaryAddr: 0x0123_4567_89ab_cdefn,
      indOffset: 0x8000_0000_0000_0001n,
      summaryOffset: 0xffff_fffe,
      adapterId: 42,
    },
    { gsi: 28, type: 'hvSint', vcpu: 3, sint: 15 },
    { gsi: 29, type: 'xenEvtchn', port: 3, vcpu: 0 },
    { gsi: 30, type: 'xenEvtchn', port: 0xffff_ffff, vcpu: 7, priority: 0 },
    { gsi: 0xffff_ffff, type: 'xenEvtchn', port: 4095, vcpu: 1, priority: 0xffff_ffff },
  ],
]
const random = fc.sample(anyTable, { seed: 0x15c0ffee, numRuns: 40 })
const tables = [...fixed, ...random]

const u = (n: number) => `${n}u`
const ull = (n: bigint) => `${n}ull`

/** C statements that fill entry `i` of `e` (a struct kvm_irq_routing_entry *). */
function fillEntry(entry: RoutingEntry, i: number): string {
  const e = `e[${i}]`
  const head = `${e}.gsi = ${u(entry.gsi)};`
  switch (entry.type) {
    case 'irqchip':
      return `${head} ${e}.type = KVM_IRQ_ROUTING_IRQCHIP; ${e}.u.irqchip.irqchip = ${u(entry.irqchip)}; ${e}.u.irqchip.pin = ${u(entry.pin)};`
    case 'msi':
      return [
        `${head} ${e}.type = KVM_IRQ_ROUTING_MSI;`,
        `${e}.u.msi.address_lo = ${u(entry.addressLo)}; ${e}.u.msi.address_hi = ${u(entry.addressHi)}; ${e}.u.msi.data = ${u(entry.data)};`,
        entry.devid === undefined
          ? ''
          : `${e}.flags = KVM_MSI_VALID_DEVID; ${e}.u.msi.devid = ${u(entry.devid)};`,
      ].join(' ')
    case 's390Adapter':
      return [
        `${head} ${e}.type = KVM_IRQ_ROUTING_S390_ADAPTER;`,
        `${e}.u.adapter.ind_addr = ${ull(entry.indAddr)}; ${e}.u.adapter.summary_addr = ${ull(entry.summaryAddr)};`,
        `${e}.u.adapter.ind_offset = ${ull(entry.indOffset)}; ${e}.u.adapter.summary_offset = ${u(entry.summaryOffset)};`,
        `${e}.u.adapter.adapter_id = ${u(entry.adapterId)};`,
      ].join(' ')
    case 'hvSint':
      return `${head} ${e}.type = KVM_IRQ_ROUTING_HV_SINT; ${e}.u.hv_sint.vcpu = ${u(entry.vcpu)}; ${e}.u.hv_sint.sint = ${u(entry.sint)};`
    case 'xenEvtchn':
      return [
        `${head} ${e}.type = KVM_IRQ_ROUTING_XEN_EVTCHN;`,
        `${e}.u.xen_evtchn.port = ${u(entry.port)}; ${e}.u.xen_evtchn.vcpu = ${u(entry.vcpu)};`,
        `${e}.u.xen_evtchn.priority = ${entry.priority === undefined ? 'KVM_IRQ_ROUTING_XEN_EVTCHN_PRIO_2LEVEL' : u(entry.priority)};`,
      ].join(' ')
  }
}

function program(all: RoutingEntry[][]): string {
  const blocks = all.map(
    (t, k) => `  {
    struct kvm_irq_routing *r = table(${t.length}u);
    struct kvm_irq_routing_entry *e = r->entries;
    (void)e;
${t.map((entry, i) => `    ${fillEntry(entry, i)}`).join('\n')}
    emit(dir, ${k}, r);
  }`,
  )
  return `#include <linux/kvm.h>
#include <stdio.h>
#include <stdlib.h>

_Static_assert(sizeof(struct kvm_irq_routing) == 8, "header");
_Static_assert(sizeof(struct kvm_irq_routing_entry) == 48, "entry");

static struct kvm_irq_routing *table(unsigned nr)
{
  struct kvm_irq_routing *r = calloc(1, sizeof(*r) + nr * sizeof(r->entries[0]));
  if (!r) exit(2);
  r->nr = nr;
  r->flags = 0;
  return r;
}

static void emit(const char *dir, int k, struct kvm_irq_routing *r)
{
  char path[4096];
  snprintf(path, sizeof(path), "%s/%d.bin", dir, k);
  FILE *f = fopen(path, "wb");
  if (!f || fwrite(r, 1, sizeof(*r) + r->nr * sizeof(r->entries[0]), f) == 0 || fclose(f)) exit(3);
  free(r);
}

int main(int argc, char **argv)
{
  if (argc != 2) return 1;
  const char *dir = argv[1];
${blocks.join('\n')}
  return 0;
}
`
}

let dir: string

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'irq-routing-c-'))
  writeFileSync(join(dir, 'fill.c'), program(tables))
  execFileSync('gcc', [
    '-std=c11',
    '-O1',
    '-Wall',
    '-Werror',
    '-o',
    join(dir, 'fill'),
    join(dir, 'fill.c'),
  ])
  execFileSync(join(dir, 'fill'), [dir])
})

afterAll(() => rmSync(dir, { recursive: true, force: true }))

describe('encodeRouting equals C filling struct kvm_irq_routing', () => {
  it('covers every entry type and both MSI flag states', () => {
    const kinds = new Set(
      tables.flat().map((e) => (e.type === 'msi' && e.devid !== undefined ? 'msi+devid' : e.type)),
    )
    expect([...kinds].sort()).toEqual([
      'hvSint',
      'irqchip',
      'msi',
      'msi+devid',
      's390Adapter',
      'xenEvtchn',
    ])
  })

  it.each(tables.map((t, k) => [k, t.length, t] as const))(
    'table %d (%d entries): same bytes, and they decode to the table',
    (k, _, t) => {
      const c = new Uint8Array(readFileSync(join(dir, `${k}.bin`)))
      expect(Buffer.from(encodeRouting(t)).toString('hex')).toBe(Buffer.from(c).toString('hex'))
      expect(decodeRouting(c)).toEqual(t.map(normalizeEntry))
    },
  )
})
