/* engine/selfcheck/selfcheck.c -- replays the RFC 8448 traces through keysched.c and
 * record.c and compares every printed value (see selfcheck.h).
 *
 * Per trace: (1) gather the handshake messages the trace constructs, (2)
 * run the key schedule over them, storing each derivation as the trace
 * prints it (PRK/hash/info/expanded, salt/IKM/secret, key/iv, finished),
 * (3) walk the trace's rows: each printed value is compared with ours, each
 * record is decrypted and re-encrypted (or parsed and re-framed) with the
 * keys of the epoch its sender is in. A row with a value the replay does
 * not understand is a failed check, so nothing is skipped silently. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "selfcheck_int.h"
#include "tlsdrill/file.h"

static const char *const k_titles[TD_SELFCHECK_NUM_SECTIONS] = {
    "Simple 1-RTT Handshake", "Resumed 0-RTT Handshake", "HelloRetryRequest",
    "Client Authentication", "Compatibility Mode",
};

/* ---- report ---- */

void td_selfcheck_check(td_selfcheck_ctx *s, int step, bool ok, const char *name, const char *fmt, ...)
{
    td_selfcheck_report *r = s->run->report;
    if (s->run->oom)
        return;
    if (r->num_items == r->cap_items) {
        size_t nc = r->cap_items ? r->cap_items * 2 : 256;
        td_selfcheck_item *ni = realloc(r->items, nc * sizeof(*ni));
        if (ni == NULL) {
            s->run->oom = true;
            return;
        }
        r->items = ni;
        r->cap_items = nc;
    }
    td_selfcheck_item *it = &r->items[r->num_items++];
    memset(it, 0, sizeof(*it));
    it->section = s->section;
    it->step = step;
    it->ok = ok;
    snprintf(it->name, sizeof(it->name), "%s", name);
    if (fmt != NULL) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(it->detail, sizeof(it->detail), fmt, ap);
        va_end(ap);
    }
    td_selfcheck_section *sec = &r->sections[s->section - TD_SELFCHECK_FIRST_SECTION];
    sec->total++;
    r->total++;
    if (ok) {
        sec->passed++;
        r->passed++;
    }
}

void td_selfcheck_note(td_selfcheck_run *run, const char *fmt, ...)
{
    char *notes = run->report->notes;
    size_t used = strlen(notes), cap = sizeof(run->report->notes);
    if (used + 1 >= cap)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(notes + used, cap - used, fmt, ap);
    va_end(ap);
    used = strlen(notes);
    if (used + 1 < cap) {
        notes[used] = '\n';
        notes[used + 1] = '\0';
    }
}

/* Compares |got| with the row's printed value: one check. */
void td_selfcheck_compare(td_selfcheck_ctx *s, const td_tsv_row *row, const char *what, const uint8_t *got,
                size_t got_len)
{
    char name[112];
    snprintf(name, sizeof(name), "%s %s", row->desc, what);
    if (got == NULL) {
        td_selfcheck_check(s, row->step, false, name, "line %zu: not computed", row->line);
        return;
    }
    if (got_len != row->len) {
        td_selfcheck_check(s, row->step, false, name, "line %zu: %zu bytes, trace has %zu", row->line,
                 got_len, row->len);
        return;
    }
    size_t i = 0;
    while (i < got_len && got[i] == row->data[i])
        i++;
    if (i < got_len)
        td_selfcheck_check(s, row->step, false, name, "line %zu: differs at byte %zu (%02x, trace %02x)",
                 row->line, i, got[i], row->data[i]);
    else
        td_selfcheck_check(s, row->step, true, name, "%zu bytes", got_len);
}

/* ---- computed values ---- */

void td_selfcheck_put(td_selfcheck_ctx *s, td_selfcheck_id id, const char *field, const uint8_t *data, size_t len)
{
    td_selfcheck_value *v = &s->values[id];
    if (v->num == TD_SELFCHECK_MAX_FIELDS)
        return;
    td_selfcheck_field *f = &v->f[v->num++];
    f->name = field;
    f->len = len;
    if (len <= sizeof(f->buf)) {
        if (len)
            memcpy(f->buf, data, len);
        f->data = f->buf;
    } else {
        f->data = data; /* only views into the trace (the ClientHello prefix) */
    }
}

static const td_selfcheck_field *find_field(const td_selfcheck_ctx *s, td_selfcheck_id id, const char *name)
{
    const td_selfcheck_value *v = &s->values[id];
    for (size_t i = 0; i < v->num; i++)
        if (strcmp(v->f[i].name, name) == 0)
            return &v->f[i];
    return NULL;
}

/* Which derivation a trace step prints. Descriptions name the secret; for
 * traffic keys and Finished the side decides (a server's "read" keys are
 * the client's write keys). */
