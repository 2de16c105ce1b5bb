/* engine/scenario/outcome.c -- names of what a peer observed (td_scn_outcome). */
#include "tlsdrill/scenario.h"

const char *td_scn_end_name(td_scn_end e)
{
    switch (e) {
    case TD_SCN_END_NONE: return "none";
    case TD_SCN_END_CLOSE_NOTIFY: return "close_notify";
    case TD_SCN_END_ALERT: return "alert";
    case TD_SCN_END_EOF: return "eof";
    case TD_SCN_END_RESET: return "reset";
    case TD_SCN_END_TIMEOUT: return "timeout";
    case TD_SCN_END_GARBAGE: return "garbage";
    }
    return "?";
}
