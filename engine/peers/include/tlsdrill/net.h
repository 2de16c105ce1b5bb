/* tlsdrill/net.h -- blocking-free sockets with deadlines, shared by the
 * network peers of the scenario runner (engine/peers/peer_net.c) and
 * `tlsdrill serve/connect` (engine/peers/net.c; library tlsdrill_peers).
 *
 * Every operation takes an absolute deadline (td_net_now_ms clock) and waits
 * with poll(2), so a peer that hangs gets a timeout, never a hang. A signal
 * fd (SIGTERM, SIGINT, from td_net_signals; -1 for none) is polled
 * alongside: a signal ends the wait with TD_NET_SIGNAL. IPv4 only; callers
 * bind 127.0.0.1 unless told otherwise. File descriptors returned are
 * owned by the caller (close(2)). */
#ifndef TLSDRILL_NET_H
#define TLSDRILL_NET_H

#include <stddef.h>
#include <stdint.h>

typedef enum td_net_rc {
    TD_NET_OK,
    TD_NET_TIMEOUT,
    TD_NET_CLOSED, /* orderly EOF, reset or broken pipe */
    TD_NET_SIGNAL,
    TD_NET_ERROR,
} td_net_rc;

const char *td_net_rc_name(td_net_rc rc);

/* Milliseconds on the monotonic clock. */
int64_t td_net_now_ms(void);

/* Blocks SIGTERM and SIGINT for the process and returns a signalfd that
 * becomes readable when one arrives (-1 on failure). SIGPIPE is ignored. */
int td_net_signals(void);

/* Listening socket on |host| (dotted IPv4, or IPv6 as "::1" or "[::1]":
 * IPv6 only) and |port| (0: any); the port actually bound is written to
 * *out_port. Returns the fd or -1 (message in |err|). */
int td_net_listen(const char *host, uint16_t port, uint16_t *out_port, char *err, size_t err_len);
/* "IP:PORT" (IPv4) or "[IP]:PORT" (IPv6) of an accepted peer. */
struct sockaddr_storage;
void td_net_peer_name(const struct sockaddr_storage *ss, char *out, size_t out_len);
td_net_rc td_net_accept(int lfd, int sigfd, int64_t deadline, int *out_fd, char *peer,
                        size_t peer_len);
/* Connects to |host| (IPv4 address or name) by |deadline|. */
td_net_rc td_net_connect(const char *host, uint16_t port, int sigfd, int64_t deadline, int *out_fd,
                         char *err, size_t err_len);
td_net_rc td_net_send_all(int fd, int sigfd, int64_t deadline, const uint8_t *data, size_t len);
/* Receives at most |cap| bytes (at least one on TD_NET_OK). */
td_net_rc td_net_recv(int fd, int sigfd, int64_t deadline, uint8_t *buf, size_t cap, size_t *out_n);

/* "HOST:PORT" -> host (copied into |host|) and port; false if malformed. */
int td_net_split_hostport(const char *s, char *host, size_t host_len, uint16_t *port);

#endif
