/* tools/cli/cmd_bench.c -- `tlsdrill bench`: full in-memory TLS 1.3
 * handshakes per second, measured in one process and one run:
 *   engine     a td_pair (our client and server),
 *   libssl     OpenSSL's client and server over a memory BIO pair,
 *   floor      the libcrypto work one handshake needs, called directly
 *              through tlsdrill/crypto.h (the crypto floor),
 *   memo       the engine on a td_crypto with the crypto memo on (crypto.h:
 *              repeated key pairs, shared secrets and chain checks looked up,
 *              as in the fuzz harness; off everywhere else by default),
 * for a full handshake (x25519, ecdsa_secp256r1_sha256, TLS_AES_128_GCM_SHA256),
 * a resumption and an HRR. Prints handshakes per CPU-second and the ratios
 * engine/libssl and floor/engine. The machine is shared and noisy: each
 * figure is the best of 5 timed batches, and the three implementations of
 * a row take turns batch by batch (see measure). */
#define _POSIX_C_SOURCE 200809L /* clock_gettime under -std=c11 */
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "opt.h"
#include "tlsdrill/crypto.h"
#include "tlsdrill/keysched.h"
#include "tlsdrill/pair.h"

typedef enum bench_kind { BENCH_FULL, BENCH_RESUME, BENCH_HRR } bench_kind;

static const char *kind_name(bench_kind k)
{
    switch (k) {
    case BENCH_FULL: return "full";
    case BENCH_RESUME: return "resumption";
    case BENCH_HRR: return "hrr";
    }
    return "?";
}

/* CPU time of this thread, not wall time: everything runs in this one
 * thread, and on a shared machine wall time also counts the slices other
 * processes take, which land unevenly on the implementations. */
static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

typedef struct bench_files {
    char *cert_pem, *key_pem, *ca_pem;
    size_t cert_len, key_len, ca_len;
    char cert_path[1024], key_path[1024], ca_path[1024];
} bench_files;

/* ---- libssl ---- */

typedef struct ssl_bench {
    SSL_CTX *sctx, *cctx;
    SSL_SESSION *session;
} ssl_bench;

static int ssl_handshake_once(ssl_bench *b, bench_kind kind)
{
    SSL *s = SSL_new(b->sctx), *c = SSL_new(b->cctx);
    BIO *sb = NULL, *cb = NULL;
    int ok = 0;
    if (s == NULL || c == NULL || !BIO_new_bio_pair(&sb, 0, &cb, 0))
        goto out;
    SSL_set_bio(s, sb, sb);
    SSL_set_bio(c, cb, cb);
    SSL_set_accept_state(s);
    SSL_set_connect_state(c);
    if (kind == BENCH_RESUME && b->session != NULL)
        SSL_set_session(c, b->session);
    for (int i = 0; i < 20; i++) {
        int rc = SSL_do_handshake(c);
        int rs = SSL_do_handshake(s);
        if (rc == 1 && rs == 1) {
            ok = 1;
            break;
        }
        if ((rc != 1 && SSL_get_error(c, rc) != SSL_ERROR_WANT_READ) ||
            (rs != 1 && SSL_get_error(s, rs) != SSL_ERROR_WANT_READ))
            break;
    }
    if (ok && kind == BENCH_RESUME) {
        /* Read the ticket the server sent after the handshake (no
         * application data follows: the read ends in WANT_READ). */
        char byte;
        if (SSL_read(c, &byte, 1) > 0)
            ok = 0;
        if (b->session == NULL) {
            b->session = SSL_get1_session(c);
        } else if (!SSL_session_reused(c)) {
            ok = 0;
        }
    }
out:
    /* A clean close_notify: OpenSSL marks the session of an SSL freed
     * without SSL_shutdown as not resumable. */
    if (ok) {
        SSL_shutdown(c);
        SSL_shutdown(s);
    }
    SSL_free(c);
    SSL_free(s);
    return ok;
}

