/* engine/peers/peer_exec.c -- the child process of an `exec:` peer: the
 * SUT's configuration handed to a shim as TD_* environment variables and
 * PEM files (BoGo-shim style), the process started in its own process
 * group and stopped by that id.
 *
 * Variables (lists comma-separated, names as the engine spells them):
 *   TD_ROLE server|client (the SUT's)   TD_PORT  TD_HOST (127.0.0.1)  TD_DIR
 *   TD_CERT TD_KEY  the SUT's chain and key (PEM files; unset: none)
 *   TD_CA           trust anchor (PEM file)     TD_NO_VERIFY 0|1
 *   TD_SUITES       TLS_AES_128_GCM_SHA256,...  (unknown values as 0xNNNN)
 *   TD_GROUPS       x25519,secp256r1,...        TD_SHARES (client; empty: first group)
 *   TD_SIGALGS      ecdsa_secp256r1_sha256,...  TD_ALPN  h2,http/1.1
 *   TD_SNI          client: server_name to send (empty: none);
 *                   server: the only name its certificate serves (empty: any)
 *   TD_CLIENT_AUTH  none|request|require        TD_TICKETS N
 *   TD_HRR          auto|always  TD_HRR_GROUPS  (always: groups without a share
 *                   of our client, in which a server asking again would succeed)
 *   TD_COOKIE 0|1   TD_EARLY_DATA N (server: max accepted; client: bytes sent)
 *   TD_EARLY_DATA_FILE (client)  TD_SESSION (client: file to save to / resume from)
 *   TD_RESUME       "" | first (a resumption follows) | second (resume TD_SESSION)
 *   TD_PSK_KE TD_PSK_KE_ONLY TD_COMPAT 0|1   TD_RECORD_SIZE N (0: default)
 *   TD_PSK_IDENTITY TD_PSK_KEY (hex) TD_PSK_SUITE  an external PSK (both roles; empty: none)
 *   TD_VERIFY_NAME  client: the DNS name to verify our server's certificate against
 *   TD_KEYLOG       a file: the shim has the SUT write its NSS key log there
 * Lists that are empty mean the engine's defaults (conn.h). The contract for
 * shim authors: tools/peers/README.md. */
#define _GNU_SOURCE /* mkdtemp, setpgid, kill */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "peer_kinds.h"
#include "peer_net_internal.h"
#include "tlsdrill/crypto.h"

#define EXEC_MAX_ENV 40
#define EXEC_ENV_LEN 1024

typedef struct env_list {
    char vars[EXEC_MAX_ENV][EXEC_ENV_LEN];
    size_t num;
    bool overflow;
} env_list;

static void env_set(env_list *e, const char *name, const char *fmt, ...) TD_PRINTF(3, 4);
static void env_set(env_list *e, const char *name, const char *fmt, ...)
{
    if (e->num == EXEC_MAX_ENV) {
        e->overflow = true;
        return;
    }
    char *v = e->vars[e->num++];
    int n = snprintf(v, EXEC_ENV_LEN, "%s=", name);
    va_list ap;
    va_start(ap, fmt);
    int m = vsnprintf(v + n, EXEC_ENV_LEN - (size_t)n, fmt, ap);
    va_end(ap);
    if (m < 0 || (size_t)(n + m) >= EXEC_ENV_LEN)
        e->overflow = true;
}

/* "a,b,c" from a list of code points named by |name_of| (0xNNNN if unnamed). */
static void list_text(const uint16_t *list, size_t num, const char *(*name_of)(uint16_t), char *out,
                      size_t cap)
{
    size_t o = 0;
    out[0] = '\0';
    for (size_t i = 0; i < num && o < cap; i++) {
        const char *n = name_of(list[i]);
        int w = n != NULL ? snprintf(out + o, cap - o, "%s%s", i ? "," : "", n)
                          : snprintf(out + o, cap - o, "%s0x%04x", i ? "," : "", list[i]);
        o += w > 0 ? (size_t)w : 0;
    }
}

static const char *suite_name(uint16_t id)
{
    const td_suite *s = td_suite_get(id);
    return s != NULL ? s->name : NULL;
}

static const uint16_t default_groups[] = {0x001d, 0x0017, 0x0018};

