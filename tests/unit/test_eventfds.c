/* unit-test sources: stages/09-linux-boot/eventfds.c */
/*
 * test_eventfds.c - when stage 09 takes virtio's fast path (eventfds.c): only when asked to and
 * when KVM offers both KVM_CAP_IOEVENTFD and KVM_CAP_IRQFD, with one line that says which path.
 * A file that is not /dev/kvm answers no KVM_CHECK_EXTENSION, as a KVM without the capabilities
 * would, so the fallback is tested on any host; and registering an eventfd with something that
 * is not a VM fails with an error, not a crash.
 */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "check.h"
#include "eventfds.h"
#include "log.h"

/* Run choose() with stderr in a file; returns its result and puts what it printed in out. */
static bool choose_quietly(int kvm, bool no_ioeventfd, char *out, size_t len)
{
	FILE *f = tmpfile();
	int saved = dup(STDERR_FILENO);
	bool fast;
	size_t n;

	fflush(stderr);
	dup2(fileno(f), STDERR_FILENO);
	fast = eventfds_choose(kvm, no_ioeventfd);
	fflush(stderr);
	dup2(saved, STDERR_FILENO);
	close(saved);
	rewind(f);
	n = fread(out, 1, len - 1, f);
	out[n] = '\0';
	fclose(f);
	return fast;
}

int main(void)
{
	int not_kvm = open("/dev/null", O_RDWR);
	int efd = eventfd(0, 0);
	char said[512];

	log_level = 1;
	/* Asked for the slow path: it is taken, whatever KVM offers, and the line says why. */
	CHECK(!choose_quietly(not_kvm, true, said, sizeof(said)));
	CHECK(strstr(said,
		     "notifications by MMIO exit, interrupts by KVM_IRQ_LINE (--no-ioeventfd)"));
	/* A KVM without the capabilities: the slow path, with a warning naming them. */
	CHECK(!choose_quietly(not_kvm, false, said, sizeof(said)));
	CHECK(strstr(said, "no KVM_CAP_IOEVENTFD or KVM_CAP_IRQFD"));
	CHECK_EQ(strchr(said, '\n') - said + 1, (long)strlen(said)); /* one line */
	/* Registration with something that is not a VM: -errno back, for the caller's one line. */
	CHECK(ioeventfd_attach(not_kvm, 0x0a000050, 0, efd) < 0);
	CHECK(irqfd_attach(not_kvm, 48, efd) < 0);
	close(efd);
	close(not_kvm);
	return CHECK_DONE("eventfds");
}
