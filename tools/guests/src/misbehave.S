/*
 * Guests that misbehave on purpose, for the VMM's error paths:
 *   TRIPLE_FAULT: an empty IDT and a trap (KVM_EXIT_SHUTDOWN);
 *   SPIN: a tight loop that never exits to the VMM;
 *   HANG: interrupts off and hlt, so the vCPU sleeps in the kernel for ever.
 * Each first writes one line to the console so the VMM has seen it start.
 */
	.section .text.start, "ax"
	.globl _start
_start:
	cli
	lea msg, %esi
	movw $0xe9, %dx
1:	movb (%esi), %al
	testb %al, %al
	jz 2f
	outb %al, %dx
	incl %esi
	jmp 1b
2:
#if defined(TRIPLE_FAULT)
	lidt idt_none
	int3
#elif defined(SPIN)
3:	jmp 3b
#else
3:	hlt
	jmp 3b
#endif

	.section .rodata
msg:
#if defined(TRIPLE_FAULT)
	.asciz "triple-fault guest: faulting now\n"
#elif defined(SPIN)
	.asciz "spin guest: spinning now\n"
#else
	.asciz "hang guest: halting with interrupts off\n"
#endif
	.align 8
idt_none:
	.word 0
	.quad 0
