/*
 * term.h - put the controlling terminal into raw mode for a guest console, and put it back.
 */
#ifndef VELEIRO_TERM_H
#define VELEIRO_TERM_H

/*
 * Make tty fd raw so each key goes to the guest as typed. The old settings come back at
 * exit(), and on SIGINT, SIGTERM, SIGHUP or SIGQUIT before the signal's default action runs.
 * Returns 0 (also, doing nothing, when fd is not a terminal or the terminal is already raw
 * through this module), or -errno.
 */
int term_raw(int fd);

/* Restore the settings saved by term_raw(). Safe to call any number of times. */
void term_restore(void);

#endif
