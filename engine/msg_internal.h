/* engine/msg_internal.h -- private glue between engine/msg.c and engine/ext.c. */
#ifndef TLSDRILL_MSG_INTERNAL_H
#define TLSDRILL_MSG_INTERNAL_H

#include "tlsdrill/msg.h"

/* td_exts_parse with one switch: |legacy_sh| parses a TLS 1.2-or-older
 * ServerHello's block (framing, duplicates and caps only: the §4.2 table is a
 * TLS 1.3 table and the bodies are kept raw). */
td_err td_exts_parse_ex(td_ext_ctx ctx, td_cbs block, const uint8_t *base, bool legacy_sh,
                        td_exts *out, td_ext_data *data, td_diag *diag) TD_WUR;

/* td_exts_parse_ex into a block and data that are already as td_exts_init
 * and td_ext_data_init leave them (zeroed, lists at their inline storage):
 * the message parser's, which zeroed the whole message once. */
td_err td_exts_parse_fresh(td_ext_ctx ctx, td_cbs block, const uint8_t *base, bool legacy_sh,
                           td_exts *out, td_ext_data *data, td_diag *diag) TD_WUR;

/* Points the lists of zeroed typed data at their inline storage (the rest
 * of td_ext_data_init). */
void td_ext_data_point_lists(td_ext_data *data);
/* Whether every list of |data| is at its inline storage (none on the heap). */
bool td_ext_data_lists_inline(const td_ext_data *data);

/* Zeroes the part of |msg| that a message of |type| uses (the header and
 * its member of the union; all of it for an unknown type), as the parser
 * and td_msg_init do before filling it. */
void td_msg_zero(td_msg *msg, uint8_t type);

/* td_exts_build that also reports, for a ClientHello block holding
 * pre_shared_key, where its binders list starts, counted from the first byte
 * of the block's length prefix (SIZE_MAX if there is none). */
td_err td_exts_build_ex(const td_exts *exts, const td_ext_data *data, td_cbb *out,
                        size_t *out_binders_at) TD_WUR;

/* Reads a vector with an |prefix|-byte (1, 2 or 3) length whose byte length
 * must lie in [min, max] (the presentation language's <min..max>); reports
 * GEN-DECODE at the length field (offset relative to |base|). */
td_err td_msg_get_vec(td_cbs *in, const uint8_t *base, int prefix, size_t min, size_t max,
                      td_cbs *out, const char *what, td_diag *diag) TD_WUR;

/* Points every list of |msg|'s type at its inline storage (after td_msg_zero
 * or a memset: it does not zero them again). */
void td_msg_point_lists(td_msg *msg);

/* Writes |v| with an |prefix|-byte length. */
bool td_msg_add_vec(td_cbb *out, int prefix, const td_cbs *v);

#endif
