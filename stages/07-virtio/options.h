/*
 * options.h - what the command line asks of this stage; options.c reads it.
 */
#ifndef VELEIRO_OPTIONS_H
#define VELEIRO_OPTIONS_H

#include <stdbool.h>
#include <stdint.h>

struct options {
	uint64_t ram_size;
	const char *guest;
	int gic_version; /* 2 or 3; 0: 3 if the host can, else 2 */
	const char *disk; /* --disk FILE[,ro]: the file, without ",ro" */
	bool disk_ro;
	bool virtio_console;
	bool trace;
	bool stats;
};

/* Fill o from argv; a mistake gets one line on stderr and a non-zero exit. */
void options_parse(int argc, char **argv, struct options *o);

#endif
