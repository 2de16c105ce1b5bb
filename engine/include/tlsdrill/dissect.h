/* tlsdrill/dissect.h -- a TLS 1.3 conversation as a decoded tree: records
 * (type, version, length, protection), handshake messages decoded with the
 * message codec (tlsdrill/msg.h: every field and extension by name), alerts
 * by name; encrypted records decrypted with the secrets of an NSS key log.
 *
 * Three layers, each usable alone:
 *  - td_dis_node: the tree (name, attributes, fields, children) and its
 *    rendering as indented text or JSON;
 *  - td_dis_conn: one TLS connection fed as two byte streams (client to
 *    server, server to client) in the order they crossed; it appends a
 *    `record` node per record to a parent node. `tlsdrill replay` and the
 *    capture reader use it;
 *  - td_dissect_capture: a capture file (classic pcap, either byte order,
 *    micro/nanosecond; pcapng; link types Ethernet, raw IP, IPv4, IPv6,
 *    BSD loopback, Linux cooked) -> IPv4/IPv6 + TCP -> per-stream
 *    reassembly -> td_dis_conn per stream.
 *
 * Decryption (RFC 8446 §7.3, §5.2): from the client_random of a stream's
 * ClientHello, the key log's CLIENT_EARLY_TRAFFIC_SECRET,
 * [CLIENT|SERVER]_HANDSHAKE_TRAFFIC_SECRET, [CLIENT|SERVER]_TRAFFIC_SECRET_0
 * give each direction's keys in order; each encrypted record is tried with
 * the current keys, then with the later ones (0-RTT rejected, a skipped
 * epoch), and a KeyUpdate (§4.6.3) moves its sender to the next
 * application secret (§7.2). A record no key authenticates stays encrypted.
 *
 * Bad input never crashes: a malformed capture is an error with a message
 * (packet number and byte offset); a capture cut short (the file ends
 * inside a packet or block) is decoded up to the cut, the part of the cut
 * packet that is there included, and the tree's `truncated` field says
 * where it stopped; malformed TLS inside a stream is shown in the tree (an
 * `error` field on the record or message), not an error. */
#ifndef TLSDRILL_DISSECT_H
#define TLSDRILL_DISSECT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "tlsdrill/crypto.h"
#include "tlsdrill/err.h"
#include "tlsdrill/pair.h"

/* ---- the tree ---- */

typedef struct td_dis_node td_dis_node;

/* Returns owned (free with td_dis_node_free, which frees the subtree).
 * |value| may be NULL. */
td_err td_dis_node_new(const char *name, const char *value, td_dis_node **out) TD_WUR;
void td_dis_node_free(td_dis_node *node);
/* A new child of |parent| (owned by it), returned borrowed in |*out|. */
td_err td_dis_child(td_dis_node *parent, const char *name, td_dis_node **out) TD_WUR;
/* Attributes print on the node's own line in text ("key=value"); fields on
 * lines of their own ("key: value"). Both are "key": "value" in JSON. */
td_err td_dis_attr(td_dis_node *node, const char *key, const char *fmt, ...) TD_PRINTF(3, 4) TD_WUR;
td_err td_dis_field(td_dis_node *node, const char *key, const char *fmt, ...)
    TD_PRINTF(3, 4) TD_WUR;
/* A field holding |len| bytes in hex (at most |max| shown, then "... (N
 * bytes)"; max 0 = all). */
td_err td_dis_hex(td_dis_node *node, const char *key, const uint8_t *data, size_t len,
                  size_t max) TD_WUR;

const char *td_dis_node_name(const td_dis_node *node);
size_t td_dis_num_children(const td_dis_node *node);
td_dis_node *td_dis_child_at(const td_dis_node *node, size_t i);
/* The value of attribute or field |key|, NULL if none. */
const char *td_dis_get(const td_dis_node *node, const char *key);

/* Indented text, two spaces per level, starting at |depth|. */
void td_dis_print_text(const td_dis_node *node, FILE *out, int depth);
/* {"node": NAME, "value": V, "fields": {attributes and fields}, "children": [...]} */
void td_dis_print_json(const td_dis_node *node, FILE *out);

/* ---- NSS key log ---- */

typedef struct td_dis_keys td_dis_keys;