/* Writes DER certificates as PEM to |path|. */
static bool write_certs(const char *path, const td_der *certs, size_t num)
{
    FILE *f = fopen(path, "w");
    bool ok = f != NULL;
    for (size_t i = 0; ok && i < num; i++) {
        const unsigned char *p = certs[i].data;
        X509 *x = d2i_X509(NULL, &p, (long)certs[i].len);
        ok = x != NULL && PEM_write_X509(f, x) == 1;
        X509_free(x);
    }
    if (f != NULL && fclose(f) != 0)
        ok = false;
    return ok;
}

static bool write_key(const char *path, const td_pkey *key)
{
    EVP_PKEY *pk = td_pkey_evp(key);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;
    if (f == NULL) {
        if (fd >= 0)
            close(fd);
        return false;
    }
    bool ok = pk != NULL && PEM_write_PrivateKey(f, pk, NULL, NULL, 0, NULL, NULL) == 1;
    return fclose(f) == 0 && ok;
}

static bool write_bytes(const char *path, const uint8_t *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    if (f == NULL)
        return false;
    bool ok = len == 0 || fwrite(data, 1, len, f) == len;
    return fclose(f) == 0 && ok;
}

td_err td_exec_init(td_exec *x, const char *cmd)
{
    memset(x, 0, sizeof(*x));
    x->stdin_fd = -1;
    x->exit_status = -1;
    x->cmd = strdup(cmd);
    if (x->cmd == NULL)
        return TD_ERR_NOMEM;
    const char *tmp = getenv("TMPDIR");
    snprintf(x->dir, sizeof(x->dir), "%s/tlsdrill-exec-XXXXXX", tmp && tmp[0] ? tmp : "/tmp");
    if (mkdtemp(x->dir) == NULL) {
        x->dir[0] = '\0';
        return TD_ERR_IO;
    }
    return TD_OK;
}

void td_exec_cleanup(td_exec *x)
{
    td_exec_stop(x);
    if (x->dir[0] != '\0') {
        /* Our files and whatever the shims wrote there (TD_DIR is theirs too). */
        char path[1024];
        DIR *d = opendir(x->dir);
        struct dirent *ent;
        while (d != NULL && (ent = readdir(d)) != NULL) {
            if (strcmp(ent->d_name, ".") == 0 || strcmp(ent->d_name, "..") == 0)
                continue;
            snprintf(path, sizeof(path), "%s/%s", x->dir, ent->d_name);
            unlink(path);
        }
        if (d != NULL)
            closedir(d);
        rmdir(x->dir);
        x->dir[0] = '\0';
    }
    free(x->cmd);
    x->cmd = NULL;
}

/* The command with {port} and {role} substituted; NULL if too long. */
static char *substitute(const char *cmd, uint16_t port, const char *role)
{
    char p[8];
    snprintf(p, sizeof(p), "%u", port);
    size_t cap = strlen(cmd) * 2 + 64, o = 0;
    char *out = malloc(cap);
    if (out == NULL)
        return NULL;
    for (const char *s = cmd; *s;) {
        const char *v = NULL;
        size_t skip = 1;
        if (strncmp(s, "{port}", 6) == 0)
            v = p, skip = 6;
        else if (strncmp(s, "{role}", 6) == 0)
            v = role, skip = 6;
        size_t n = v ? strlen(v) : 1;
        if (o + n + 1 > cap) {
            free(out);
            return NULL;
        }
        memcpy(out + o, v ? v : s, n);
        o += n;
        s += skip;
    }
    out[o] = '\0';
    return out;
}

static void hex_text(const uint8_t *p, size_t n, char *out, size_t cap)
{
    size_t o = 0;
    out[0] = '\0';
    for (size_t i = 0; i < n && o + 3 <= cap; i++)
        o += (size_t)snprintf(out + o, cap - o, "%02x", p[i]);
}

/* The DNS name a client SUT verifies our server's certificate against: the
 * first DNS subjectAltName of our end-entity certificate (else its CN). */
