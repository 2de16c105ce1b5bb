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

td_err td_scn_outcome_digest(td_crypto *crypto, const uint8_t *c2s, size_t c2s_len,
                             const uint8_t *s2c, size_t s2c_len, td_scn_outcome *out)
{
    out->bytes = c2s_len + s2c_len;
    uint8_t lens[16];
    for (int i = 0; i < 8; i++) {
        lens[i] = (uint8_t)((uint64_t)c2s_len >> (56 - 8 * i));
        lens[8 + i] = (uint8_t)((uint64_t)s2c_len >> (56 - 8 * i));
    }
    td_hash_ctx *h = NULL;
    td_err err = td_hash_ctx_new(crypto, TD_HASH_SHA256, &h);
    if (err == TD_OK)
        err = td_hash_ctx_update(h, lens, sizeof(lens));
    if (err == TD_OK && c2s_len > 0)
        err = td_hash_ctx_update(h, c2s, c2s_len);
    if (err == TD_OK && s2c_len > 0)
        err = td_hash_ctx_update(h, s2c, s2c_len);
    if (err == TD_OK)
        err = td_hash_ctx_peek(h, out->digest);
    td_hash_ctx_free(h);
    return err;
}
