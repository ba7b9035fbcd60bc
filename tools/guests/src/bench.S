/*
 * The exit benchmark guest: an endless `out` to the bench port, each one a KVM_EXIT_IO. The VMM
 * (or tools/bench/vmm/exits.c) counts the exits it handles per second. Entered like every guest:
 * long mode with the VMM's identity map, or flat protected mode.
 */
	.section .text.start, "ax"
	.globl _start
_start:
	cli
	xorl %eax, %eax
	movw $0x0518, %dx
1:	outl %eax, %dx
	incl %eax
	jmp 1b