static int ssl_bench_init(ssl_bench *b, const bench_files *f, bench_kind kind)
{
    memset(b, 0, sizeof(*b));
    b->sctx = SSL_CTX_new(TLS_server_method());
    b->cctx = SSL_CTX_new(TLS_client_method());
    if (b->sctx == NULL || b->cctx == NULL)
        return 0;
    SSL_CTX *both[2] = {b->sctx, b->cctx};
    for (int i = 0; i < 2; i++) {
        SSL_CTX_set_min_proto_version(both[i], TLS1_3_VERSION);
        SSL_CTX_set_max_proto_version(both[i], TLS1_3_VERSION);
        if (!SSL_CTX_set_ciphersuites(both[i], "TLS_AES_128_GCM_SHA256") ||
            !SSL_CTX_set1_sigalgs_list(both[i], "ECDSA+SHA256"))
            return 0;
    }
    if (!SSL_CTX_set1_groups_list(b->sctx, kind == BENCH_HRR ? "P-256" : "X25519") ||
        !SSL_CTX_set1_groups_list(b->cctx, kind == BENCH_HRR ? "X25519:P-256" : "X25519"))
        return 0;
    if (SSL_CTX_use_certificate_chain_file(b->sctx, f->cert_path) != 1 ||
        SSL_CTX_use_PrivateKey_file(b->sctx, f->key_path, SSL_FILETYPE_PEM) != 1 ||
        SSL_CTX_load_verify_locations(b->cctx, f->ca_path, NULL) != 1)
        return 0;
    SSL_CTX_set_verify(b->cctx, SSL_VERIFY_PEER, NULL);
    SSL_CTX_set_num_tickets(b->sctx, kind == BENCH_RESUME ? 1 : 0);
    SSL_CTX_set_session_cache_mode(b->cctx, SSL_SESS_CACHE_OFF);
    return 1;
}

static void ssl_bench_cleanup(ssl_bench *b)
{
    SSL_SESSION_free(b->session);
    SSL_CTX_free(b->sctx);
    SSL_CTX_free(b->cctx);
}

/* ---- the engine ---- */

typedef struct engine_bench {
    td_crypto *crypto;
    td_der *chain, *ca;
    size_t num_chain, num_ca;
    td_pkey *key;
    td_cert_key ck;
    td_config ccfg, scfg;
    uint16_t suite, group, share_group, sigalg, hrr_groups[2];
    td_session session;
} engine_bench;

static int engine_handshake_once(engine_bench *b, bench_kind kind)
{
    td_pair *pair = NULL;
    int ok = 0;
    if (td_pair_new(&b->ccfg, &b->scfg, &pair) != TD_OK)
        return 0;
    if (td_pair_run(pair, 0) == TD_OK &&
        td_conn_status(td_pair_client(pair))->phase == TD_PHASE_CONNECTED &&
        td_conn_status(td_pair_server(pair))->phase == TD_PHASE_CONNECTED) {
        ok = 1;
        if (kind == BENCH_RESUME) {
            if (b->ccfg.resume == NULL) {
                ok = td_conn_session(td_pair_client(pair), &b->session);
                b->ccfg.resume = &b->session;
            } else {
                ok = td_conn_status(td_pair_client(pair))->resumed;
            }
        }
    }
    td_pair_free(pair);
    return ok;
}

