/* tlsdrill/transcript.h -- a TLS conversation as files other tools read:
 * a pcap capture (Wireshark, tshark) and an NSS key log.
 *
 * td_pcap builds, in memory, a classic libpcap file (LINKTYPE_RAW: each
 * packet is an IPv4 datagram) of one or more TCP conversations made of the
 * bytes each side sent, in the order they were exchanged. The IPv4/TCP
 * headers are synthetic (addresses 10.0.0.1 client, 10.0.0.2 server, TLS on
 * server port 443 unless the flow says otherwise) but coherent: three-way
 * handshake, sequence and acknowledgement numbers, checksums, FIN at the
 * end, segments of at most 1460 bytes, so that Wireshark reassembles the
 * TLS stream. Timestamps are deterministic: a counter (1 ms per packet)
 * from the start time given. Nothing here does I/O: the caller writes
 * td_pcap_bytes to a file.
 *
 * td_keylog collects the lines a td_keylog_fn receives ("LABEL
 * client_random secret\n", the NSS key log format Wireshark reads with
 * tls.keylog_file), so that a capture's encrypted messages can be decoded.
 * The text holds secrets: it is wiped when freed. */
#ifndef TLSDRILL_TRANSCRIPT_H
#define TLSDRILL_TRANSCRIPT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tlsdrill/err.h"
#include "tlsdrill/pair.h"

#define TD_PCAP_LINKTYPE_RAW 101u /* the packet is an IPv4 or IPv6 header and payload */
#define TD_PCAP_MSS 1460u

typedef struct td_pcap td_pcap;

/* One TCP conversation (plain value: the caller keeps it next to the
 * connection). td_pcap_flow_init fills it; fields may be changed before the
 * first packet. */
typedef struct td_pcap_flow {
    uint8_t client_ip[4], server_ip[4];
    uint16_t client_port, server_port;
    uint32_t seq[2]; /* next sequence number sent, per td_dir */
    bool open;       /* the SYN exchange is written (done lazily by the first data) */
    bool closed;
} td_pcap_flow;

/* Returns owned (free with td_pcap_free). |start_us|: timestamp of the
 * first packet, in microseconds since the epoch (0 is fine). */
td_err td_pcap_new(uint64_t start_us, td_pcap **out) TD_WUR;
/* The same packets written as pcapng as they come (a section header and
 * one raw-IP interface, then an enhanced packet block per packet), for a
 * caller that streams the file and embeds the keys (td_pcap_secrets).
 * td_pcap_bytes, td_pcap_discard and td_pcap_num_packets work alike; the
 * buffer is wiped when freed or discarded (it may hold secrets). */
td_err td_pcapng_new(uint64_t start_us, td_pcap **out) TD_WUR;
void td_pcap_free(td_pcap *pcap);

/* The timestamp of the next packet, in microseconds since the epoch (a
 * caller that wants a flow's time to depend on its index alone). Never
 * moves the clock backwards: an earlier time is ignored. */
void td_pcap_set_time(td_pcap *pcap, uint64_t us);

/* Flow number |index| of a capture: 10.0.0.1:(49152 + index % 16384) ->
 * 10.0.0.2:443, initial sequence numbers derived from |index|. */
void td_pcap_flow_init(td_pcap_flow *flow, unsigned index);

/* Appends |len| bytes sent in direction |dir| (C2S: client to server) as
 * TCP segments; the first call writes the SYN exchange. len 0 is a no-op. */
td_err td_pcap_data(td_pcap *pcap, td_pcap_flow *flow, td_dir dir, const uint8_t *data,
                    size_t len) TD_WUR;
/* Writes the FIN exchange (client first). Nothing if the flow never opened
 * or is already closed. */
td_err td_pcap_close(td_pcap *pcap, td_pcap_flow *flow) TD_WUR;

/* Writes the whole transcript of |pair| (td_pair_records, consecutive
 * records of one direction in one call) as one flow, then closes it. */
td_err td_pcap_pair(td_pcap *pcap, td_pcap_flow *flow, const td_pair *pair) TD_WUR;

/* The file so far (global header included). Valid until the next call. */
const uint8_t *td_pcap_bytes(const td_pcap *pcap, size_t *out_len);
size_t td_pcap_num_packets(const td_pcap *pcap);
/* Drops the first |len| bytes of td_pcap_bytes (a caller streaming the
 * capture to a file writes them first); later bytes follow on. */
void td_pcap_discard(td_pcap *pcap, size_t len);

/* pcapng only (TD_ERR_ARG otherwise): a Decryption Secrets Block holding
 * |keylog| (NSS key log text, |len| bytes; nothing when 0) placed before
 * every packet still in td_pcap_bytes -- after the section header if that
 * is still there -- so that a reader (Wireshark, tshark, tlsdrill dissect)
 * has the keys before the packets they decrypt, also when the file is
 * written as it goes. */
td_err td_pcap_secrets(td_pcap *pcap, const char *keylog, size_t len) TD_WUR;

/* A comment for one packet of a pcapng copy (e.g. the case a stream is). */
typedef struct td_pcap_note {
    size_t packet; /* 0-based packet number (td_pcap_num_packets before it was written) */
    const char *text;
} td_pcap_note;

/* The same packets as a pcapng file (section header, one raw-IP interface,
 * then a Decryption Secrets Block holding |keylog| -- the NSS key log text,
 * |keylog_len| bytes, none when 0 -- so that Wireshark decrypts the file
 * alone, then one enhanced packet block per packet, with the comments of
 * |notes|, sorted by packet). Returns owned bytes (free() them; they hold
 * the secrets) in |*out|. |pcap| is a classic one (td_pcap_new). */
td_err td_pcap_to_pcapng(const td_pcap *pcap, const char *keylog, size_t keylog_len,
                         const td_pcap_note *notes, size_t num_notes, uint8_t **out,
                         size_t *out_len) TD_WUR;

typedef struct td_keylog td_keylog;

/* Returns owned (free with td_keylog_free, which wipes it). */
td_err td_keylog_new(td_keylog **out) TD_WUR;
void td_keylog_free(td_keylog *keylog);
/* A td_keylog_fn: |arg| is the td_keylog. A line without its final newline
 * gets one. Out of memory is sticky and reported by td_keylog_text. */
void td_keylog_append(void *arg, const char *line);
/* The lines so far ("" when none); NULL if an append ran out of memory. */
const char *td_keylog_text(const td_keylog *keylog, size_t *out_len);
/* Drops (and wipes) the first |len| bytes of td_keylog_text, for a caller
 * that streams the lines to a file. */
void td_keylog_discard(td_keylog *keylog, size_t len);

#endif
