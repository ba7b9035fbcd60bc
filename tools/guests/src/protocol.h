/*
 * The guest <-> tsvmm protocol over I/O ports (documented in ../README.md).
 * Shared by every guest build; the VMM side lives in apps/vmm/src/guest-protocol.ts.
 * None of these ports belong to the in-kernel irqchip (0x20-0x21, 0xa0-0xa1, 0x40-0x43, 0x61,
 * 0x4d0-0x4d1), so each OUT reaches userspace.
 */
#ifndef TSVMM_PROTOCOL_H
#define TSVMM_PROTOCOL_H

#include <stdint.h>

/* OUT byte: one console character (the 0xE9 "debug console" convention of Bochs and QEMU). */
#define TSVMM_PORT_CONSOLE 0x00e9
/* OUT dword: guest-physical address of a struct tsvmm_result. */
#define TSVMM_PORT_RESULT 0x0510
/* OUT dword: guest-physical address of a struct tsvmm_backend_req; handled before the OUT retires. */
#define TSVMM_PORT_BACKEND 0x0514
/* OUT dword: the bench guest's exit counter (any value; the VMM only counts the exits). */
#define TSVMM_PORT_BENCH 0x0518

#define TSVMM_RESULT_MAGIC 0x52565354u /* "TSVR" */
#define TSVMM_RESULT_PASS 0u
#define TSVMM_RESULT_FAIL 1u

#define TSVMM_NAME_LEN 32
#define TSVMM_MESSAGE_LEN 96

/* One named check result. Strings are NUL-terminated within their arrays. 140 bytes. */
struct tsvmm_result {
	uint32_t magic;
	uint32_t vcpu;   /* the reporting vCPU */
	uint32_t status; /* TSVMM_RESULT_PASS or TSVMM_RESULT_FAIL */
	int32_t detail;  /* a number that explains the result (an errno, a count) */
	char name[TSVMM_NAME_LEN];
	char message[TSVMM_MESSAGE_LEN];
};

#define TSVMM_BACKEND_MAGIC 0x42565354u /* "TSVB" */
/* Backend requests: the VMM plays the other domain (domid 0) of an interdomain channel. */
#define TSVMM_BACKEND_BIND 1          /* bind to the guest's unbound port `port` (remote_dom 0) */
#define TSVMM_BACKEND_SEND_IRQFD 2    /* send `count` events through an eventfd + irqfd route */
#define TSVMM_BACKEND_SEND_ENGINE 3   /* send `count` events through the event channel engine */
#define TSVMM_BACKEND_RECEIVED 4      /* `count` <- events the backend has received from the guest */
#define TSVMM_BACKEND_CLOSE 5         /* close the backend's end */
#define TSVMM_BACKEND_NOTIFY_LATER 6  /* notify the port once, `count` us from now (1..1000000) */
#define TSVMM_BACKEND_NOTIFY_TIME 7   /* Xen system time (ns) of that notify: count = low, backend_port = high */

/* A backend request; the VMM writes status (0 or a negative errno) and count back. 24 bytes. */
struct tsvmm_backend_req {
	uint32_t magic;
	uint32_t op;
	uint32_t port;  /* the guest's port */
	uint32_t count; /* in: events to send; out: events received (TSVMM_BACKEND_RECEIVED) */
	int32_t status; /* out */
	uint32_t backend_port; /* out: the backend's own port after BIND */
};

#endif