static int engine_bench_init(engine_bench *b, td_crypto *crypto, const bench_files *f,
                             bench_kind kind)
{
    memset(b, 0, sizeof(*b));
    b->crypto = crypto;
    if (td_certs_from_pem(f->cert_pem, f->cert_len, &b->chain, &b->num_chain) != TD_OK ||
        td_certs_from_pem(f->ca_pem, f->ca_len, &b->ca, &b->num_ca) != TD_OK || b->num_ca == 0 ||
        td_pkey_from_pem(crypto, f->key_pem, f->key_len, &b->key) != TD_OK)
        return 0;
    b->suite = TD_TLS_AES_128_GCM_SHA256;
    b->group = TD_GROUP_X25519;
    b->sigalg = TD_SIG_ECDSA_SECP256R1_SHA256;
    b->hrr_groups[0] = TD_GROUP_X25519;
    b->hrr_groups[1] = TD_GROUP_SECP256R1;
    b->share_group = TD_GROUP_X25519;
    b->ck = (td_cert_key){b->chain, b->num_chain, b->key, NULL};
    static const uint8_t seed[] = "tlsdrill bench";
    td_config *both[2] = {&b->ccfg, &b->scfg};
    for (int i = 0; i < 2; i++) {
        both[i]->crypto = crypto;
        both[i]->seed = seed;
        both[i]->seed_len = sizeof(seed) - 1;
        both[i]->suites = &b->suite;
        both[i]->num_suites = 1;
        both[i]->groups = &b->group;
        both[i]->num_groups = 1;
        both[i]->sigalgs = &b->sigalg;
        both[i]->num_sigalgs = 1;
    }
    b->ccfg.role = TD_ROLE_CLIENT;
    b->ccfg.trust_anchor = b->ca[0].data;
    b->ccfg.trust_anchor_len = b->ca[0].len;
    b->scfg.role = TD_ROLE_SERVER;
    b->scfg.certs = &b->ck;
    b->scfg.num_certs = 1;
    if (kind == BENCH_HRR) {
        /* The client shares x25519 only; the server accepts only P-256. */
        b->ccfg.groups = b->hrr_groups;
        b->ccfg.num_groups = 2;
        b->ccfg.share_groups = &b->share_group;
        b->ccfg.num_share_groups = 1;
        b->scfg.groups = &b->hrr_groups[1];
    }
    if (kind == BENCH_RESUME)
        b->scfg.num_tickets = 1;
    return 1;
}

static void engine_bench_cleanup(engine_bench *b)
{
    td_der_list_free(b->chain, b->num_chain);
    td_der_list_free(b->ca, b->num_ca);
    td_pkey_free(b->key);
}

/* ---- the crypto floor: one full handshake's libcrypto work ---- */

typedef struct floor_bench {
    td_crypto *crypto;
    td_pkey *key;
    td_der *ca, *chain;
    size_t num_ca, num_chain;
    td_drbg drbg;
} floor_bench;

/* One side's key schedule and transcript: the extracts, the four traffic
 * secrets and their key/IV pairs, both Finished values, ~1.1 KB hashed
 * incrementally and peeked at the four points the secrets need. */
static int floor_side_schedule(floor_bench *b, const uint8_t *shared, size_t shared_len,
                               const uint8_t *msgs)
{
    static const td_keysched_secret names[] = {TD_KEYSCHED_C_HS_TRAFFIC, TD_KEYSCHED_S_HS_TRAFFIC, TD_KEYSCHED_C_AP_TRAFFIC,
                                         TD_KEYSCHED_S_AP_TRAFFIC};
    static const size_t msg_len[] = {220, 90, 800, 36}; /* CH; SH; EE..CV; Finished */
    uint8_t secret[TD_MAX_HASH_LEN], hash[TD_MAX_HASH_LEN], key[32], iv[12];
    const td_suite *suite = td_suite_get(TD_TLS_AES_128_GCM_SHA256);
    td_hash_ctx *transcript = NULL;
    td_keysched ks;
    td_keysched_init(&ks, b->crypto, TD_HASH_SHA256);
    int ok = td_hash_ctx_new(b->crypto, TD_HASH_SHA256, &transcript) == TD_OK &&
             td_keysched_early(&ks, NULL, 0) == TD_OK;
    for (size_t i = 0, off = 0; ok && i < 4; off += msg_len[i], i++) {
        ok = td_hash_ctx_update(transcript, msgs + off, msg_len[i]) == TD_OK &&
             td_hash_ctx_peek(transcript, hash) == TD_OK;
        if (ok && i == 1) /* after ServerHello: handshake secrets */
            ok = td_keysched_handshake(&ks, shared, shared_len) == TD_OK;
        if (ok && i == 2) /* after CertificateVerify: the server's Finished */
            ok = td_keysched_finished(b->crypto, TD_HASH_SHA256, secret, hash, key) == TD_OK;
        if (ok && i == 3) /* after the server's Finished: application secrets, client Finished */
            ok = td_keysched_master(&ks) == TD_OK &&
                 td_keysched_finished(b->crypto, TD_HASH_SHA256, secret, hash, key) == TD_OK;
        for (size_t j = i == 1 ? 0 : 2; ok && (i == 1 || i == 3) && j < (i == 1 ? 2u : 4u); j++)
            ok = td_keysched_derive(&ks, names[j], hash, secret) == TD_OK &&
                 td_keysched_traffic_keys(b->crypto, suite, secret, key, iv) == TD_OK;
    }
    td_keysched_cleanup(&ks);
    td_hash_ctx_free(transcript);
    return ok;
}

