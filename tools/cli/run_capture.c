/* tools/cli/run_capture.c -- `tlsdrill run --pcap F --keylog K`: every
 * connection of every case as its own TCP stream in one capture, and the
 * NSS key log that decrypts them (run_capture.h). */
#include "run_capture.h"
#include "tlsdrill/array.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* 2024-01-01T00:00:00Z: flow N starts N seconds later (no wall clock). */
#define CAPTURE_EPOCH_US 1704067200000000ull
#define CAPTURE_FLOW_US 1000000ull
#define CAPTURE_MAX_RANDOMS 65536

td_err td_cli_capture_init(td_cli_capture *cap, bool pcap, bool keylog)
{
    memset(cap, 0, sizeof(*cap));
    if (pcap)
        TD_CHECK(td_pcap_new(CAPTURE_EPOCH_US, &cap->pcap));
    if (keylog && td_keylog_new(&cap->keylog) != TD_OK) {
        td_cli_capture_cleanup(cap);
        return TD_ERR_NOMEM;
    }
    cap->tap.arg = cap;
    cap->tap.begin = td_cli_capture_begin;
    cap->tap.wire = td_cli_capture_wire;
    cap->tap.keylog = td_cli_capture_keylog;
    return TD_OK;
}

void td_cli_capture_cleanup(td_cli_capture *cap)
{
    td_pcap_free(cap->pcap);
    td_keylog_free(cap->keylog);
    free(cap->randoms);
    for (size_t i = 0; i < cap->num_notes; i++)
        free((char *)cap->notes[i].text);
    free(cap->notes);
    memset(cap, 0, sizeof(*cap));
}

td_err td_cli_capture_end(td_cli_capture *cap)
{
    cap->pending = false;
    if (cap->pcap == NULL || !cap->has_flow)
        return cap->err;
    cap->has_flow = false;
    td_err err = td_pcap_close(cap->pcap, &cap->flow);
    if (cap->err == TD_OK)
        cap->err = err;
    return cap->err;
}

td_err td_cli_capture_begin(void *arg, const td_scn_case *c, unsigned conn)
{
    td_cli_capture *cap = arg;
    TD_CHECK(td_cli_capture_end(cap));
    cap->ours = c->sut == TD_ROLE_SERVER ? TD_ROLE_CLIENT : TD_ROLE_SERVER;
    cap->case_name = c->name;
    cap->conn = conn;
    cap->pending = true;
    cap->num_conns++;
    return TD_OK;
}

/* "tlsdrill case NAME (stream N)" on the stream's first packet. */
static td_err note_stream(td_cli_capture *cap, unsigned index)
{
    td_pcap_note *p = td_array_grow(cap->notes, cap->num_notes, &cap->cap_notes, sizeof(*p), 64);
    if (p == NULL)
        return TD_ERR_NOMEM;
    cap->notes = p;
    char text[512];
    snprintf(text, sizeof(text), "tlsdrill case %s (stream %u%s)", cap->case_name, index,
             cap->conn > 0 ? ", the resumption" : "");
    char *t = malloc(strlen(text) + 1);
    if (t == NULL)
        return TD_ERR_NOMEM;
    strcpy(t, text);
    cap->notes[cap->num_notes++] =
        (td_pcap_note){.packet = td_pcap_num_packets(cap->pcap), .text = t};
    return TD_OK;
}

void td_cli_capture_wire(void *arg, bool sent, const uint8_t *bytes, size_t len)
{
    td_cli_capture *cap = arg;
    if (cap->err != TD_OK || len == 0)
        return;
    /* A stream number is given at the first byte, so that a connection
     * that never sent anything (a peer that refused the case) takes none
     * and the numbers stay tshark's tcp.stream. */
    if (cap->pending) {
        cap->pending = false;
        unsigned index = cap->num_flows++;
        if (cap->pcap != NULL) {
            cap->err = note_stream(cap, index);
            td_pcap_flow_init(&cap->flow, index);
            td_pcap_set_time(cap->pcap, CAPTURE_EPOCH_US + (uint64_t)index * CAPTURE_FLOW_US);
            cap->has_flow = true;
        }
    }
    if (!cap->has_flow)
        return;
    /* Our client sends client-to-server; our server sends server-to-client. */
    td_dir dir = (cap->ours == TD_ROLE_CLIENT) == sent ? TD_DIR_C2S : TD_DIR_S2C;
    cap->err = td_pcap_data(cap->pcap, &cap->flow, dir, bytes, len);
}