static void verify_name(const td_config *ours, char *out, size_t cap)
{
    out[0] = '\0';
    if (ours->num_certs == 0 || ours->certs[0].num_chain == 0)
        return;
    const unsigned char *p = ours->certs[0].chain[0].data;
    X509 *x = d2i_X509(NULL, &p, (long)ours->certs[0].chain[0].len);
    if (x == NULL)
        return;
    GENERAL_NAMES *names = X509_get_ext_d2i(x, NID_subject_alt_name, NULL, NULL);
    for (int i = 0; names != NULL && i < sk_GENERAL_NAME_num(names) && out[0] == '\0'; i++) {
        const GENERAL_NAME *g = sk_GENERAL_NAME_value(names, i);
        if (g->type == GEN_DNS)
            snprintf(out, cap, "%.*s", ASN1_STRING_length(g->d.dNSName),
                     (const char *)ASN1_STRING_get0_data(g->d.dNSName));
    }
    GENERAL_NAMES_free(names);
    if (out[0] == '\0')
        X509_NAME_get_text_by_NID(X509_get_subject_name(x), NID_commonName, out, (int)cap);
    X509_free(x);
}

/* An external PSK (RFC 8446 §4.2.11) of the SUT: the server's table entry or
 * the client's external "session". */
static void psk_env(const td_config *sut, env_list *e)
{
    char buf[EXEC_ENV_LEN - 32];
    const uint8_t *id = NULL, *key = NULL;
    size_t id_len = 0, key_len = 0;
    uint16_t suite = 0;
    if (sut->role == TD_ROLE_SERVER && sut->num_psks > 0) {
        id = sut->psks[0].identity, id_len = sut->psks[0].identity_len;
        key = sut->psks[0].psk, key_len = sut->psks[0].psk_len, suite = sut->psks[0].suite;
    } else if (sut->role == TD_ROLE_CLIENT && sut->resume != NULL && sut->resume->external) {
        id = sut->resume->ticket, id_len = sut->resume->ticket_len;
        key = sut->resume->psk, key_len = sut->resume->psk_len, suite = sut->resume->suite;
    }
    hex_text(id, id_len, buf, sizeof(buf));
    env_set(e, "TD_PSK_IDENTITY", "%s", buf);
    hex_text(key, key_len, buf, sizeof(buf));
    env_set(e, "TD_PSK_KEY", "%s", buf);
    const char *sn = suite ? suite_name(suite) : NULL;
    env_set(e, "TD_PSK_SUITE", "%s", id == NULL ? "" : sn ? sn : "TLS_AES_128_GCM_SHA256");
}