/* The libcrypto work one full handshake needs, both sides, through the
 * same tlsdrill/crypto.h calls the engine makes and nothing else: two X25519
 * key pairs and derivations; the server's CertificateVerify signed and
 * verified with the key read from its certificate while the chain is
 * checked (td_chain_verify_leaf, as the client does); each side's key
 * schedule and transcript; the server's flight and the client's Finished
 * sealed and opened under handshake keys (8 AEAD objects, 4 of them used,
 * as the record layer keys a direction on first use). */
static int floor_handshake_once(floor_bench *b)
{
    static uint8_t msgs[1200], rec[1024];
    uint8_t cpub[32], spub[32], shared[2][TD_MAX_ECDH_LEN], sig[TD_MAX_SIG_LEN];
    size_t len, sig_len, shared_len = 0;
    td_kex *ck = NULL, *sk = NULL;
    td_pkey *leaf = NULL;
    td_aead *aead[8] = {NULL};
    int ok = 0;
    /* Key exchange: two key pairs, two derivations. */
    if (td_kex_generate(b->crypto, TD_GROUP_X25519, &b->drbg, &ck) != TD_OK ||
        td_kex_public(ck, cpub, sizeof(cpub), &len) != TD_OK ||
        td_kex_generate(b->crypto, TD_GROUP_X25519, &b->drbg, &sk) != TD_OK ||
        td_kex_public(sk, spub, sizeof(spub), &len) != TD_OK ||
        td_kex_derive(sk, cpub, 32, shared[0], sizeof(shared[0]), &shared_len, NULL) != TD_OK ||
        td_kex_derive(ck, spub, 32, shared[1], sizeof(shared[1]), &len, NULL) != TD_OK)
        goto out;
    /* Authentication: the chain and the leaf key, one signature and its check. */
    memset(rec, 0x20, 130);
    if (td_chain_verify_leaf(b->crypto, b->chain, b->num_chain, b->ca[0].data, b->ca[0].len, &leaf,
                             NULL) != TD_OK ||
        td_sign(b->crypto, b->key, TD_SIG_ECDSA_SECP256R1_SHA256, &b->drbg, rec, 130, sig,
                sizeof(sig), &sig_len) != TD_OK ||
        td_verify(b->crypto, leaf, TD_SIG_ECDSA_SECP256R1_SHA256, rec, 130, sig, sig_len) != TD_OK)
        goto out;
    /* Key schedules and transcripts. */
    if (!floor_side_schedule(b, shared[0], shared_len, msgs) ||
        !floor_side_schedule(b, shared[1], shared_len, msgs))
        goto out;
    /* Records: two flights, each sealed by one side and opened by the other. */
    static const size_t rec_len[2] = {900, 53};
    uint8_t key[16] = {1};
    for (int i = 0; i < 8; i++)
        if (td_aead_new(b->crypto, TD_AEAD_AES_128_GCM, key, sizeof(key), &aead[i]) != TD_OK)
            goto out;
    for (int i = 0; i < 2; i++) {
        static const uint8_t ad[5] = {23, 3, 3, 3, 148};
        uint8_t nonce[12] = {0};
        if (td_aead_seal(aead[2 * i], nonce, ad, sizeof(ad), rec, rec_len[i], rec) != TD_OK ||
            td_aead_open(aead[2 * i + 1], nonce, ad, sizeof(ad), rec, rec_len[i] + 16, rec) !=
                TD_OK)
            goto out;
    }
    ok = 1;
out:
    for (int i = 0; i < 8; i++)
        td_aead_free(aead[i]);
    td_pkey_free(leaf);
    td_kex_free(ck);
    td_kex_free(sk);
    return ok;
}

