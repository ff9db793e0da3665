/*
 * sve-check.c - does a process's SVE register state survive being preempted by another process
 * that uses SVE too? A static arm64 Linux program for the guest's initramfs (/bin/sve-check).
 *
 * Run two at once on one CPU: each fills z0 with a pattern of its own (bytes seed, seed+1, ...
 * across the whole vector, as long as this CPU's vector length), spins without a system call for
 * a while (a system call may discard the state beyond the low 128 bits: Linux's
 * Documentation/arch/arm64/sve.rst, "System call behaviour"), during which the timer preempts it
 * and the other one runs, and then checks every byte of z0. Each context switch saves and
 * restores z0 in the guest kernel, and KVM saves and restores it again whenever the vCPU thread
 * is scheduled out on the host.
 *
 * Prints "sve-check: vector length N bytes, z0 intact after M preemptions" and exits 0, or says
 * which byte changed and exits 1. Exits 2 where the CPU has no SVE.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <unistd.h>

#ifndef HWCAP_SVE
#define HWCAP_SVE (1 << 22) /* arch/arm64/include/uapi/asm/hwcap.h */
#endif

#define SPINS 200000000UL /* a few seconds of the lab's emulated CPU */
#define VL_MAX 256 /* bytes: the longest vector the architecture allows, 2048 bits */

/* Involuntary context switches so far, from /proc/self/status (after the check: syscalls). */
static long preemptions(void)
{
	char line[128];
	long n = -1;
	FILE *f = fopen("/proc/self/status", "r");

	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "nonvoluntary_ctxt_switches: %ld", &n) == 1)
			break;
	if (f)
		fclose(f);
	return n;
}

int main(int argc, char **argv)
{
	unsigned char got[VL_MAX];
	unsigned int seed = argc > 1 ? (unsigned int)atoi(argv[1]) & 0xff : (unsigned int)getpid();
	unsigned long spins = SPINS, vl;

	if (!(getauxval(AT_HWCAP) & HWCAP_SVE)) {
		puts("sve-check: this CPU has no SVE");
		return 2;
	}
	/* Fill z0, spin with no system call, store z0: one asm block, so nothing touches z0. */
	asm volatile("rdvl	%[vl], #1\n"
		     "index	z0.b, %w[seed], #1\n"
		     "1:	subs	%[spins], %[spins], #1\n"
		     "b.ne	1b\n"
		     "ptrue	p0.b\n"
		     "st1b	{z0.b}, p0, [%[got]]\n"
		     : [vl] "=&r"(vl), [spins] "+r"(spins)
		     : [seed] "r"(seed), [got] "r"(got)
		     : "v0", "p0", "memory", "cc");
	for (unsigned long i = 0; i < vl && i < VL_MAX; i++)
		if (got[i] != (unsigned char)(seed + i)) {
			printf("sve-check: z0 byte %lu is 0x%02x, not 0x%02x\n", i, got[i],
			       (unsigned char)(seed + i));
			return 1;
		}
	printf("sve-check: vector length %lu bytes, z0 intact after %ld preemptions\n", vl,
	       preemptions());
	return 0;
}
