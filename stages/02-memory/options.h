/*
 * options.h - what the command line asks of this stage; options.c reads it.
 */
#ifndef VELEIRO_OPTIONS_H
#define VELEIRO_OPTIONS_H

#include <stdint.h>

struct options {
	uint64_t ram_size;
	const char *guest;
};

/* Fill o from argv; a mistake gets one line on stderr and a non-zero exit. */
void options_parse(int argc, char **argv, struct options *o);

#endif
