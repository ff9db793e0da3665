/*
 * join.h - waiting for a thread with a bound, for the unit tests whose subject is that something
 * ends in time (a stop, a reset): a thread that never ends fails the check instead of hanging.
 * Needs _GNU_SOURCE (pthread_timedjoin_np) before the first include.
 */
#ifndef VELEIRO_JOIN_H
#define VELEIRO_JOIN_H

#include <pthread.h>
#include <stdbool.h>
#include <time.h>

/* Wait up to ms for thread t to end; true if it did. */
static inline bool join_within(pthread_t t, long ms)
{
	struct timespec until;

	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += ms / 1000;
	until.tv_nsec += (ms % 1000) * 1000000L;
	if (until.tv_nsec >= 1000000000L) {
		until.tv_sec++;
		until.tv_nsec -= 1000000000L;
	}
	return pthread_timedjoin_np(t, NULL, &until) == 0;
}

#endif