static td_err build_env(td_exec *x, const td_config *ours, const td_config *sut, uint16_t port,
                        const char *resume, env_list *e)
{
    char path[512], buf[EXEC_ENV_LEN - 32];
    bool server = sut->role == TD_ROLE_SERVER;
    env_set(e, "TD_ROLE", "%s", server ? "server" : "client");
    env_set(e, "TD_PORT", "%u", port);
    env_set(e, "TD_HOST", "127.0.0.1");
    env_set(e, "TD_DIR", "%s", x->dir);
    if (sut->num_certs > 0) {
        snprintf(path, sizeof(path), "%s/cert.pem", x->dir);
        if (!write_certs(path, sut->certs[0].chain, sut->certs[0].num_chain))
            return TD_ERR_IO;
        env_set(e, "TD_CERT", "%s", path);
        snprintf(path, sizeof(path), "%s/key.pem", x->dir);
        if (!write_key(path, sut->certs[0].key))
            return TD_ERR_IO;
        env_set(e, "TD_KEY", "%s", path);
        if (server)
            env_set(e, "TD_SNI", "%s", sut->certs[0].sni ? sut->certs[0].sni : "");
    } else if (server) {
        env_set(e, "TD_SNI", "%s", "");
    }
    if (sut->trust_anchor != NULL) {
        td_der anchor = {.data = (uint8_t *)sut->trust_anchor, .len = sut->trust_anchor_len};
        snprintf(path, sizeof(path), "%s/ca.pem", x->dir);
        if (!write_certs(path, &anchor, 1))
            return TD_ERR_IO;
        env_set(e, "TD_CA", "%s", path);
    }
    env_set(e, "TD_NO_VERIFY", "%d", sut->no_verify);
    list_text(sut->suites, sut->num_suites, suite_name, buf, sizeof(buf));
    env_set(e, "TD_SUITES", "%s", buf);
    list_text(sut->groups, sut->num_groups, td_group_name, buf, sizeof(buf));
    env_set(e, "TD_GROUPS", "%s", buf);
    list_text(sut->sigalgs, sut->num_sigalgs, td_sig_name, buf, sizeof(buf));
    env_set(e, "TD_SIGALGS", "%s", buf);
    size_t o = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < sut->num_alpn && o < sizeof(buf); i++) {
        int w = snprintf(buf + o, sizeof(buf) - o, "%s%s", i ? "," : "", sut->alpn[i]);
        o += w > 0 ? (size_t)w : 0;
    }
    env_set(e, "TD_ALPN", "%s", buf);
    env_set(e, "TD_RECORD_SIZE", "%zu", sut->max_fragment);
    env_set(e, "TD_RESUME", "%s", resume);
    psk_env(sut, e);
    /* The SUT's NSS key log: the runner reads alerts our side cannot decrypt. */
    snprintf(path, sizeof(path), "%s/keylog.txt", x->dir);
    unlink(path);
    env_set(e, "TD_KEYLOG", "%s", path);
    snprintf(path, sizeof(path), "%s/session.pem", x->dir);
    if (strcmp(resume, "second") != 0)
        unlink(path); /* a new case: no session of the last one */
    if (server) {
        const char *ca = sut->client_auth == TD_CLIENT_AUTH_REQUIRE   ? "require"
                         : sut->client_auth == TD_CLIENT_AUTH_REQUEST ? "request"
                                                                      : "none";
        env_set(e, "TD_CLIENT_AUTH", "%s", ca);
        env_set(e, "TD_TICKETS", "%u", sut->num_tickets);
        env_set(e, "TD_COOKIE", "%d", sut->hrr_cookie);
        env_set(e, "TD_EARLY_DATA", "%u", sut->accept_early_data ? sut->max_early_data : 0);
        env_set(e, "TD_HRR", "%s", sut->hrr == TD_HRR_ALWAYS ? "always" : "auto");
        if (sut->hrr == TD_HRR_ALWAYS) {
            /* A server asks again only when no share of the client is in its
             * groups: its groups less those our client has shares for. */
            const uint16_t *g = sut->groups ? sut->groups : default_groups;
            size_t ng = sut->groups ? sut->num_groups : 3;
            const uint16_t *cg = ours->groups ? ours->groups : default_groups;
            size_t ncg = ours->groups ? ours->num_groups : 3;
            const uint16_t *sh = ours->share_groups ? ours->share_groups : cg;
            size_t nsh = ours->share_groups ? ours->num_share_groups : 1;
            uint16_t keep[32];
            size_t nk = 0;
            for (size_t i = 0; i < ng && nk < 32; i++)
                if (!td_u16_in(sh, nsh, g[i]) && td_u16_in(cg, ncg, g[i]))
                    keep[nk++] = g[i];
            list_text(keep, nk, td_group_name, buf, sizeof(buf));
            env_set(e, "TD_HRR_GROUPS", "%s", buf);
        }
    } else {
        env_set(e, "TD_SNI", "%s", sut->server_name ? sut->server_name : "");
        verify_name(ours, buf, sizeof(buf));
        env_set(e, "TD_VERIFY_NAME", "%s", buf);
        list_text(sut->share_groups, sut->num_share_groups, td_group_name, buf, sizeof(buf));
        env_set(e, "TD_SHARES", "%s", buf);
        env_set(e, "TD_PSK_KE", "%d", sut->psk_ke);
        env_set(e, "TD_PSK_KE_ONLY", "%d", sut->psk_ke_only);
        env_set(e, "TD_COMPAT", "%d", sut->compat_mode);
        env_set(e, "TD_SESSION", "%s", path);
        env_set(e, "TD_EARLY_DATA", "%zu", sut->early_data_len);
        if (sut->early_data_len > 0) {
            snprintf(path, sizeof(path), "%s/early.bin", x->dir);
            if (!write_bytes(path, sut->early_data, sut->early_data_len))
                return TD_ERR_IO;
            env_set(e, "TD_EARLY_DATA_FILE", "%s", path);
        }
    }
    return e->overflow ? TD_ERR_LIMIT : TD_OK;
}

