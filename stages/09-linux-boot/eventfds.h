/*
 * eventfds.h - the I/O path production VMMs use: KVM signals an eventfd when the guest notifies a
 * virtio queue (KVM_IOEVENTFD), and injects an interrupt when we signal one (KVM_IRQFD), so
 * neither a notification nor an interrupt needs a vCPU to leave the guest or a thread of ours to
 * make a system call into KVM. virtio_thread.h is the thread on the other end of the eventfds.
 */
#ifndef VELEIRO_EVENTFDS_H
#define VELEIRO_EVENTFDS_H

#include <stdbool.h>
#include <stdint.h>

/*
 * Whether this boot takes the fast path: not when --no-ioeventfd asks for the slow one, nor when
 * KVM lacks KVM_CAP_IOEVENTFD or KVM_CAP_IRQFD. Says which path in one line (info, or a warning
 * when KVM forces the slow one).
 */
bool eventfds_choose(int kvm, bool no_ioeventfd);

/*
 * Have KVM signal fd when the guest writes the 32-bit value `queue` to the QueueNotify register at
 * guest physical address addr; other values still reach us as MMIO exits. 0, or -errno.
 */
int ioeventfd_attach(int vm, uint64_t addr, uint32_t queue, int fd);

/* Have KVM raise the edge-triggered SPI `intid` each time fd is signalled. 0, or -errno. */
int irqfd_attach(int vm, int intid, int fd);

#endif