static bool row_value_id(const td_tsv_row *row, td_selfcheck_id *out)
{
    static const struct {
        const char *desc;
        td_selfcheck_id id;
    } exact[] = {
        {"extract secret \"early\":", TD_SELFCHECK_EARLY},
        {"derive secret for handshake \"tls13 derived\":", TD_SELFCHECK_DERIVED_HS},
        {"extract secret \"handshake\":", TD_SELFCHECK_HS},
        {"derive secret \"tls13 c hs traffic\":", TD_SELFCHECK_C_HS},
        {"derive secret \"tls13 s hs traffic\":", TD_SELFCHECK_S_HS},
        {"derive secret for master \"tls13 derived\":", TD_SELFCHECK_DERIVED_MS},
        {"extract secret \"master\":", TD_SELFCHECK_MS},
        {"derive secret \"tls13 c ap traffic\":", TD_SELFCHECK_C_AP},
        {"derive secret \"tls13 s ap traffic\":", TD_SELFCHECK_S_AP},
        {"derive secret \"tls13 exp master\":", TD_SELFCHECK_EXP},
        {"derive secret \"tls13 res master\":", TD_SELFCHECK_RES},
        {"derive secret \"tls13 c e traffic\":", TD_SELFCHECK_C_E},
        {"derive secret \"tls13 e exp master\":", TD_SELFCHECK_E_EXP},
        {"calculate PSK binder:", TD_SELFCHECK_BINDER},
        {"generate resumption secret \"tls13 resumption\":", TD_SELFCHECK_RES_PSK},
        {"derive write traffic keys for early application data:", TD_SELFCHECK_KEYS_C_E},
        {"derive read traffic keys for early application data:", TD_SELFCHECK_KEYS_C_E},
    };
    bool server = row->who == TD_TSV_SERVER;
    for (size_t i = 0; i < sizeof(exact) / sizeof(exact[0]); i++) {
        if (strcmp(row->desc, exact[i].desc) == 0) {
            *out = exact[i].id;
            return true;
        }
    }
    if (strcmp(row->desc, "calculate finished \"tls13 finished\":") == 0) {
        *out = server ? TD_SELFCHECK_FIN_S : TD_SELFCHECK_FIN_C;
        return true;
    }
    if (strcmp(row->desc, "derive write traffic keys for handshake data:") == 0) {
        *out = server ? TD_SELFCHECK_KEYS_S_HS : TD_SELFCHECK_KEYS_C_HS;
        return true;
    }
    if (strcmp(row->desc, "derive read traffic keys for handshake data:") == 0) {
        *out = server ? TD_SELFCHECK_KEYS_C_HS : TD_SELFCHECK_KEYS_S_HS;
        return true;
    }
    if (strcmp(row->desc, "derive write traffic keys for application data:") == 0) {
        *out = server ? TD_SELFCHECK_KEYS_S_AP : TD_SELFCHECK_KEYS_C_AP;
        return true;
    }
    if (strcmp(row->desc, "derive read traffic keys for application data:") == 0) {
        *out = server ? TD_SELFCHECK_KEYS_C_AP : TD_SELFCHECK_KEYS_S_AP;
        return true;
    }
    return false;
}

static bool starts_with(const char *s, const char *prefix)
{
    return strncmp(s, prefix, strlen(prefix)) == 0;
}

static bool ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && strcmp(s + n - m, suffix) == 0;
}

/* One row: a printed value is compared, a record replayed; inputs (private
 * keys, constructed messages) were consumed by the gathering phase. */
static void check_row(td_selfcheck_ctx *s, size_t i)
{
    const td_tsv_row *row = s->rows[i];
    td_selfcheck_id id;
    if (row->name == NULL)
        return; /* "(same as ...)": the trace prints nothing here */
    if (row_value_id(row, &id)) {
        const td_selfcheck_field *f = find_field(s, id, row->name);
        td_selfcheck_compare(s, row, row->name, f ? f->data : NULL, f ? f->len : 0);
        return;
    }
    if (starts_with(row->desc, "create an ephemeral ")) {
        td_selfcheck_check_key_pair_row(s, row);
        return;
    }
    if (starts_with(row->desc, "construct a "))
        return; /* an input: replayed by the schedule, matched against the records */
    if (starts_with(row->desc, "send ") && ends_with(row->desc, " record:")) {
        if (strcmp(row->name, "payload") == 0) {
            const td_tsv_row *rec = NULL;
            if (i + 1 < s->num_rows && s->rows[i + 1]->step == row->step &&
                s->rows[i + 1]->name != NULL && strcmp(s->rows[i + 1]->name, "complete record") == 0)
                rec = s->rows[i + 1];
            td_selfcheck_replay_record(s, row, rec);
            return;
        }
        if (strcmp(row->name, "complete record") == 0) {
            const td_tsv_row *prev = i > 0 ? s->rows[i - 1] : NULL;
            if (prev != NULL && prev->step == row->step && prev->name != NULL &&
                strcmp(prev->name, "payload") == 0)
                return; /* replayed with its payload row */
            td_selfcheck_check(s, row->step, false, row->desc, "line %zu: a record without its payload",
                        row->line);
            return;
        }
    }
    char name[112];
    snprintf(name, sizeof(name), "%s %s", row->desc, row->name);
    td_selfcheck_check(s, row->step, false, name, "line %zu: step not understood by the self-check",
             row->line);
}

/* ---- driver ---- */