static int hexval(char ch)
{
    if (ch >= '0' && ch <= '9')
        return ch - '0';
    if (ch >= 'a' && ch <= 'f')
        return ch - 'a' + 10;
    if (ch >= 'A' && ch <= 'F')
        return ch - 'A' + 10;
    return -1;
}

/* Wireshark matches key log lines to a connection by client_random: two
 * connections sharing one (a case that sets the random) would decrypt
 * with the wrong secrets. Warn once per clash; the first connection of a
 * flow to log it claims it. */
static void note_random(td_cli_capture *cap, const char *line)
{
    const char *sp = strchr(line, ' ');
    if (sp == NULL || strlen(sp + 1) < 64)
        return;
    uint8_t r[32];
    for (int i = 0; i < 32; i++) {
        int hi = hexval(sp[1 + 2 * i]), lo = hexval(sp[2 + 2 * i]);
        if (hi < 0 || lo < 0)
            return;
        r[i] = (uint8_t)(hi << 4 | lo);
    }
    for (size_t i = 0; i < cap->num_randoms; i++) {
        if (memcmp(cap->randoms[i].random, r, 32) != 0)
            continue;
        if (cap->randoms[i].conn != cap->num_conns && !cap->randoms[i].warned) {
            fprintf(stderr,
                    "tlsdrill run: capture: case %s reuses the client_random of a connection "
                    "of case %s; Wireshark will decrypt it with the first one's secrets\n",
                    cap->case_name, cap->randoms[i].case_name);
            cap->randoms[i].warned = true;
        }
        return;
    }
    if (cap->num_randoms == CAPTURE_MAX_RANDOMS)
        return;
    void *p = td_array_grow(cap->randoms, cap->num_randoms, &cap->cap_randoms,
                            sizeof(*cap->randoms), 256);
    if (p == NULL)
        return;
    cap->randoms = p;
    memcpy(cap->randoms[cap->num_randoms].random, r, 32);
    cap->randoms[cap->num_randoms].conn = cap->num_conns;
    cap->randoms[cap->num_randoms].case_name = cap->case_name;
    cap->randoms[cap->num_randoms].warned = false;
    cap->num_randoms++;
}

void td_cli_capture_keylog(void *arg, const char *line)
{
    td_cli_capture *cap = arg;
    if (cap->keylog == NULL)
        return;
    note_random(cap, line);
    td_keylog_append(cap->keylog, line);
}

static bool write_file(const char *path, const void *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    if (f == NULL)
        return false;
    bool ok = fwrite(data, 1, len, f) == len;
    return fclose(f) == 0 && ok;
}

int td_cli_capture_write(td_cli_capture *cap, const char *pcap_path, const char *keylog_path)
{
    int rc = 0;
    if (td_cli_capture_end(cap) != TD_OK) {
        fprintf(stderr, "tlsdrill run: capture failed: %s\n", td_err_name(cap->err));
        return 2;
    }
    size_t n = pcap_path != NULL ? strlen(pcap_path) : 0;
    if (cap->pcap != NULL && n > 7 && strcmp(pcap_path + n - 7, ".pcapng") == 0) {
        size_t klen = 0, len = 0;
        const char *keys = cap->keylog != NULL ? td_keylog_text(cap->keylog, &klen) : NULL;
        uint8_t *ng = NULL;
        if (td_pcap_to_pcapng(cap->pcap, keys, keys ? klen : 0, cap->notes, cap->num_notes, &ng,
                              &len) != TD_OK) {
            fprintf(stderr, "tlsdrill run: out of memory writing %s\n", pcap_path);
            return 2;
        }
        if (!write_file(pcap_path, ng, len)) {
            fprintf(stderr, "tlsdrill run: cannot write %s\n", pcap_path);
            rc = 2;
        }
        td_cleanse(ng, len); /* it holds the secrets */
        free(ng);
    } else if (cap->pcap != NULL && pcap_path != NULL) {
        size_t len = 0;
        const uint8_t *b = td_pcap_bytes(cap->pcap, &len);
        if (!write_file(pcap_path, b, len)) {
            fprintf(stderr, "tlsdrill run: cannot write %s\n", pcap_path);
            rc = 2;
        }
    }
    if (cap->keylog != NULL && keylog_path != NULL) {
        size_t len = 0;
        const char *t = td_keylog_text(cap->keylog, &len);
        if (t == NULL || !write_file(keylog_path, t, len)) {
            fprintf(stderr, "tlsdrill run: cannot write %s\n", keylog_path);
            rc = 2;
        }
    }
    return rc;
}
