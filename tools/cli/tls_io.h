/* tools/cli/tls_io.h -- one td_conn driven over a socket, for `tlsdrill
 * serve` and `tlsdrill connect`: moves bytes with deadlines (net.h), keeps
 * the virtual clock on real time, mirrors the bytes into a pcap flow, and
 * sums up the connection as a verdict:
 *   ok       the handshake completed,
 *   garbage  the peer's first bytes are not a TLS record header,
 *   alert    an alert was sent or received,
 *   timeout  the peer went quiet past a deadline,
 *   closed   the peer closed or reset the TCP connection,
 *   signal / error  we were told to stop / a local failure. */
#ifndef TD_CLI_TLS_IO_H
#define TD_CLI_TLS_IO_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "tlsdrill/net.h"
#include "tlsdrill/conn.h"
#include "tlsdrill/transcript.h"

typedef struct td_tls_io {
    int fd, sigfd;
    int64_t deadline; /* whole connection */
    td_conn *conn;
    int64_t clock_base; /* td_net_now_ms() that the virtual clock's 0 maps to */
    td_pcap *pcap;      /* NULL: no capture */
    td_pcap_flow flow;
    /* What happened. */
    uint8_t first[2];
    size_t num_first;
    bool handshake_done, garbage, timed_out, peer_closed, signalled, failed_local;
} td_tls_io;

/* Sends everything the connection has queued. */
td_net_rc td_tls_io_flush(td_tls_io *io);
/* Waits (until min(|deadline|, the connection's)) for the peer's bytes and
 * feeds them; then flushes what the connection answered. */
td_net_rc td_tls_io_step(td_tls_io *io, int64_t deadline);
/* Without I/O, for an event loop: hands the peer's |n| bytes to the
 * connection (capture, first-byte check, clock, progress); false if the
 * connection could not take them (failed_local set). */
bool td_tls_io_input(td_tls_io *io, const uint8_t *buf, size_t n);
/* What the connection has to send (a view until its next call), captured. */
void td_tls_io_output(td_tls_io *io, const uint8_t **out, size_t *len);
/* Brings the connection's virtual clock up to real time. */
void td_tls_io_sync_clock(td_tls_io *io);
const char *td_tls_io_verdict(const td_tls_io *io);

/* "fatal:handshake_failure" or "-". */
void td_cli_alert_str(bool present, uint8_t level, uint8_t desc, char *buf, size_t len);
/* Negotiated parameters and the end of the story, one line of key=value. */
void td_cli_print_status(FILE *f, const td_conn *conn);
/* Every handshake message sent (>) and received (<) by name, then alerts. */
void td_cli_print_transcript(FILE *f, td_conn *conn);

#endif
