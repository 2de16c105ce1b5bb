/* engine/peers/observe.c -- the SUT's alert read with its own key log.
 * Our side decrypts what the SUT sends with the keys it derived itself;
 * when the SUT derived other keys (it took a different transcript, a PSK
 * our side did not expect) or sent a plaintext alert where our side
 * expected 0-RTT keys, our side aborts on a record it cannot read. The
 * SUT's key log (NSS format) opens that record: the library dissector
 * (tlsdrill/dissect.h) decodes both streams with it and the first alert
 * record in the SUT's direction names what the SUT said. */
#include <stdlib.h>
#include <string.h>

#include "observe.h"
#include "tlsdrill/dissect.h"
#include "tlsdrill/rules.h"

/* "fatal (2)" / "decrypt_error (51)" -> the number in parentheses. */
static int paren_number(const char *v)
{
    const char *p = v != NULL ? strrchr(v, '(') : NULL;
    if (p == NULL)
        return -1;
    char *end = NULL;
    long n = strtol(p + 1, &end, 10);
    return end != p + 1 && *end == ')' && n >= 0 && n <= 255 ? (int)n : -1;
}

bool td_peer_sut_alert(td_crypto *crypto, const char *keylog, size_t keylog_len, const uint8_t *c2s,
                       size_t c2s_len, const uint8_t *s2c, size_t s2c_len, td_dir sut_dir,
                       size_t limit, td_scn_outcome *out)
{
    if (out->ours.alert_received || keylog == NULL || keylog_len == 0 || crypto == NULL)
        return false;
    td_dis_keys *keys = NULL;
    td_diag diag;
    memset(&diag, 0, sizeof(diag));
    if (td_dis_keys_parse(keylog, keylog_len, &keys, &diag) != TD_OK)
        return false;
    td_dis_node *root = NULL;
    td_dis_conn *dc = NULL;
    bool found = false;
    /* The ClientHello (client_random) first: the client's stream, then the server's. */
    if (td_dis_node_new("conn", NULL, &root) == TD_OK &&
        td_dis_conn_new(crypto, keys, NULL, root, &dc) == TD_OK &&
        (c2s_len == 0 || td_dis_conn_feed(dc, TD_DIR_C2S, c2s, c2s_len) == TD_OK) &&
        (s2c_len == 0 || td_dis_conn_feed(dc, TD_DIR_S2C, s2c, s2c_len) == TD_OK) &&
        td_dis_conn_finish(dc) == TD_OK) {
        const char *want = sut_dir == TD_DIR_C2S ? "C->S" : "S->C";
        for (size_t i = 0; i < td_dis_num_children(root) && !found; i++) {
            td_dis_node *rec = td_dis_child_at(root, i);
            const char *dir = td_dis_get(rec, "dir"), *off = td_dis_get(rec, "offset");
            if (dir == NULL || strcmp(dir, want) != 0 || off == NULL ||
                strtoull(off, NULL, 10) >= limit)
                continue;
            /* RFC 8446 §6: an alert record holds one Alert {level, description}
             * (2 bytes); anything else is not an alert we can name. */
            size_t num_alerts = 0;
            for (size_t k = 0; k < td_dis_num_children(rec); k++)
                num_alerts += strcmp(td_dis_node_name(td_dis_child_at(rec, k)), "alert") == 0;
            if (num_alerts != 1 || td_dis_get(rec, "error") != NULL)
                continue;
            for (size_t k = 0; k < td_dis_num_children(rec) && !found; k++) {
                td_dis_node *a = td_dis_child_at(rec, k);
                if (strcmp(td_dis_node_name(a), "alert") != 0)
                    continue;
                int level = paren_number(td_dis_get(a, "level"));
                int desc = paren_number(td_dis_get(a, "description"));
                if ((level != 1 && level != 2) || desc <= 0 || td_alert_name((uint8_t)desc) == NULL)
                    continue; /* close_notify is no answer to what the case did */
                out->ours.alert_received = true;
                out->ours.alert_received_level = (uint8_t)level;
                out->ours.alert_received_desc = (uint8_t)desc;
                out->alert_from_sut_keylog = true;
                found = true;
            }
        }
    }
    td_dis_conn_free(dc);
    td_dis_node_free(root);
    td_dis_keys_free(keys);
    return found;
}

void td_peer_note_hello(const uint8_t *c2s, size_t len, td_scn_outcome *out)
{
    /* RFC 8446 §5.1: the ClientHello in plaintext handshake records (it may
     * span several); gather the fragments until one whole message. */
    uint8_t msg[65536 + 4];
    size_t n = 0, pos = 0;
    while (pos + 5 <= len && c2s[pos] == 22) {
        size_t flen = (size_t)c2s[pos + 3] << 8 | c2s[pos + 4];
        if (pos + 5 + flen > len || n + flen > sizeof(msg))
            return;
        memcpy(msg + n, c2s + pos + 5, flen);
        n += flen;
        pos += 5 + flen;
        size_t need = n >= 4 ? 4 + ((size_t)msg[1] << 16 | (size_t)msg[2] << 8 | msg[3]) : 0;
        if (need > 0 && n >= need) {
            td_msg m;
            td_diag diag;
            memset(&diag, 0, sizeof(diag));
            if (msg[0] != TD_MSG_CLIENT_HELLO ||
                td_msg_parse_handshake(msg, need, NULL, &m, &diag) != TD_OK)
                return;
            out->sut_hello_seen = true;
            out->sut_psk_modes = 0;
            if (td_exts_find_const(&m.u.ch.exts, TD_EXT_PSK_KEY_EXCHANGE_MODES) != NULL)
                for (size_t i = 0; i < m.u.ch.ext.num_psk_modes; i++)
                    if (m.u.ch.ext.psk_modes[i] < 8)
                        out->sut_psk_modes |= (uint8_t)(1u << m.u.ch.ext.psk_modes[i]);
            return;
        }
    }
}

void td_peer_note_received(td_conn *ours, td_scn_outcome *out)
{
    size_t nlog = 0;
    const td_msg_record *log = td_conn_messages(ours, &nlog);
    for (size_t i = 0; i < nlog && out->num_received < sizeof(out->received); i++) {
        if (log[i].sent)
            continue;
        out->received[out->num_received] = log[i].type;
        /* RFC 8446 §4.1.3: an HRR is a ServerHello with the special random. */
        out->received_hrr[out->num_received] =
            log[i].type == TD_MSG_SERVER_HELLO && log[i].len >= 38 &&
            memcmp(log[i].bytes + 6, td_hrr_random, TD_RANDOM_LEN) == 0;
        out->num_received++;
    }
}
