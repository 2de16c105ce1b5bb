/* tests/unit/td_vectors.h -- RFC 8448 values for unit tests, read from
 * TD_VECTORS_DIR "/rfc8448.tsv" with the self-check's own loader
 * (engine/selfcheck/selfcheck_tsv.h). Include after td_test.h. */
#ifndef TD_VECTORS_H
#define TD_VECTORS_H

#include "selfcheck/selfcheck_tsv.h"
#include "td_test_file.h"

static td_tsv td_vec_tsv;

static inline int td_vec_load(void)
{
    size_t len = 0;
    char *text = td_test_read(TD_VECTORS_DIR "/rfc8448.tsv", &len);
    if (text == NULL)
        return -1;
    char err[256];
    td_err e = td_selfcheck_tsv_parse("rfc8448.tsv", text, len, &td_vec_tsv, err, sizeof(err));
    free(text); /* the table keeps its own copy */
    return e == TD_OK ? 0 : -1;
}

static inline void td_vec_free(void) { td_selfcheck_tsv_free(&td_vec_tsv); }

/* The row printed at |section| |step| under |name|; NULL if absent. */
static inline const td_tsv_row *td_vec_find(int section, int step, const char *name)
{
    for (size_t i = 0; i < td_vec_tsv.num_rows; i++) {
        const td_tsv_row *r = &td_vec_tsv.rows[i];
        if (r->section == section && r->step == step && r->name != NULL &&
            strcmp(r->name, name) == 0)
            return r;
    }
    return NULL;
}

/* The same, but it aborts the test program if absent (a vectors file
 * without it is a broken fixture). */
static inline const td_tsv_row *td_vec(int section, int step, const char *name)
{
    const td_tsv_row *r = td_vec_find(section, step, name);
    if (r != NULL)
        return r;
    fprintf(stderr, "vector §%d step %d '%s' not found\n", section, step, name);
    abort();
}

#define TD_VEC_DATA(sec, step, name) td_vec((sec), (step), (name))->data
#define TD_VEC_LEN(sec, step, name) td_vec((sec), (step), (name))->len

#endif