/* A command that is one word naming a file by its path (a '/' in it, only
 * characters the shell takes literally): `sh -c` would only exec it, so it
 * is started directly, one process start less per connection (each costs
 * milliseconds of CPU, and a case starts one or two). */
static bool plain_path(const char *cmd)
{
    if (strchr(cmd, '/') == NULL)
        return false;
    for (const char *s = cmd; *s != '\0'; s++)
        if (!isalnum((unsigned char)*s) && strchr("/._+-,:@%", *s) == NULL)
            return false;
    return true;
}

/* The child's environment: ours with the variables of |e| set (an inherited
 * one of the same name left out). Returns an owned array of borrowed
 * strings (free the array only), NULL when out of memory. */
static char **child_env(const env_list *e)
{
    size_t n = 0, o = 0;
    while (environ[n] != NULL)
        n++;
    char **out = calloc(n + e->num + 1, sizeof(*out));
    if (out == NULL)
        return NULL;
    for (size_t i = 0; i < n; i++) {
        bool replaced = false;
        for (size_t j = 0; j < e->num && !replaced; j++)
            replaced = strncmp(environ[i], e->vars[j], strcspn(e->vars[j], "=") + 1) == 0;
        if (!replaced)
            out[o++] = environ[i];
    }
    for (size_t j = 0; j < e->num; j++)
        out[o++] = (char *)e->vars[j];
    return out;
}

/* Starts |cmd| with |envp|: its own process group (stopped as one), stdin
 * |in_fd|, stdout |null_fd|, stderr |err_fd|, no signal blocked and SIGPIPE
 * at its default. posix_spawn (vfork-like: the worker's pages are not copied
 * for a child that only execs). A plain path that cannot be executed goes
 * to the shell after all, which says why (exit 126/127) as it always did.
 * Returns the child's pid, or -1. */
static pid_t spawn_child(char *cmd, char **envp, int in_fd, int null_fd, int err_fd)
{
    posix_spawn_file_actions_t fa;
    posix_spawnattr_t at;
    pid_t pid = -1;
    if (posix_spawn_file_actions_init(&fa) != 0)
        return -1;
    if (posix_spawnattr_init(&at) != 0) {
        posix_spawn_file_actions_destroy(&fa);
        return -1;
    }
    sigset_t none, dfl;
    sigemptyset(&none);
    sigemptyset(&dfl);
    sigaddset(&dfl, SIGPIPE);
    bool ok = posix_spawn_file_actions_adddup2(&fa, in_fd, 0) == 0 &&
              posix_spawn_file_actions_adddup2(&fa, null_fd, 1) == 0 &&
              posix_spawn_file_actions_adddup2(&fa, err_fd, 2) == 0 &&
              posix_spawnattr_setflags(&at, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK |
                                                POSIX_SPAWN_SETSIGDEF) == 0 &&
              posix_spawnattr_setpgroup(&at, 0) == 0 &&
              posix_spawnattr_setsigmask(&at, &none) == 0 &&
              posix_spawnattr_setsigdefault(&at, &dfl) == 0;
    char *direct[] = {cmd, NULL}, *shell[] = {"sh", "-c", cmd, NULL};
    if (ok && (!plain_path(cmd) || posix_spawn(&pid, cmd, &fa, &at, direct, envp) != 0) &&
        posix_spawn(&pid, "/bin/sh", &fa, &at, shell, envp) != 0)
        pid = -1;
    posix_spawnattr_destroy(&at);
    posix_spawn_file_actions_destroy(&fa);
    return ok ? pid : -1;
}

