/* tlsdrill/bugs.h -- the misbehaviour knobs of engine/bugs.def as a struct,
 * and lookup by name (for scenario files and fuzzers). */
#ifndef TLSDRILL_BUGS_H
#define TLSDRILL_BUGS_H

#include <stdbool.h>
#include <stddef.h>

typedef struct td_bugs {
#define TD_BUG(name, type, doc) type name;
#include "../../bugs.def"
#undef TD_BUG
} td_bugs;

typedef struct td_bug_info {
    const char *name;
    const char *doc;
    size_t offset;            /* of the field in td_bugs */
} td_bug_info;

/* The table of knobs, in bugs.def order; |*out_num| gets its length. */
const td_bug_info *td_bugs_list(size_t *out_num);
/* Sets the boolean knob |name| to |on|; false if there is no such knob. */
bool td_bugs_set(td_bugs *bugs, const char *name, bool on);

#endif
