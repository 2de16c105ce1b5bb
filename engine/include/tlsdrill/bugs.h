/* tlsdrill/bugs.h -- the misbehaviour knobs of engine/include/tlsdrill/bugs.def as a struct,
 * and lookup by name (for scenario files and fuzzers). */
#ifndef TLSDRILL_BUGS_H
#define TLSDRILL_BUGS_H

#include <stdbool.h>
#include <stddef.h>

typedef struct td_bugs {
#define TD_BUG(name, type, doc) type name;
#include "tlsdrill/bugs.def"
#undef TD_BUG
} td_bugs;

/* Sets the boolean knob |name| to |on|; false if there is no such knob. */
bool td_bugs_set(td_bugs *bugs, const char *name, bool on);

#endif