static int floor_bench_init(floor_bench *b, td_crypto *crypto, const bench_files *f)
{
    memset(b, 0, sizeof(*b));
    b->crypto = crypto;
    static const uint8_t seed[] = "floor";
    td_drbg_init(&b->drbg, seed, sizeof(seed) - 1, "floor");
    return td_pkey_from_pem(crypto, f->key_pem, f->key_len, &b->key) == TD_OK &&
           td_certs_from_pem(f->cert_pem, f->cert_len, &b->chain, &b->num_chain) == TD_OK &&
           td_certs_from_pem(f->ca_pem, f->ca_len, &b->ca, &b->num_ca) == TD_OK && b->num_ca > 0 &&
           b->num_chain > 0;
}

static void floor_bench_cleanup(floor_bench *b)
{
    td_pkey_free(b->key);
    td_der_list_free(b->chain, b->num_chain);
    td_der_list_free(b->ca, b->num_ca);
}

/* ---- timing ---- */

typedef int (*bench_fn)(void *ctx, bench_kind kind);

static int run_ssl(void *ctx, bench_kind kind)
{
    return ssl_handshake_once(ctx, kind);
}
static int run_engine(void *ctx, bench_kind kind)
{
    return engine_handshake_once(ctx, kind);
}
static int run_floor(void *ctx, bench_kind kind)
{
    (void)kind;
    return floor_handshake_once(ctx);
}

/* Handshakes/s of one batch of about |slice| seconds; -1 if one failed. */
static double measure_batch(bench_fn fn, void *ctx, bench_kind kind, double slice)
{
    double start = now_s(), elapsed;
    long n = 0;
    do {
        for (int i = 0; i < 10; i++, n++)
            if (!fn(ctx, kind))
                return -1;
        elapsed = now_s() - start;
    } while (elapsed < slice);
    return (double)n / elapsed;
}

/* Best handshakes/s of each of |num| implementations over |batches| rounds;
 * within a round the implementations take turns, one batch each, so load
 * from other processes on the (shared) machine hits all of them alike and
 * the ratios stay meaningful. out[i] is -1 if implementation i failed. */
static void measure(bench_fn *fns, void **ctxs, size_t num, bench_kind kind, double seconds,
                    int batches, double *out)
{
    for (size_t i = 0; i < num; i++) /* warm-up, and the first ticket for resumption */
        out[i] = fns[i](ctxs[i], kind) ? 0 : -1;
    for (int b = 0; b < batches; b++) {
        for (size_t i = 0; i < num; i++) {
            if (out[i] < 0)
                continue;
            double rate = measure_batch(fns[i], ctxs[i], kind, seconds / batches);
            out[i] = rate < 0 ? -1 : rate > out[i] ? rate : out[i];
        }
    }
}

/* --profile ROW --count N: exactly N handshakes of one row, untimed, for
 * callgrind (instruction counts are deterministic where time is not). */
static int parse_profile(const char *name, int *impl, bench_kind *kind)
{
    static const char *const impls[] = {"engine", "libssl", "floor"};
    for (int i = 0; i < 3; i++) {
        size_t n = strlen(impls[i]);
        if (strncmp(name, impls[i], n) != 0 || name[n] != '-')
            continue;
        for (bench_kind k = BENCH_FULL; k <= BENCH_HRR; k++) {
            if (strcmp(name + n + 1, kind_name(k)) == 0 && (i != 2 || k == BENCH_FULL)) {
                *impl = i;
                *kind = k;
                return 1;
            }
        }
    }
    return 0;
}

