/* engine/bugs.c -- the misbehaviour knobs by name (engine/include/tlsdrill/bugs.def). */
#include <stddef.h>
#include <string.h>

#include "tlsdrill/bugs.h"

typedef struct bug_info {
    const char *name;
    const char *doc;
    size_t offset; /* of the field in td_bugs */
} bug_info;

static const bug_info bug_table[] = {
#define TD_BUG(name, type, doc) {#name, doc, offsetof(td_bugs, name)},
#include "tlsdrill/bugs.def"
#undef TD_BUG
};

bool td_bugs_set(td_bugs *bugs, const char *name, bool on)
{
    for (size_t i = 0; i < sizeof(bug_table) / sizeof(bug_table[0]); i++) {
        if (strcmp(bug_table[i].name, name) == 0) {
            /* Every knob is a bool today; bugs.def says so for each. */
            bool *field = (bool *)((unsigned char *)bugs + bug_table[i].offset);
            *field = on;
            return true;
        }
    }
    return false;
}
