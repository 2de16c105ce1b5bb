/* engine/bugs.c -- the misbehaviour knobs by name (engine/bugs.def). */
#include <stddef.h>
#include <string.h>

#include "tlsdrill/bugs.h"

static const td_bug_info bug_table[] = {
#define TD_BUG(name, type, doc) {#name, doc, offsetof(td_bugs, name)},
#include "bugs.def"
#undef TD_BUG
};

const td_bug_info *td_bugs_list(size_t *out_num)
{
    *out_num = sizeof(bug_table) / sizeof(bug_table[0]);
    return bug_table;
}

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