static int run_profile(td_crypto *crypto, const bench_files *f, int impl, bench_kind kind,
                       long count)
{
    ssl_bench sb;
    engine_bench eb;
    floor_bench fb;
    int ok = 0;
    switch (impl) {
    case 0:
        ok = engine_bench_init(&eb, crypto, f, kind);
        for (long i = 0; ok && i < count; i++)
            ok = engine_handshake_once(&eb, kind);
        engine_bench_cleanup(&eb);
        break;
    case 1:
        ok = ssl_bench_init(&sb, f, kind);
        for (long i = 0; ok && i < count; i++)
            ok = ssl_handshake_once(&sb, kind);
        ssl_bench_cleanup(&sb);
        break;
    default:
        ok = floor_bench_init(&fb, crypto, f);
        for (long i = 0; ok && i < count; i++)
            ok = floor_handshake_once(&fb);
        floor_bench_cleanup(&fb);
        break;
    }
    if (!ok) {
        fprintf(stderr, "tlsdrill bench: a profiled handshake failed\n");
        ERR_print_errors_fp(stderr);
        return 1;
    }
    printf("tlsdrill bench: %ld %s handshakes done\n", count, kind_name(kind));
    return 0;
}

typedef struct bench_opts {
    uint64_t ms, count;
    const char *certs, *profile;
} bench_opts;

static const td_cli_opt bench_opts_table[] = {
    {.name = "--seconds",
     .kind = TD_CLI_OPT_DURATION,
     .offset = offsetof(bench_opts, ms),
     .min = 1,
     .max = 3600000,
     .unit_ms = 1000,
     .help = "measuring time per implementation and row (default 3s; a bare number is\n"
             "seconds): 7 measurements, so the whole table takes about 7x this plus setup"},
    {.name = "--certs",
     .kind = TD_CLI_OPT_STR,
     .offset = offsetof(bench_opts, certs),
     .arg = "DIR",
     .help = "the test certificates (default: the build's tests/vectors/certs)"},
    {.name = "--profile",
     .kind = TD_CLI_OPT_STR,
     .offset = offsetof(bench_opts, profile),
     .arg = "ROW",
     .help = "run exactly --count untimed handshakes of one row, for callgrind; ROW is\n"
             "engine-, libssl- or floor- followed by full, resumption or hrr (floor: full only)"},
    {.name = "--count",
     .kind = TD_CLI_OPT_UINT,
     .offset = offsetof(bench_opts, count),
     .min = 1,
     .max = 1000000000,
     .help = "handshakes of --profile (default 200)"},
};

static const td_cli_cmd bench_cmd = {
    .name = "bench",
    .about = "Full in-memory TLS 1.3 handshakes/s: engine pair, libssl pair, crypto floor.",
    .opts = bench_opts_table,
    .num_opts = sizeof(bench_opts_table) / sizeof(bench_opts_table[0]),
};