td_err td_exec_start(td_exec *x, const td_config *ours, const td_config *sut, uint16_t port,
                     const char *resume)
{
    td_exec_stop(x);
    env_list *e = calloc(1, sizeof(*e));
    if (e == NULL)
        return TD_ERR_NOMEM;
    td_err err = build_env(x, ours, sut, port, resume, e);
    char *cmd = err == TD_OK
                    ? substitute(x->cmd, port, sut->role == TD_ROLE_SERVER ? "server" : "client")
                    : NULL;
    char **envp = err == TD_OK ? child_env(e) : NULL;
    char errpath[512];
    snprintf(errpath, sizeof(errpath), "%s/stderr.txt", x->dir);
    int pipefd[2] = {-1, -1};
    if (err == TD_OK && cmd == NULL)
        err = TD_ERR_LIMIT;
    if (err == TD_OK && envp == NULL)
        err = TD_ERR_NOMEM;
    int errfd = err == TD_OK ? open(errpath, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600) : -1;
    int nullfd = err == TD_OK ? open("/dev/null", O_RDWR | O_CLOEXEC) : -1;
    if (err == TD_OK && (errfd < 0 || nullfd < 0 || pipe2(pipefd, O_CLOEXEC) != 0))
        err = TD_ERR_IO;
    /* stdin a pipe we hold open, stdout discarded, stderr kept for the reason. */
    pid_t pid = err == TD_OK ? spawn_child(cmd, envp, pipefd[0], nullfd, errfd) : -1;
    if (err == TD_OK && pid < 0)
        err = TD_ERR_IO;
    if (pid > 0) {
        x->pid = pid;
        x->exit_status = -1;
        x->stdin_fd = pipefd[1];
        pipefd[1] = -1;
    }
    if (pipefd[0] >= 0)
        close(pipefd[0]);
    if (pipefd[1] >= 0)
        close(pipefd[1]);
    if (errfd >= 0)
        close(errfd);
    if (nullfd >= 0)
        close(nullfd);
    free(envp);
    free(cmd);
    free(e);
    return err;
}

bool td_exec_running(td_exec *x)
{
    if (x->pid <= 0)
        return false;
    int st = 0;
    pid_t r = waitpid(x->pid, &st, WNOHANG);
    if (r == 0)
        return true;
    x->exit_status = r == x->pid ? st : -1;
    /* Whatever it left in its group goes too. */
    kill(-x->pid, SIGKILL);
    x->pid = 0;
    if (x->stdin_fd >= 0)
        close(x->stdin_fd);
    x->stdin_fd = -1;
    return false;
}

