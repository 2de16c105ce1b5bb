/* engine/scenario/parse.c -- scenario files into cases: matrix expansion,
 * header, steps and expectation, with lint diagnostics (scenarios/README.md
 * is the grammar). Every problem found is reported with its position; the
 * parser goes on to find the next one. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scn_parse.h"
#include "tlsdrill/file.h"

void scn_perr(pctx *p, size_t word, const char *fmt, ...)
{
    char msg[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    int col = 1;
    if (p->line != NULL && p->line->ntok > 0) {
        if (word < p->line->ntok)
            col = p->line->tok[word].col;
        else /* past the last word: just after it */
            col = p->line->tok[p->line->ntok - 1].col + (int)p->line->tok[p->line->ntok - 1].n + 1;
    }
    p->bad = true;
    /* Linting a block whose matrix is broken: words with $VAR were reported already. */
    if (p->discard && word < p->nw && strchr(p->w[word], '$') != NULL)
        return;
    td_err e = scn_diag(p->diags, p->path, p->line, col, "%s", msg);
    if (e != TD_OK)
        p->err = e;
}

static bool is_var_char(char ch)
{
    return ch == '_' || (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
           (ch >= '0' && ch <= '9');
}

/* A variable reference at s[i] == '$': $NAME or ${NAME}. Sets the name's
 * position and length and the index just past the reference. */
static bool var_ref(const char *s, size_t n, size_t i, size_t *name_at, size_t *name_len,
                    size_t *end)
{
    size_t j = i + 1;
    if (j < n && s[j] == '{') {
        size_t k = j + 1;
        while (k < n && is_var_char(s[k]))
            k++;
        if (k >= n || s[k] != '}')
            return false;
        *name_at = j + 1;
        *name_len = k - j - 1;
        *end = k + 1;
        return *name_len > 0;
    }
    while (j < n && is_var_char(s[j]))
        j++;
    *name_at = i + 1;
    *name_len = j - i - 1;
    *end = j;
    return *name_len > 0;
}

/* Expands $VAR and ${VAR} in token |t| with the current matrix choice. */
static bool expand(pctx *p, const scn_tok *t, char *out)
{
    size_t o = 0;
    for (size_t i = 0; i < t->n;) {
        if (t->s[i] == '$') {
            size_t name_at, name_len, end;
            if (var_ref(t->s, t->n, i, &name_at, &name_len, &end)) {
                for (size_t v = 0; v < p->nvars; v++) {
                    const mvar *m = &p->vars[v];
                    if (strlen(m->name) == name_len &&
                        memcmp(m->name, t->s + name_at, name_len) == 0) {
                        const scn_tok *val = &m->vals[p->choice[v]];
                        if (o + val->n >= SCN_MAX_WORD)
                            return false;
                        memcpy(out + o, val->s, val->n);
                        o += val->n;
                        i = end;
                        goto next;
                    }
                }
            }
        }
        if (o + 1 >= SCN_MAX_WORD)
            return false;
        out[o++] = t->s[i++];
    next:;
    }
    out[o] = '\0';
    return true;
}

static bool set_line(pctx *p, const scn_line *l)
{
    p->line = l;
    p->nw = l->ntok;
    for (size_t i = 0; i < l->ntok; i++)
        if (!expand(p, &l->tok[i], p->w[i])) {
            scn_perr(p, i, "word longer than %d characters", SCN_MAX_WORD - 1);
            return false;
        }
    return true;
}

char *scn_sdup(pctx *p, const char *s)
{
    size_t n = strlen(s);
    char *d = malloc(n + 1);
    if (d == NULL)
        p->err = TD_ERR_NOMEM;
    else
        memcpy(d, s, n + 1);
    return d;
}

bool scn_want_args(pctx *p, size_t min, size_t max)
{
    if (p->nw - 1 < min) {
        scn_perr(p, p->nw, "'%s' needs %s argument%s", p->w[0], min == 1 ? "an" : "more",
                 min == 1 ? "" : "s");
        return false;
    }
    if (max != 0 && p->nw - 1 > max) {
        scn_perr(p, max + 1, "unexpected word '%s' after '%s'", p->w[max + 1], p->w[0]);
        return false;
    }
    return true;
}

bool scn_value_at(pctx *p, size_t i, scn_kind kind, uint16_t *out)
{
    if (i >= p->nw) {
        scn_perr(p, i, "expected a %s", scn_kind_name(kind));
        return false;
    }
    if (!scn_value_by_name(kind, p->w[i], out)) {
        char names[320];
        scn_kind_names(kind, names, sizeof(names));
        scn_perr(p, i, "unknown %s '%s' (known: %s)", scn_kind_name(kind), p->w[i], names);
        return false;
    }
    return true;
}

bool scn_number_at(pctx *p, size_t i, uint32_t max, uint32_t *out)
{
    if (i >= p->nw) {
        scn_perr(p, i, "expected a number");
        return false;
    }
    if (!scn_number(p->w[i], max, out)) {
        scn_perr(p, i, "bad number '%s' (0..%u)", p->w[i], (unsigned)max);
        return false;
    }
    return true;
}

bool scn_hex_at(pctx *p, size_t i, uint8_t **out, size_t *out_len)
{
    size_t n = 0, bad = 0;
    if (i >= p->nw) {
        scn_perr(p, i, "expected hex bytes");
        return false;
    }
    /* Decoded into the parser's scratch, then copied at its size: a 70 KB
     * block per edit shrunk in place would leave the heap a hole per edit. */
    if (p->hex == NULL && (p->hex = malloc(SCN_MAX_HEX)) == NULL) {
        p->err = TD_ERR_NOMEM;
        return false;
    }
    const char *why = scn_hex(p->w[i], p->hex, SCN_MAX_HEX, &n, &bad);
    if (why != NULL) {
        const char *w = p->w[i];
        p->bad = true;
        if (p->discard && strchr(w, '$') != NULL)
            return false; /* the broken $VAR was reported */
        char msg[160];
        if (strcmp(why, "not a hex digit") == 0)
            snprintf(msg, sizeof(msg), "bad hex '%.60s': '%c' is not a hex digit", w, w[bad]);
        else
            snprintf(msg, sizeof(msg), "bad hex '%.60s': %s", w, why);
        /* Point at the offending character when the word was not expanded. */
        int col = p->line->tok[i].col;
        if (p->line->tok[i].n == strlen(w))
            col += (int)bad;
        td_err e = scn_diag(p->diags, p->path, p->line, col, "%s", msg);
        if (e != TD_OK)
            p->err = e;
        return false;
    }
    uint8_t *copy = malloc(n ? n : 1);
    if (copy == NULL) {
        p->err = TD_ERR_NOMEM;
        return false;
    }
    memcpy(copy, p->hex, n);
    *out = copy;
    *out_len = n;
    return true;
}

bool scn_ext_at(pctx *p, size_t i, uint16_t *out)
{
    if (i >= p->nw) {
        scn_perr(p, i, "expected an extension name");
        return false;
    }
    if (!scn_ext_by_name(p->w[i], out)) {
        scn_perr(p, i, "unknown extension '%s'", p->w[i]);
        return false;
    }
    return true;
}

/* ---- header: client/server configuration ---- */

static void parse_send(pctx *p)
{
    uint8_t type;
    bool hrr;
    unsigned senders;
    uint32_t nth = 1;
    if (!scn_want_args(p, 1, 2))
        return;
    if (!scn_msg_by_name(p->w[1], &type, &hrr, &senders)) {
        scn_perr(p, 1, "unknown message '%s'", p->w[1]);
        return;
    }
    if (p->nw == 3 && !scn_number_at(p, 2, 8, &nth))
        return;
    if (nth == 0) {
        scn_perr(p, 2, "messages are counted from 1");
        return;
    }
    td_scn_case *c = p->c;
    if (c->num_steps == 64) {
        scn_perr(p, 0, "more than 64 steps");
        return;
    }
    td_scn_step *n = realloc(c->steps, (c->num_steps + 1) * sizeof(*n));
    if (n == NULL) {
        p->err = TD_ERR_NOMEM;
        return;
    }
    c->steps = n;
    p->step_lines[c->num_steps] = p->line;
    p->step_cols[c->num_steps] = p->line->tok[1].col;
    td_scn_step *st = &n[c->num_steps++];
    memset(st, 0, sizeof(*st));
    st->msg_type = type;
    st->hrr = hrr;
    st->nth = nth;
    st->line = p->line->no;
    (void)senders;
}

static void parse_expect(pctx *p)
{
    td_scn_case *c = p->c;
    if (p->have_expect) {
        scn_perr(p, 0, "a case has one 'expect'");
        return;
    }
    p->have_expect = true;
    p->expect_line = p->line;
    if (!scn_want_args(p, 1, 0))
        return;
    const char *k = p->w[1];
    if (strcmp(k, "rule") == 0 && scn_want_args(p, 1, 1)) {
        c->expect = TD_SCN_EXPECT_RULE;
        p->expect_rule_col = p->line->tok[1].col;
    } else if (strcmp(k, "handshake") == 0 && scn_want_args(p, 1, 1)) {
        c->expect = TD_SCN_EXPECT_HANDSHAKE;
    } else if (strcmp(k, "resumed") == 0 && scn_want_args(p, 1, 1)) {
        c->expect = TD_SCN_EXPECT_RESUMED;
    } else if (strcmp(k, "early-data") == 0 && scn_want_args(p, 1, 1)) {
        c->expect = TD_SCN_EXPECT_EARLY_DATA;
    } else if (strcmp(k, "early-data-rejected") == 0 && scn_want_args(p, 1, 1)) {
        c->expect = TD_SCN_EXPECT_EARLY_DATA_REJECTED;
    } else if (strcmp(k, "message") == 0) {
        unsigned senders;
        c->expect = TD_SCN_EXPECT_MESSAGE;
        if (scn_want_args(p, 2, 2) &&
            !scn_msg_by_name(p->w[2], &c->msg_type, &c->msg_hrr, &senders))
            scn_perr(p, 2, "unknown message '%s'", p->w[2]);
    } else if (strcmp(k, "no-alert") == 0 && scn_want_args(p, 1, 1)) {
        c->expect = TD_SCN_EXPECT_NO_ALERT;
    } else if (strcmp(k, "closed") == 0 && scn_want_args(p, 1, 1)) {
        c->expect = TD_SCN_EXPECT_CLOSED;
    } else if (strcmp(k, "alert") == 0) {
        c->expect = TD_SCN_EXPECT_ALERT;
        if (p->nw < 3)
            scn_perr(p, 2, "'expect alert' needs alert names");
        for (size_t i = 2; i < p->nw; i++) {
            int a = td_alert_by_name(p->w[i]);
            if (a < 0) {
                scn_perr(p, i, "unknown alert '%s'", p->w[i]);
                continue;
            }
            for (int bit = 0; bit < TD_NUM_ALERTS; bit++) {
                static const uint8_t vals[] = {
#define SCN_ALERT_VAL_(name, value) value,
                    TD_ALERT_LIST(SCN_ALERT_VAL_)
#undef SCN_ALERT_VAL_
                };
                if (vals[bit] == a)
                    c->alerts |= (uint32_t)1 << bit;
            }
        }
    } else if (strcmp(k, "rule") != 0 && strcmp(k, "handshake") != 0 &&
               strcmp(k, "no-alert") != 0 && strcmp(k, "closed") != 0 &&
               strcmp(k, "resumed") != 0 && strcmp(k, "message") != 0 &&
               strcmp(k, "early-data") != 0 && strcmp(k, "early-data-rejected") != 0) {
        scn_perr(p, 1,
                 "unknown expectation '%s' (rule, alert NAME..., handshake, resumed, early-data, "
                 "early-data-rejected, no-alert, closed, message M)",
                 k);
        c->expect = TD_SCN_EXPECT_CLOSED; /* no follow-up diagnostics */
    }
}

/* `premise recognises EXT` | `premise not-requested EXT` | `premise no-hrr` |
 * `premise sends-application-data` | `premise psk-accepted` |
 * `premise psk-dhe-ke-only` | `premise early-data-accepted` |
 * `premise hrr-group-not-shared`. */
static void parse_premise(pctx *p)
{
    static const struct {
        const char *name;
        td_scn_premise_kind kind;
    } plain[] = {{"no-hrr", TD_SCN_PREMISE_NO_HRR},
                 {"sends-application-data", TD_SCN_PREMISE_SENDS_APPDATA},
                 {"psk-accepted", TD_SCN_PREMISE_PSK_ACCEPTED},
                 {"psk-dhe-ke-only", TD_SCN_PREMISE_PSK_DHE_ONLY},
                 {"early-data-accepted", TD_SCN_PREMISE_ED_ACCEPTED},
                 {"hrr-group-not-shared", TD_SCN_PREMISE_HRR_GROUP_NEW}};
    td_scn_case *c = p->c;
    if (!scn_want_args(p, 1, 2))
        return;
    td_scn_premise pr = {0};
    const char *k = p->w[1];
    size_t i = 0;
    while (i < sizeof(plain) / sizeof(plain[0]) && strcmp(k, plain[i].name) != 0)
        i++;
    if (i < sizeof(plain) / sizeof(plain[0])) {
        if (p->nw != 2) {
            scn_perr(p, 2, "'premise %s' takes nothing more", k);
            return;
        }
        pr.kind = plain[i].kind;
    } else if (strcmp(k, "recognises") == 0 || strcmp(k, "not-requested") == 0) {
        pr.kind = k[0] == 'r' ? TD_SCN_PREMISE_RECOGNISES : TD_SCN_PREMISE_NOT_REQUESTED;
        if (p->nw != 3) {
            scn_perr(p, 1, "'premise %s' needs an extension", k);
            return;
        }
        if (!scn_ext_by_name(p->w[2], &pr.ext)) {
            scn_perr(p, 2, "unknown extension '%s'", p->w[2]);
            return;
        }
    } else {
        scn_perr(p, 1, "unknown premise '%s' (recognises EXT, not-requested EXT, no-hrr, "
                    "sends-application-data, psk-accepted, psk-dhe-ke-only, "
                    "early-data-accepted, hrr-group-not-shared)", k);
        return;
    }
    if (c->num_premises == TD_SCN_MAX_PREMISES) {
        scn_perr(p, 0, "more than %d premises", TD_SCN_MAX_PREMISES);
        return;
    }
    c->premises[c->num_premises++] = pr;
}

static void parse_header(pctx *p)
{
    td_scn_case *c = p->c;
    const char *k = p->w[0];
    if (strcmp(k, "rule") == 0) {
        if (!scn_want_args(p, 1, 0))
            return;
        for (size_t i = 1; i < p->nw; i++) {
            td_rule r = td_rule_by_id(p->w[i]);
            if (r == TD_RULE_NONE)
                scn_perr(p, i, "unknown rule '%s'", p->w[i]);
            else if (c->num_rules == TD_SCN_MAX_RULES)
                scn_perr(p, i, "more than %d rules", TD_SCN_MAX_RULES);
            else
                c->rules[c->num_rules++] = r;
        }
    } else if (strcmp(k, "sut") == 0) {
        if (!scn_want_args(p, 1, 1))
            return;
        if (strcmp(p->w[1], "server") == 0)
            c->sut = TD_ROLE_SERVER;
        else if (strcmp(p->w[1], "client") == 0)
            c->sut = TD_ROLE_CLIENT;
        else {
            scn_perr(p, 1, "'sut' is server or client, not '%s'", p->w[1]);
            return;
        }
        p->have_sut = true;
    } else if (strcmp(k, "client") == 0 || strcmp(k, "server") == 0) {
        scn_parse_side(p, k[0] == 'c' ? &c->client : &c->server, k[0] == 'c');
    } else if (strcmp(k, "bug") == 0) {
        if (!scn_want_args(p, 1, 0))
            return;
        for (size_t i = 1; i < p->nw; i++)
            if (!td_bugs_set(&c->bugs, p->w[i], true))
                scn_perr(p, i, "unknown bug knob '%s' (see engine/include/tlsdrill/bugs.def)", p->w[i]);
    } else if (strcmp(k, "resume") == 0) {
        if (scn_want_args(p, 1, 1)) {
            if (strcmp(p->w[1], "ticket") == 0)
                c->resume = true;
            else
                scn_perr(p, 1, "'resume' takes 'ticket'");
        }
    } else if (strcmp(k, "premise") == 0) {
        parse_premise(p);
    } else if (strcmp(k, "allow") == 0) {
        /* `allow ID`: a case allowance (engine/catalogue/allowances.md). */
        if (!scn_want_args(p, 1, 1))
            return;
        if ((c->allow = td_case_allowance_by_id(p->w[1])) == NULL)
            scn_perr(p, 1, "unknown case allowance '%s' (engine/catalogue/allowances.md)",
                     p->w[1]);
    } else if (strcmp(k, "send") == 0) {
        parse_send(p);
    } else if (strcmp(k, "expect") == 0) {
        parse_expect(p);
    } else if (strcmp(k, "scenario") == 0) {
        scn_perr(p, 0, "internal: nested scenario");
    } else {
        scn_perr(p, 0, "unknown keyword '%s'", k);
    }
}

/* Checks that need the whole case. */
static void finish_case(pctx *p, const scn_line *first)
{
    td_scn_case *c = p->c;
    td_role ours = c->sut == TD_ROLE_SERVER ? TD_ROLE_CLIENT : TD_ROLE_SERVER;
    p->line = first;
    if (!p->have_sut)
        scn_perr(p, 0, "case '%s' has no 'sut server|client'", c->name);
    if (!p->have_expect)
        scn_perr(p, 0, "case '%s' has no 'expect'", c->name);
    if (c->allow != NULL && (c->num_rules > 0 || (c->expect != TD_SCN_EXPECT_HANDSHAKE &&
                                                  c->expect != TD_SCN_EXPECT_RESUMED))) {
        /* A rule's own allowances are the rule's (allowances.md, first table). */
        scn_perr(p, 0, "'allow' is for a case without a rule that expects a handshake");
    }
    if (p->have_expect && c->expect == TD_SCN_EXPECT_RULE && c->num_rules == 0) {
        p->line = p->expect_line;
        scn_perr(p, 1, "'expect rule' but the case names no rule");
    }
    if (p->have_expect && c->expect == TD_SCN_EXPECT_RULE && c->num_rules > 0) {
        bool any_abort = false;
        for (size_t i = 0; i < c->num_rules; i++)
            any_abort |= td_rule_get(c->rules[i])->kind != TD_RULE_KIND_TOLERATE;
        if (!any_abort) {
            p->line = p->expect_line;
            scn_perr(
                p, 1,
                "%s is a tolerance rule (the peer must not abort): expect no-alert or handshake",
                td_rule_get(c->rules[0])->id);
        }
        /* The judge allows the union of the rules' alerts; an empty union
         * would allow nothing (it never means "any alert"). */
        uint32_t alerts = 0;
        for (size_t i = 0; i < c->num_rules; i++)
            alerts |= td_rule_get(c->rules[i])->alerts;
        if (any_abort && alerts == 0) {
            p->line = p->expect_line;
            scn_perr(p, 1, "%s names no alert (tlsdrill rules %s): write 'expect alert NAME...'",
                     td_rule_get(c->rules[0])->id, td_rule_get(c->rules[0])->id);
        }
    }
    if (!p->have_sut)
        return;
    if (c->resume && c->client.psk_id != NULL) {
        p->line = first;
        scn_perr(p, 0, "'client psk' and 'resume ticket' both give our client its PSK: pick one");
    }
    if (c->client.no_shares && c->sut == TD_ROLE_CLIENT) {
        p->line = first;
        scn_perr(p, 0, "'client key-shares none' needs our side to be the client (sut server)");
    }
    for (size_t i = 0; i < c->num_steps; i++) {
        uint8_t t;
        bool h;
        unsigned senders;
        (void)scn_msg_by_name(scn_msg_name(c->steps[i].msg_type, c->steps[i].hrr), &t, &h,
                              &senders);
        unsigned need = ours == TD_ROLE_CLIENT ? SCN_BY_CLIENT : SCN_BY_SERVER;
        if (!(senders & need)) {
            p->line = p->step_lines[i];
            scn_perr(p, 1, "our side is the %s (sut %s): it never sends a %s",
                     ours == TD_ROLE_CLIENT ? "client" : "server",
                     c->sut == TD_ROLE_SERVER ? "server" : "client",
                     scn_msg_name(c->steps[i].msg_type, c->steps[i].hrr));
        }
    }
}

/* Frees what |c| owns (its file name is the file's: td_scn_file_free). */
static void free_case(td_scn_case *c)
{
    free(c->name);
    for (int s = 0; s < 2; s++) {
        td_scn_side *side = s ? &c->server : &c->client;
        for (size_t i = 0; i < side->num_alpn; i++)
            free(side->alpn[i]);
        free(side->cert);
        free(side->cert_key);
        free(side->trust);
        free(side->sni);
        free(side->psk_id);
        free(side->psk_key);
    }
    for (size_t i = 0; i < c->num_steps; i++) {
        for (size_t j = 0; j < c->steps[i].num_edits; j++)
            free(c->steps[i].edits[j].bytes);
        free(c->steps[i].edits);
    }
    free(c->steps);
}

void td_scn_file_free(td_scn_file *f)
{
    if (f == NULL)
        return;
    for (size_t i = 0; i < f->num_cases; i++)
        free_case(&f->cases[i]);
    if (f->num_cases > 0)
        free(f->cases[0].file); /* one copy for every case */
    free(f->cases);
    free(f);
}

/* Builds one case of block [b, e) for the current matrix choice. */
static void build_case(pctx *p, const scn_line *lines, size_t b, size_t e, td_scn_file *f)
{
    td_scn_case c;
    memset(&c, 0, sizeof(c));
    p->c = &c;
    p->bad = false;
    p->have_sut = p->have_expect = false;
    p->expect_line = NULL;
    if (set_line(p, &lines[b])) {
        if (p->nw != 2)
            scn_perr(p, p->nw < 2 ? 1 : 2, "'scenario' takes one name");
        c.name = scn_sdup(p, p->nw >= 2 ? p->w[1] : "?");
    } else {
        c.name = scn_sdup(p, "?");
    }
    c.file = p->file;
    c.line = lines[b].no;
    for (size_t i = b; i < e; i++)
        if (lines[i].bad) /* reported by the lexer */
            p->bad = true;
    for (size_t i = b + 1; i < e && p->err == TD_OK; i++) {
        const scn_line *l = &lines[i];
        if (l->ntok >= 1 && l->tok[0].n == 6 && memcmp(l->tok[0].s, "matrix", 6) == 0 &&
            !l->indented)
            continue;
        if (!set_line(p, l))
            continue;
        if (l->indented) {
            if (c.num_steps == 0)
                scn_perr(p, 0, "indented edit '%s' outside a 'send' step", p->w[0]);
            else
                scn_parse_edit(p, &c.steps[c.num_steps - 1]);
        } else {
            parse_header(p);
        }
    }
    finish_case(p, &lines[b]);
    /* A name is taken even when an error drops its case, so a later case of
     * the same name is still reported. */
    bool dup = false;
    if (c.name != NULL && strcmp(c.name, "?") != 0 && p->err == TD_OK && !p->discard) {
        td_err err = scn_names_add(&p->names, c.name, &dup);
        if (err != TD_OK)
            p->err = err;
    }
    if (dup) {
        p->line = &lines[b];
        scn_perr(p, 1, "duplicate case name '%s'", c.name);
    }
    if (p->err != TD_OK || p->bad || p->discard) {
        free_case(&c);
        return;
    }
    if (f->num_cases == p->cases_cap) {
        size_t cap = p->cases_cap ? 2 * p->cases_cap : 16;
        td_scn_case *n = realloc(f->cases, cap * sizeof(*n));
        if (n == NULL) {
            p->err = TD_ERR_NOMEM;
            free_case(&c);
            return;
        }
        f->cases = n;
        p->cases_cap = cap;
    }
    f->cases[f->num_cases++] = c;
}

static uint64_t name_hash(const char *s)
{
    uint64_t h = 0xcbf29ce484222325u; /* FNV-1a */
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 0x100000001b3u;
    return h;
}

td_err scn_names_add(scn_names *s, const char *name, bool *out_dup)
{
    *out_dup = false;
    if (2 * (s->num + 1) > s->cap) { /* at most half full: short probe runs */
        size_t cap = s->cap ? 2 * s->cap : 64;
        char **slot = calloc(cap, sizeof(*slot));
        if (slot == NULL)
            return TD_ERR_NOMEM;
        for (size_t i = 0; i < s->cap; i++) {
            if (s->slot[i] == NULL)
                continue;
            size_t j = (size_t)name_hash(s->slot[i]) & (cap - 1);
            while (slot[j] != NULL)
                j = (j + 1) & (cap - 1);
            slot[j] = s->slot[i];
        }
        free(s->slot);
        s->slot = slot;
        s->cap = cap;
    }
    size_t j = (size_t)name_hash(name) & (s->cap - 1);
    for (;; j = (j + 1) & (s->cap - 1)) {
        s->probes++;
        if (s->slot[j] == NULL)
            break;
        if (strcmp(s->slot[j], name) == 0) {
            *out_dup = true;
            return TD_OK;
        }
    }
    size_t n = strlen(name);
    if ((s->slot[j] = malloc(n + 1)) == NULL)
        return TD_ERR_NOMEM;
    memcpy(s->slot[j], name, n + 1);
    s->num++;
    return TD_OK;
}

void scn_names_free(scn_names *s)
{
    for (size_t i = 0; i < s->cap; i++)
        free(s->slot[i]);
    free(s->slot);
    memset(s, 0, sizeof(*s));
}

/* Matrix lines of a block, and the $VAR check (defined and used). */
static bool block_matrix(pctx *p, const scn_line *lines, size_t b, size_t e, mvar *vars,
                         size_t *nvars)
{
    bool ok = true;
    *nvars = 0;
    for (size_t i = b + 1; i < e; i++) {
        const scn_line *l = &lines[i];
        if (l->indented || l->tok[0].n != 6 || memcmp(l->tok[0].s, "matrix", 6) != 0)
            continue;
        p->line = l;
        p->nvars = 0; /* no expansion inside matrix lines */
        if (l->ntok < 4 || l->tok[2].n != 1 || l->tok[2].s[0] != '=') {
            scn_perr(p, l->ntok < 3 ? l->ntok : 2, "expected 'matrix VAR = VALUE...'");
            ok = false;
            continue;
        }
        const scn_tok *name = &l->tok[1];
        bool good = name->n > 0 && name->n < sizeof(vars[0].name);
        for (size_t k = 0; k < name->n && good; k++)
            good = is_var_char(name->s[k]);
        if (!good) {
            scn_perr(p, 1, "bad matrix variable name '%.*s'", (int)name->n, name->s);
            ok = false;
            continue;
        }
        for (size_t v = 0; v < *nvars; v++)
            if (strlen(vars[v].name) == name->n && memcmp(vars[v].name, name->s, name->n) == 0) {
                scn_perr(p, 1, "matrix variable '%.*s' defined twice", (int)name->n, name->s);
                ok = false;
                good = false;
            }
        if (!good)
            continue;
        if (*nvars == SCN_MAX_VARS || l->ntok - 3 > SCN_MAX_VALUES) {
            scn_perr(p, 0, "at most %d matrix variables of %d values", SCN_MAX_VARS,
                     SCN_MAX_VALUES);
            ok = false;
            continue;
        }
        mvar *m = &vars[(*nvars)++];
        memcpy(m->name, name->s, name->n);
        m->name[name->n] = '\0';
        m->line = l;
        m->col = name->col;
        m->vals = &l->tok[3];
        m->nvals = l->ntok - 3;
        m->used = false;
    }
    /* Every $VAR used must be defined; every variable must be used. After a
     * malformed matrix line that would only repeat the same mistake. */
    const bool syntax_ok = ok;
    for (size_t i = b; i < e && syntax_ok; i++) {
        const scn_line *l = &lines[i];
        if (!l->indented && l->tok[0].n == 6 && memcmp(l->tok[0].s, "matrix", 6) == 0)
            continue;
        for (size_t t = 0; t < l->ntok; t++) {
            const scn_tok *tk = &l->tok[t];
            for (size_t k = 0; k < tk->n; k++) {
                if (tk->s[k] != '$')
                    continue;
                size_t at, nl, j;
                if (!var_ref(tk->s, tk->n, k, &at, &nl, &j)) {
                    p->bad = true;
                    td_err err = scn_diag(p->diags, p->path, l, tk->col + (int)k,
                                          "'$' must start a matrix variable ($NAME or ${NAME})");
                    if (err != TD_OK)
                        p->err = err;
                    ok = false;
                    continue;
                }
                bool found = false;
                for (size_t v = 0; v < *nvars; v++)
                    if (strlen(vars[v].name) == nl && memcmp(vars[v].name, tk->s + at, nl) == 0) {
                        vars[v].used = true;
                        found = true;
                    }
                if (!found) {
                    p->line = l;
                    p->bad = true;
                    td_err err =
                        scn_diag(p->diags, p->path, l, tk->col + (int)k,
                                 "matrix variable '$%.*s' is not defined", (int)nl, tk->s + at);
                    if (err != TD_OK)
                        p->err = err;
                    ok = false;
                }
                k = j - 1;
            }
        }
    }
    for (size_t v = 0; v < *nvars && syntax_ok; v++)
        if (!vars[v].used) {
            p->bad = true;
            td_err err = scn_diag(p->diags, p->path, vars[v].line, vars[v].col,
                                  "matrix variable '%s' is never used", vars[v].name);
            if (err != TD_OK)
                p->err = err;
            ok = false;
        }
    return ok;
}

static void parse_block(pctx *p, const scn_line *lines, size_t b, size_t e, td_scn_file *f)
{
    mvar vars[SCN_MAX_VARS];
    size_t nvars = 0, choice[SCN_MAX_VARS] = {0};
    if (!block_matrix(p, lines, b, e, vars, &nvars)) {
        /* Still lint the rest of the block once, without expansion. */
        p->vars = NULL;
        p->nvars = 0;
        p->discard = true;
        build_case(p, lines, b, e, f);
        p->discard = false;
        return;
    }
    size_t total = 1;
    for (size_t v = 0; v < nvars; v++)
        total *= vars[v].nvals;
    if (total > SCN_MAX_EXPANSION) {
        p->line = &lines[b];
        scn_perr(p, 0, "matrix expands to %zu cases (at most %d)", total, SCN_MAX_EXPANSION);
        return;
    }
    p->vars = vars;
    p->nvars = nvars;
    p->choice = choice;
    for (size_t n = 0; n < total && p->err == TD_OK; n++) {
        size_t rest = n;
        for (size_t v = nvars; v-- > 0;) {
            choice[v] = rest % vars[v].nvals;
            rest /= vars[v].nvals;
        }
        build_case(p, lines, b, e, f);
    }
    p->vars = NULL;
    p->nvars = 0;
}

static int diag_cmp(const void *a, const void *b)
{
    const td_scn_diag *x = a, *y = b;
    if (x->line != y->line)
        return x->line < y->line ? -1 : 1;
    if (x->col != y->col)
        return x->col < y->col ? -1 : 1;
    return strcmp(x->message, y->message); /* qsort is not stable: keep the order deterministic */
}

td_err td_scn_parse(const char *path, const char *text, size_t len, td_scn_file **out,
                    td_scn_diags *diags)
{
    scn_line *lines = NULL;
    size_t num = 0;
    *out = NULL;
    if (path == NULL || (text == NULL && len > 0))
        return TD_ERR_ARG;
    td_scn_file *f = calloc(1, sizeof(*f));
    if (f == NULL)
        return TD_ERR_NOMEM;
    td_err err = scn_lex(path, text, len, &lines, &num, diags);
    if (err != TD_OK) {
        free(f);
        return err;
    }
    pctx *p = calloc(1, sizeof(*p));
    if (p == NULL) {
        free(lines);
        free(f);
        return TD_ERR_NOMEM;
    }
    p->path = path;
    p->diags = diags;
    p->file = scn_sdup(p, path);
    size_t first_diag = diags->num;
    size_t i = 0;
    bool complained = false;
    while (i < num && p->err == TD_OK) {
        const scn_line *l = &lines[i];
        bool starts = !l->indented && l->tok[0].n == 8 && memcmp(l->tok[0].s, "scenario", 8) == 0;
        if (!starts) {
            if (!complained) {
                p->line = l;
                p->nw = 0;
                scn_perr(p, 0, "expected 'scenario NAME' before '%.*s'", (int)l->tok[0].n,
                         l->tok[0].s);
                complained = true;
            }
            i++;
            continue;
        }
        size_t e = i + 1;
        while (e < num && !(!lines[e].indented && lines[e].tok[0].n == 8 &&
                            memcmp(lines[e].tok[0].s, "scenario", 8) == 0))
            e++;
        diags->dedup_from = diags->num;
        parse_block(p, lines, i, e, f);
        i = e;
    }
    diags->dedup_from = diags->num;
    err = p->err;
    scn_names_free(&p->names);
    if (f->num_cases == 0)
        free(p->file); /* else the cases hold it */
    /* The cases array at its size (it grew by doubling). */
    if (f->num_cases > 0 && f->num_cases < p->cases_cap) {
        td_scn_case *fit = realloc(f->cases, f->num_cases * sizeof(*fit));
        if (fit != NULL)
            f->cases = fit;
    }
    free(p->hex);
    free(p);
    free(lines);
    /* Case-level checks come at a case's end: show this file's diagnostics in source order. */
    if (diags->num > first_diag)
        qsort(diags->list + first_diag, diags->num - first_diag, sizeof(td_scn_diag), diag_cmp);
    if (err != TD_OK) {
        td_scn_file_free(f);
        return err;
    }
    *out = f;
    return TD_OK;
}

td_err td_scn_parse_file(const char *path, td_scn_file **out, td_scn_diags *diags)
{
    *out = NULL;
    uint8_t *buf;
    size_t len;
    td_err err = td_file_read(path, 0, &buf, &len);
    if (err == TD_ERR_IO) {
        TD_CHECK(scn_diag(diags, path, NULL, 0, "cannot read the file"));
        return TD_ERR_IO;
    }
    TD_CHECK(err);
    err = td_scn_parse(path, (const char *)buf, len, out, diags);
    /* Cases own copies of everything they keep: the text can go. */
    free(buf);
    return err;
}