static void section_cleanup(td_selfcheck_ctx *s)
{
    for (int side = 0; side < 2; side++) {
        for (int e = 0; e < TD_SELFCHECK_NUM_EPOCHS; e++) {
            td_rec_cipher_cleanup(&s->sides[side].open[e]);
            td_rec_cipher_cleanup(&s->sides[side].seal[e]);
        }
        td_hs_reasm_cleanup(&s->sides[side].reasm);
    }
    free(s->rows);
    td_cleanse(s, sizeof(*s));
}

static void run_section(td_selfcheck_run *run, const td_tsv *tsv, int section)
{
    td_selfcheck_ctx *s = calloc(1, sizeof(*s));
    if (s == NULL) {
        run->oom = true;
        return;
    }
    s->run = run;
    s->section = section;
    s->rows = calloc(tsv->num_rows ? tsv->num_rows : 1, sizeof(*s->rows));
    if (s->rows == NULL) {
        run->oom = true;
        free(s);
        return;
    }
    for (size_t i = 0; i < tsv->num_rows; i++)
        if (tsv->rows[i].section == section)
            s->rows[s->num_rows++] = &tsv->rows[i];
    for (int side = 0; side < 2; side++)
        td_hs_reasm_init(&s->sides[side].reasm, 0);
    if (s->num_rows == 0) {
        td_selfcheck_check(s, -1, false, "trace present", "no rows for RFC 8448 section %d", section);
    } else if (td_selfcheck_gather(s)) {
        td_selfcheck_schedule(s);
        for (size_t i = 0; i < s->num_rows; i++)
            check_row(s, i);
        td_selfcheck_finish_section(s);
    }
    section_cleanup(s);
    free(s);
}

static td_err run_all(const char *name, const char *text, size_t len, td_selfcheck_report *out)
{
    td_tsv tsv;
    td_err ret = td_selfcheck_tsv_parse(name, text, len, &tsv, out->error, sizeof(out->error));
    if (ret != TD_OK)
        return ret;
    td_selfcheck_run run;
    memset(&run, 0, sizeof(run));
    run.report = out;
    ret = td_crypto_new(&run.crypto);
    if (ret == TD_OK) {
        for (int i = 0; i < TD_SELFCHECK_NUM_SECTIONS; i++)
            run_section(&run, &tsv, TD_SELFCHECK_FIRST_SECTION + i);
        if (run.oom)
            ret = TD_ERR_NOMEM;
    }
    td_crypto_free(run.crypto);
    td_cleanse(run.resumption_psk, sizeof(run.resumption_psk));
    td_selfcheck_tsv_free(&tsv);
    return ret;
}

static void report_init(td_selfcheck_report *out)
{
    memset(out, 0, sizeof(*out));
    for (int i = 0; i < TD_SELFCHECK_NUM_SECTIONS; i++) {
        out->sections[i].section = TD_SELFCHECK_FIRST_SECTION + i;
        out->sections[i].title = k_titles[i];
    }
}

td_err td_selfcheck_rfc8448_text(const char *name, const char *text, size_t len,
                                 td_selfcheck_report *out)
{
    if (out == NULL)
        return TD_ERR_ARG;
    report_init(out);
    if (text == NULL && len)
        return TD_ERR_ARG;
    return run_all(name ? name : "<buffer>", text, len, out);
}

#define TD_SELFCHECK_MAX_FILE (8u << 20)

td_err td_selfcheck_rfc8448(const char *tsv_path, td_selfcheck_report *out)
{
    if (out == NULL)
        return TD_ERR_ARG;
    report_init(out);
    if (tsv_path == NULL)
        return TD_ERR_ARG;
    FILE *f = fopen(tsv_path, "rb");
    if (f == NULL) {
        snprintf(out->error, sizeof(out->error), "%s: error: cannot open the vectors file",
                 tsv_path);
        return TD_ERR_IO;
    }
    uint8_t *buf;
    size_t len;
    td_err ret = td_file_read_stream(f, TD_SELFCHECK_MAX_FILE, &buf, &len);
    fclose(f);
    if (ret == TD_ERR_LIMIT) {
        snprintf(out->error, sizeof(out->error), "%s: error: vectors file larger than %u bytes",
                 tsv_path, TD_SELFCHECK_MAX_FILE);
        return TD_ERR_FORMAT;
    }
    if (ret == TD_ERR_IO)
        snprintf(out->error, sizeof(out->error), "%s: error: read error", tsv_path);
    if (ret != TD_OK)
        return ret;
    ret = run_all(tsv_path, (char *)buf, len, out);
    free(buf);
    return ret;
}

bool td_selfcheck_all_passed(const td_selfcheck_report *report)
{
    if (report == NULL || report->total == 0 || report->passed != report->total)
        return false;
    for (int i = 0; i < TD_SELFCHECK_NUM_SECTIONS; i++)
        if (report->sections[i].total == 0)
            return false;
    return true;
}

void td_selfcheck_report_free(td_selfcheck_report *report)
{
    if (report == NULL)
        return;
    free(report->items);
    report->items = NULL;
    report->num_items = report->cap_items = 0;
}