/* Parses the key log text (lines "LABEL <64 hex client_random> <hex
 * secret>", '#' comments, blank lines; labels this dissector does not use
 * are skipped). A malformed line: TD_ERR_FORMAT with "line N: why" in
 * |diag|. Returns owned (free with td_dis_keys_free, which wipes it). */
td_err td_dis_keys_parse(const char *text, size_t len, td_dis_keys **out, td_diag *diag) TD_WUR;
void td_dis_keys_free(td_dis_keys *keys);
size_t td_dis_keys_count(const td_dis_keys *keys);

/* ---- one connection ---- */

/* Whether a connection's protected records are fuzzer mode's plaintext
 * (td_config.fuzzer_mode, td_rec_cipher_init_null: TLSInnerPlaintext, then
 * a tag of zeros whose first byte may be the 0-RTT mark). Such records are
 * read without keys; the epoch is told by the 0-RTT mark and, after its
 * sender's Finished, is application. */
typedef enum td_dis_fm {
    /* Detected per connection: while no record of it has opened under a
     * logged key, a protected record that does not open, holds a defined
     * inner content type and ends in fuzzer mode's tag (15 or 16 zero
     * bytes: 2^-120 for a real AEAD tag) turns fuzzer mode on for that
     * connection; the record says so in a `fuzzer_mode` field. */
    TD_DIS_FM_AUTO = 0,
    TD_DIS_FM_ON,  /* every connection (e.g. replay of an _fm target) */
    TD_DIS_FM_OFF, /* none: such records stay "encrypted" */
} td_dis_fm;

typedef struct td_dis_opts {
    size_t max_hex;     /* bytes of hex shown per value; 0 = 32 */
    bool show_app_data; /* decrypted application data as hex (default: its length only) */
    td_dis_fm fuzzer_mode;
} td_dis_opts;

typedef struct td_dis_conn td_dis_conn;

/* |crypto| and |keys| (NULL: no decryption) are borrowed, as is |parent|,
 * which receives one child per record. |opts| may be NULL. Returns owned
 * (free with td_dis_conn_free). */
td_err td_dis_conn_new(td_crypto *crypto, const td_dis_keys *keys, const td_dis_opts *opts,
                       td_dis_node *parent, td_dis_conn **out) TD_WUR;
void td_dis_conn_free(td_dis_conn *conn);
/* Bytes that crossed in |dir|; complete records become nodes at once, a
 * partial record waits for the rest. len 0 is a no-op. Only TD_ERR_NOMEM
 * (and TD_ERR_ARG for NULL data or a bad direction) is an error. */
td_err td_dis_conn_feed(td_dis_conn *conn, td_dir dir, const uint8_t *data, size_t len) TD_WUR;
/* The end of both streams: a trailing partial record becomes a
 * `truncated` node. */
td_err td_dis_conn_finish(td_dis_conn *conn) TD_WUR;
/* Records seen / decrypted so far. */
size_t td_dis_conn_records(const td_dis_conn *conn, size_t *out_decrypted);

/* ---- captures ---- */

typedef struct td_dis_capture_opts {
    td_dis_opts conn;
    long stream; /* only this TCP stream (tshark's tcp.stream numbering); -1 = all */
    /* Stream labels (e.g. a run's case names): label[i] names stream i. */
    const char *const *labels;
    size_t num_labels;
} td_dis_capture_opts;

/* Dissects a whole capture into a new tree (returned owned in |*out|):
 * a `capture` node (format, link type, packets, streams) with one `stream`
 * child per TCP stream in order of first packet. |keys| may be NULL: then
 * the key log text of a pcapng's Decryption Secrets Blocks, if any, is used.
 * A malformed or unsupported file: TD_ERR_FORMAT / TD_ERR_UNSUPPORTED, the
 * reason (packet number, byte offset) in |diag|, and no tree. A file cut
 * short is not an error: the tree has a `truncated` field ("at byte N,
 * packet K (...)"). */
td_err td_dissect_capture(td_crypto *crypto, const uint8_t *data, size_t len,
                          const td_dis_keys *keys, const td_dis_capture_opts *opts,
                          td_dis_node **out, td_diag *diag) TD_WUR;

/* Names used in the tree (never NULL: "unknown" / "GREASE" / "0x..."). */
const char *td_dis_version_name(uint16_t version, char buf[16]);

#endif