static void sleep_ms(long ms)
{
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

void td_exec_stop(td_exec *x)
{
    if (x->pid > 0 && td_exec_running(x)) {
        kill(-x->pid, SIGTERM);
        /* At least 1 s for it to end; most are gone within a millisecond,
         * so look again soon (1, 2, 4, 8 ms), then every 10 ms. */
        for (long waited = 0, step = 1; waited < 1000 && td_exec_running(x);
             waited += step, step = step < 8 ? step * 2 : 10)
            sleep_ms(step);
        if (x->pid > 0) {
            kill(-x->pid, SIGKILL);
            int st = 0;
            waitpid(x->pid, &st, 0);
            x->pid = 0;
        }
    }
    if (x->stdin_fd >= 0)
        close(x->stdin_fd);
    x->stdin_fd = -1;
}

static void read_stderr(const td_exec *x, char *buf, size_t len)
{
    char path[512];
    snprintf(path, sizeof(path), "%s/stderr.txt", x->dir);
    buf[0] = '\0';
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return;
    size_t n = fread(buf, 1, len - 1, f);
    buf[n] = '\0';
    fclose(f);
}

bool td_exec_unsupported(td_exec *x, char *note, size_t note_len)
{
    if (x->pid > 0 || x->exit_status < 0 || !WIFEXITED(x->exit_status) ||
        WEXITSTATUS(x->exit_status) != TD_EXEC_UNSUPPORTED)
        return false;
    char buf[512];
    read_stderr(x, buf, sizeof(buf));
    buf[strcspn(buf, "\r\n")] = '\0';
    snprintf(note, note_len, "%s", buf[0] ? buf : "the shim exited 89 (unsupported)");
    return true;
}

bool td_exec_has_session(const td_exec *x)
{
    char path[512];
    struct stat st;
    snprintf(path, sizeof(path), "%s/session.pem", x->dir);
    return stat(path, &st) == 0 && st.st_size > 0;
}

void td_exec_stderr_tail(const td_exec *x, char *buf, size_t len)
{
    char all[4096];
    read_stderr(x, all, sizeof(all));
    size_t n = strlen(all);
    while (n > 0 && (all[n - 1] == '\n' || all[n - 1] == '\r'))
        all[--n] = '\0';
    const char *start = n + 1 > len ? all + n + 1 - len : all;
    snprintf(buf, len, "%s", start);
    for (char *p = buf; *p; p++)
        if (*p == '\n' || *p == '\r')
            *p = ' ';
}

void td_exec_log(const td_exec *x, char *buf, size_t len)
{
    char all[16384];
    read_stderr(x, all, sizeof(all));
    size_t n = strlen(all);
    while (n > 0 && (all[n - 1] == '\n' || all[n - 1] == '\r'))
        all[--n] = '\0';
    if (n < len) {
        memcpy(buf, all, n + 1);
        return;
    }
    /* The beginning (what the shim was asked, its first complaint) and the end. */
    size_t head = (len - 8) / 2, tail = len - 8 - head;
    snprintf(buf, len, "%.*s\n[...]\n%s", (int)head, all, all + n - tail);
}

char *td_exec_keylog(const td_exec *x, size_t *out_len)
{
    char path[512];
    snprintf(path, sizeof(path), "%s/keylog.txt", x->dir);
    *out_len = 0;
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return NULL;
    size_t cap = 4096, n = 0;
    char *b = malloc(cap);
    while (b != NULL) {
        size_t r = fread(b + n, 1, cap - n - 1, f);
        n += r;
        if (r == 0)
            break;
        if (n + 1 == cap) {
            char *nb = cap < (1u << 20) ? realloc(b, cap * 2) : NULL;
            if (nb == NULL)
                break;
            b = nb;
            cap *= 2;
        }
    }
    fclose(f);
    if (b == NULL || n == 0) {
        free(b);
        return NULL;
    }
    b[n] = '\0';
    *out_len = n;
    return b;
}

bool td_exec_cannot_execute(td_exec *x, char *note, size_t note_len)
{
    if (x->pid > 0 || x->exit_status < 0 || !WIFEXITED(x->exit_status) ||
        (WEXITSTATUS(x->exit_status) != 126 && WEXITSTATUS(x->exit_status) != 127))
        return false;
    char buf[512];
    read_stderr(x, buf, sizeof(buf));
    buf[strcspn(buf, "\r\n")] = '\0';
    snprintf(note, note_len, "cannot execute '%s' (exit %d): %s", x->cmd,
             WEXITSTATUS(x->exit_status), buf[0] ? buf : "no message");
    return true;
}

bool td_peer_exec_version(const char *spec, char *buf, size_t len)
{
    buf[0] = '\0';
    if (strncmp(spec, "exec:", 5) != 0 || len == 0)
        return false;
    char *cmd = substitute(spec + 5, 0, "version");
    int out[2] = {-1, -1};
    if (cmd == NULL || pipe2(out, O_CLOEXEC) != 0) {
        free(cmd);
        return false;
    }
    pid_t pid = fork();
    if (pid == 0) {
        /* TD_ROLE=version: the shim prints the SUT's version and exits 0. */
        setpgid(0, 0);
        int nullfd = open("/dev/null", O_RDWR | O_CLOEXEC);
        dup2(nullfd, 0);
        dup2(out[1], 1);
        dup2(nullfd, 2);
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        setenv("TD_ROLE", "version", 1);
        execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
        _exit(127);
    }
    close(out[1]);
    free(cmd);
    if (pid < 0) {
        close(out[0]);
        return false;
    }
    setpgid(pid, pid);
    size_t n = 0;
    struct pollfd pfd = {.fd = out[0], .events = POLLIN};
    for (int waited = 0; n + 1 < len && waited < 5000;) {
        if (poll(&pfd, 1, 100) <= 0) {
            waited += 100;
            continue;
        }
        ssize_t r = read(out[0], buf + n, len - 1 - n);
        if (r <= 0)
            break;
        n += (size_t)r;
    }
    buf[n] = '\0';
    close(out[0]);
    kill(-pid, SIGKILL);
    int st = 0;
    waitpid(pid, &st, 0);
    buf[strcspn(buf, "\r\n")] = '\0';
    return WIFEXITED(st) && WEXITSTATUS(st) == 0 && buf[0] != '\0';
}
