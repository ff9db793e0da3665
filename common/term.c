/*
 * term.c - put the controlling terminal into raw mode for a guest console, and put it back.
 *
 * The guest's UART expects single key presses, so the host terminal must stop doing line
 * editing, echo and newline translation (termios(3), "Raw mode"). Leaving a shell in raw mode
 * after the VMM ends is the classic bug, so the saved settings are restored on every way out:
 * exit() through atexit(), and the signals that end a process by default.
 */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <termios.h>
#include <unistd.h>

#include "term.h"

static struct termios term_saved;
static int term_fd = -1;
/* Set while the terminal is raw; read by the signal handler, hence volatile sig_atomic_t. */
static volatile sig_atomic_t term_active;

static const int term_signals[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT };

void term_restore(void)
{
	if (!term_active)
		return;
	/* Restore first, then clear the flag: a signal in between just restores a second time. */
	tcsetattr(term_fd, TCSANOW, &term_saved);
	term_active = 0;
}

/*
 * Only async-signal-safe calls here (signal-safety(7)): tcsetattr, signal, raise. The signal is
 * blocked while its handler runs, so raise() takes effect as soon as the handler returns, now
 * with the default action (terminate, or core dump for SIGQUIT).
 */
static void term_on_signal(int sig)
{
	term_restore();
	signal(sig, SIG_DFL);
	raise(sig);
}

static void term_install_handlers(void)
{
	static int installed;
	struct sigaction sa = { .sa_handler = term_on_signal };

	if (installed)
		return;
	installed = 1;
	atexit(term_restore);
	sigemptyset(&sa.sa_mask);
	for (unsigned int i = 0; i < sizeof(term_signals) / sizeof(term_signals[0]); i++) {
		struct sigaction old;

		/* A signal the user chose to ignore (nohup ignores SIGHUP) stays ignored. */
		if (sigaction(term_signals[i], NULL, &old) == 0 && old.sa_handler == SIG_IGN)
			continue;
		sigaction(term_signals[i], &sa, NULL);
	}
}

int term_raw(int fd)
{
	struct termios raw;

	if (!isatty(fd) || term_active)
		return 0;
	if (tcgetattr(fd, &term_saved) < 0)
		return -errno;
	term_install_handlers();

	raw = term_saved;
	/* Input: bytes arrive unchanged; CR stays CR (the guest's getty expects it), no XON/XOFF. */
	raw.c_iflag &= ~(IGNBRK | BRKINT | PARMRK | ISTRIP | INLCR | IGNCR | ICRNL | IXON);
	/*
	 * Output post-processing (OPOST, with its "\n" -> "\r\n") stays on: bare-metal guests print
	 * bare "\n", and a guest that sends "\r\n" itself, as Linux does, loses nothing by it.
	 */
	/* 8-bit characters, no parity. */
	raw.c_cflag &= ~(CSIZE | PARENB);
	raw.c_cflag |= CS8;
	/*
	 * Local: no echo (the guest echoes), no line editing, no Ctrl-V quoting. ISIG stays on on
	 * purpose: there is no escape key sequence here, so Ctrl-C (SIGINT) and Ctrl-\ (SIGQUIT) are
	 * how a user stops a VMM whose guest hangs. The price is that the guest never sees Ctrl-C.
	 * Ctrl-Z is passed to the guest instead: suspending the VMM would leave the shell raw.
	 */
	raw.c_lflag &= ~(ECHO | ECHONL | ICANON | IEXTEN);
	raw.c_cc[VSUSP] = _POSIX_VDISABLE;
	/* read() returns as soon as one byte is there. */
	raw.c_cc[VMIN] = 1;
	raw.c_cc[VTIME] = 0;

	/* Mark active before switching, so a signal arriving in between still restores. */
	term_fd = fd;
	term_active = 1;
	if (tcsetattr(fd, TCSANOW, &raw) < 0) {
		int err = -errno;

		term_active = 0;
		return err;
	}
	return 0;
}
