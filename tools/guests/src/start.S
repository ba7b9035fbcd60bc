/*
 * Entry of every tsvmm guest, both widths. The VMM enters at _start on every vCPU at once:
 *   64-bit: long mode, paging on (the VMM's identity map of the first 4 GiB), interrupts off;
 *   32-bit: protected mode, flat segments, no paging, interrupts off.
 * Each vCPU loads the guest's own GDT, picks its stack by its APIC ID (CPUID leaf 1) and calls
 * guest_main(cpu). Also the 256 interrupt stubs, which all funnel into isr_dispatch().
 */
#define MAX_CPUS 8
#define STACK_SHIFT 14

	.section .text.start, "ax"
	.globl _start
_start:
	cli
	cld
	lgdt gdt_ptr
#ifdef __x86_64__
	.code64
	/* No stack yet: reload CS with an indirect far jump (m16:32 works in long mode on AMD and Intel). */
	ljmpl *reload_cs(%rip)
#else
	.code32
	ljmp $0x08, $cs_reloaded
#endif
cs_reloaded:	movl $0x10, %eax
	movl %eax, %ds
	movl %eax, %es
	movl %eax, %ss
	movl %eax, %fs
	movl %eax, %gs
	movl $1, %eax
	xorl %ecx, %ecx
	cpuid
	shrl $24, %ebx
	cmpl $MAX_CPUS, %ebx
	jae park
	leal 1(%ebx), %eax
#ifdef __x86_64__
	shlq $STACK_SHIFT, %rax
	leaq guest_stacks(%rip), %rsp
	addq %rax, %rsp
	movl %ebx, %edi
#else
	shll $STACK_SHIFT, %eax
	leal guest_stacks(%eax), %esp
	pushl %ebx
#endif
	call guest_main
	.globl park
park:	cli
	hlt
	jmp park

/* Interrupt stubs: push a dummy error code where the CPU pushes none, then the vector. */
	.section .text
	.align 16
	.globl isr_stubs
isr_stubs:
	.set vec, 0
	.rept 256
	.align 16
	.if (vec == 8) || ((vec >= 10) && (vec <= 14)) || (vec == 17) || (vec == 21) || (vec == 29) || (vec == 30)
	.else
	push $0
	.endif
	push $vec
	jmp isr_common
	.set vec, vec + 1
	.endr

isr_common:
#ifdef __x86_64__
	pushq %rax
	pushq %rcx
	pushq %rdx
	pushq %rbx
	pushq %rbp
	pushq %rsi
	pushq %rdi
	pushq %r8
	pushq %r9
	pushq %r10
	pushq %r11
	pushq %r12
	pushq %r13
	pushq %r14
	pushq %r15
	movq %rsp, %rdi
	cld
	call isr_dispatch
	popq %r15
	popq %r14
	popq %r13
	popq %r12
	popq %r11
	popq %r10
	popq %r9
	popq %r8
	popq %rdi
	popq %rsi
	popq %rbp
	popq %rbx
	popq %rdx
	popq %rcx
	popq %rax
	addq $16, %rsp
	iretq
#else
	pushal
	movl %esp, %eax
	pushl %eax
	cld
	call isr_dispatch
	addl $4, %esp
	popal
	addl $8, %esp
	iretl
#endif

	.section .rodata
#ifdef __x86_64__
	.align 8
reload_cs:
	.long cs_reloaded
	.word 0x08
#endif
	.align 16
gdt:
	.quad 0
#ifdef __x86_64__
	.quad 0x00af9a000000ffff /* 0x08: 64-bit code */
#else
	.quad 0x00cf9a000000ffff /* 0x08: 32-bit code */
#endif
	.quad 0x00cf92000000ffff /* 0x10: data */
gdt_end:
	.align 8
	.word 0
gdt_ptr:
	.word gdt_end - gdt - 1
#ifdef __x86_64__
	.quad gdt
#else
	.long gdt
#endif

	.section .bss.stacks, "aw", @nobits
	.align 4096
	.globl guest_stacks
guest_stacks:
	.skip (MAX_CPUS + 1) << STACK_SHIFT

	.section .bss.hypercall_page, "aw", @nobits
	.align 4096
	.globl hypercall_page
hypercall_page:
	.skip 4096