int td_cli_bench(int argc, char **argv)
{
    bench_opts o = {.ms = 3000, .count = 200, .certs = TD_VECTORS_DIR "/certs"};
    const char *args[1];
    size_t num_args;
    int prc = td_cli_opt_parse(&bench_cmd, argc, argv, &o, args, &num_args);
    if (prc != TD_CLI_CONTINUE)
        return prc;
    double seconds = (double)o.ms / 1000.0;
    const char *dir = o.certs;
    int profile_impl = -1;
    bench_kind profile_kind = BENCH_FULL;
    long count = (long)o.count;
    if (o.profile != NULL && !parse_profile(o.profile, &profile_impl, &profile_kind))
        return td_cli_usage_error(&bench_cmd, "unknown --profile row '%s'", o.profile);
    bench_files f;
    memset(&f, 0, sizeof(f));
    snprintf(f.cert_path, sizeof(f.cert_path), "%s/server-p256.pem", dir);
    snprintf(f.key_path, sizeof(f.key_path), "%s/server-p256.key", dir);
    snprintf(f.ca_path, sizeof(f.ca_path), "%s/ca.pem", dir);
    f.cert_pem = td_cli_read_file(f.cert_path, &f.cert_len);
    f.key_pem = td_cli_read_file(f.key_path, &f.key_len);
    f.ca_pem = td_cli_read_file(f.ca_path, &f.ca_len);
    if (f.cert_pem == NULL || f.key_pem == NULL || f.ca_pem == NULL) {
        fprintf(stderr, "tlsdrill bench: cannot read the test certificates in %s\n", dir);
        free(f.cert_pem);
        free(f.key_pem);
        free(f.ca_pem);
        return 2;
    }
    td_crypto *crypto = NULL, *memo_crypto = NULL;
    int rc = 0;
    if (td_crypto_new(&crypto) != TD_OK || td_crypto_new(&memo_crypto) != TD_OK ||
        td_crypto_set_memo(memo_crypto, true) != TD_OK) {
        fprintf(stderr, "tlsdrill bench: cannot set up crypto\n");
        rc = 1;
        goto out;
    }
    if (profile_impl >= 0) {
        rc = run_profile(crypto, &f, profile_impl, profile_kind, count);
        goto out;
    }
    printf("tlsdrill bench: TLS 1.3 in memory, x25519, ecdsa_secp256r1_sha256, "
           "TLS_AES_128_GCM_SHA256;\n"
           "handshakes per CPU-second of one thread, best of 5 interleaved batches\n");
    printf("%-11s %12s %12s %12s %15s %15s %12s %12s\n", "handshake", "engine/s", "libssl/s",
           "floor/s", "engine/libssl", "floor/engine", "memo/s", "memo/engine");
    for (bench_kind kind = BENCH_FULL; kind <= BENCH_HRR; kind++) {
        ssl_bench sb;
        engine_bench eb, mb;
        floor_bench fb;
        double e = -1, s = -1, fl = -1, m = -1;
        int eok = engine_bench_init(&eb, crypto, &f, kind), sok = ssl_bench_init(&sb, &f, kind);
        int mok = engine_bench_init(&mb, memo_crypto, &f, kind);
        int fok = kind == BENCH_FULL && floor_bench_init(&fb, crypto, &f);
        if (eok && sok && mok && (kind != BENCH_FULL || fok)) {
            bench_fn fns[4] = {run_engine, run_ssl, run_engine, run_floor};
            void *ctxs[4] = {&eb, &sb, &mb, &fb};
            double rates[4] = {-1, -1, -1, -1};
            measure(fns, ctxs, kind == BENCH_FULL ? 4 : 3, kind, seconds, 5, rates);
            e = rates[0], s = rates[1], m = rates[2], fl = rates[3];
        }
        engine_bench_cleanup(&eb);
        engine_bench_cleanup(&mb);
        ssl_bench_cleanup(&sb);
        if (kind == BENCH_FULL)
            floor_bench_cleanup(&fb);
        if (e < 0 || s < 0 || m < 0 || (kind == BENCH_FULL && fl < 0)) {
            fprintf(stderr, "tlsdrill bench: a %s handshake failed (engine %s, libssl %s)\n",
                    kind_name(kind), e < 0 ? "failed" : "ok", s < 0 ? "failed" : "ok");
            ERR_print_errors_fp(stderr);
            rc = 1;
            continue;
        }
        if (kind == BENCH_FULL)
            printf("%-11s %12.0f %12.0f %12.0f %14.2fx %14.2fx %12.0f %11.2fx\n", kind_name(kind), e,
                   s, fl, e / s, fl / e, m, m / e);
        else
            printf("%-11s %12.0f %12.0f %12s %14.2fx %15s %12.0f %11.2fx\n", kind_name(kind), e, s,
                   "-", e / s, "-", m, m / e);
    }
    td_crypto_memo_stats ms;
    td_crypto_memo_stats_get(memo_crypto, TD_MEMO_ECDH, &ms);
    printf("memo: the engine with the crypto memo on (off by default; the fuzz harness turns it "
           "on); shared secrets %llu hits / %llu misses\n",
           (unsigned long long)ms.hits, (unsigned long long)ms.misses);
    printf("targets: engine/libssl >= 1.30x; floor/engine <= 1.20x (full handshake)\n");
out:
    td_crypto_free(crypto);
    td_crypto_free(memo_crypto);
    free(f.cert_pem);
    free(f.key_pem);
    free(f.ca_pem);
    return rc;
}
