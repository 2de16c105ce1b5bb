/* engine/peers/net.c -- sockets with deadlines (tlsdrill/net.h). */
#define _GNU_SOURCE /* signalfd, accept4 */
#include "tlsdrill/net.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

const char *td_net_rc_name(td_net_rc rc)
{
    switch (rc) {
    case TD_NET_OK: return "ok";
    case TD_NET_TIMEOUT: return "timeout";
    case TD_NET_CLOSED: return "closed";
    case TD_NET_SIGNAL: return "signal";
    case TD_NET_ERROR: return "error";
    }
    return "?";
}

int64_t td_net_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int td_net_signals(void)
{
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    if (sigprocmask(SIG_BLOCK, &set, NULL) != 0)
        return -1;
    signal(SIGPIPE, SIG_IGN);
    return signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
}

/* Waits for |events| on |fd| (or the signal fd) until |deadline|. */
static td_net_rc wait_fd(int fd, short events, int sigfd, int64_t deadline)
{
    for (;;) {
        int64_t left = deadline - td_net_now_ms();
        if (left <= 0)
            return TD_NET_TIMEOUT;
        struct pollfd p[2] = {{.fd = fd, .events = events}, {.fd = sigfd, .events = POLLIN}};
        int n = poll(p, sigfd >= 0 ? 2 : 1, left > 1000000 ? 1000000 : (int)left);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return TD_NET_ERROR;
        }
        if (n == 0)
            continue; /* re-check the deadline */
        if (sigfd >= 0 && (p[1].revents & POLLIN))
            return TD_NET_SIGNAL;
        if (p[0].revents & (events | POLLERR | POLLHUP | POLLNVAL))
            return TD_NET_OK;
    }
}

static int set_nonblock(int fd)
{
    int fl = fcntl(fd, F_GETFL);
    return fl < 0 ? -1 : fcntl(fd, F_SETFL, fl | O_NONBLOCK);
}

int td_net_listen(const char *host, uint16_t port, uint16_t *out_port, char *err, size_t err_len)
{
    /* An IPv4 address, or an IPv6 one (with or without brackets: "::1", "[::1]"). */
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof(ss));
    struct sockaddr_in *v4 = (struct sockaddr_in *)&ss;
    struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)&ss;
    char h[INET6_ADDRSTRLEN + 2];
    size_t hl = strlen(host);
    if (hl >= 2 && host[0] == '[' && host[hl - 1] == ']' && hl - 2 < sizeof(h)) {
        memcpy(h, host + 1, hl - 2);
        h[hl - 2] = 0;
    } else {
        snprintf(h, sizeof(h), "%s", host);
    }
    socklen_t len;
    if (inet_pton(AF_INET, h, &v4->sin_addr) == 1) {
        v4->sin_family = AF_INET;
        v4->sin_port = htons(port);
        len = sizeof(*v4);
    } else if (inet_pton(AF_INET6, h, &v6->sin6_addr) == 1) {
        v6->sin6_family = AF_INET6;
        v6->sin6_port = htons(port);
        len = sizeof(*v6);
    } else {
        snprintf(err, err_len, "not an IPv4 or IPv6 address: %s", host);
        return -1;
    }
    int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        snprintf(err, err_len, "socket: %s", strerror(errno));
        return -1;
    }
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (ss.ss_family == AF_INET6)
        setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
    socklen_t sl = len;
    if (bind(fd, (struct sockaddr *)&ss, len) != 0 || listen(fd, SOMAXCONN) != 0 ||
        set_nonblock(fd) != 0 || getsockname(fd, (struct sockaddr *)&ss, &sl) != 0) {
        snprintf(err, err_len, "%s:%u: %s", host, port, strerror(errno));
        close(fd);
        return -1;
    }
    *out_port = ntohs(ss.ss_family == AF_INET6 ? v6->sin6_port : v4->sin_port);
    return fd;
}

void td_net_peer_name(const struct sockaddr_storage *ss, char *out, size_t out_len)
{
    char ip[INET6_ADDRSTRLEN] = "?";
    if (ss->ss_family == AF_INET6) {
        const struct sockaddr_in6 *v6 = (const struct sockaddr_in6 *)ss;
        inet_ntop(AF_INET6, &v6->sin6_addr, ip, sizeof(ip));
        snprintf(out, out_len, "[%s]:%u", ip, ntohs(v6->sin6_port));
    } else {
        const struct sockaddr_in *v4 = (const struct sockaddr_in *)ss;
        inet_ntop(AF_INET, &v4->sin_addr, ip, sizeof(ip));
        snprintf(out, out_len, "%s:%u", ip, ntohs(v4->sin_port));
    }
}

td_net_rc td_net_accept(int lfd, int sigfd, int64_t deadline, int *out_fd, char *peer,
                        size_t peer_len)
{
    for (;;) {
        td_net_rc rc = wait_fd(lfd, POLLIN, sigfd, deadline);
        if (rc != TD_NET_OK)
            return rc;
        struct sockaddr_storage sa;
        socklen_t sl = sizeof(sa);
        int fd = accept4(lfd, (struct sockaddr *)&sa, &sl, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR || errno == ECONNABORTED)
                continue;
            return TD_NET_ERROR;
        }
        td_net_peer_name(&sa, peer, peer_len);
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
        *out_fd = fd;
        return TD_NET_OK;
    }
}

td_net_rc td_net_connect(const char *host, uint16_t port, int sigfd, int64_t deadline, int *out_fd,
                         char *err, size_t err_len)
{
    /* IPv4 or IPv6 (a literal or a name); the first address getaddrinfo gives. */
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM}, *ai = NULL;
    int gai = getaddrinfo(host, NULL, &hints, &ai);
    if (gai != 0 || ai == NULL) {
        snprintf(err, err_len, "%s: %s", host, gai ? gai_strerror(gai) : "no address");
        return TD_NET_ERROR;
    }
    struct sockaddr_storage sa;
    socklen_t sa_len = ai->ai_addrlen <= sizeof(sa) ? ai->ai_addrlen : sizeof(sa);
    int family = ai->ai_family;
    memcpy(&sa, ai->ai_addr, sa_len);
    freeaddrinfo(ai);
    if (family == AF_INET6)
        ((struct sockaddr_in6 *)&sa)->sin6_port = htons(port);
    else
        ((struct sockaddr_in *)&sa)->sin_port = htons(port);
    int fd = socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        snprintf(err, err_len, "socket: %s", strerror(errno));
        return TD_NET_ERROR;
    }
    if (connect(fd, (struct sockaddr *)&sa, sa_len) != 0 && errno != EINPROGRESS) {
        snprintf(err, err_len, "connect: %s", strerror(errno));
        close(fd);
        return errno == ECONNREFUSED ? TD_NET_CLOSED : TD_NET_ERROR;
    }
    td_net_rc rc = wait_fd(fd, POLLOUT, sigfd, deadline);
    int soerr = 0;
    socklen_t sl = sizeof(soerr);
    if (rc == TD_NET_OK && (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) != 0 || soerr != 0)) {
        snprintf(err, err_len, "connect: %s", strerror(soerr));
        rc = soerr == ECONNREFUSED ? TD_NET_CLOSED : TD_NET_ERROR;
    } else if (rc != TD_NET_OK) {
        snprintf(err, err_len, "connect: %s", td_net_rc_name(rc));
    }
    if (rc != TD_NET_OK) {
        close(fd);
        return rc;
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    *out_fd = fd;
    return TD_NET_OK;
}

td_net_rc td_net_send_all(int fd, int sigfd, int64_t deadline, const uint8_t *data, size_t len)
{
    while (len > 0) {
        ssize_t n = send(fd, data, len, MSG_NOSIGNAL);
        if (n > 0) {
            data += n;
            len -= (size_t)n;
            continue;
        }
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) {
            td_net_rc rc = wait_fd(fd, POLLOUT, sigfd, deadline);
            if (rc != TD_NET_OK)
                return rc;
            continue;
        }
        return (errno == EPIPE || errno == ECONNRESET) ? TD_NET_CLOSED : TD_NET_ERROR;
    }
    return TD_NET_OK;
}

td_net_rc td_net_recv(int fd, int sigfd, int64_t deadline, uint8_t *buf, size_t cap, size_t *out_n)
{
    *out_n = 0;
    for (;;) {
        ssize_t n = recv(fd, buf, cap, 0);
        if (n > 0) {
            *out_n = (size_t)n;
            return TD_NET_OK;
        }
        if (n == 0)
            return TD_NET_CLOSED;
        if (errno == ECONNRESET || errno == EPIPE)
            return TD_NET_CLOSED;
        if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
            return TD_NET_ERROR;
        td_net_rc rc = wait_fd(fd, POLLIN, sigfd, deadline);
        if (rc != TD_NET_OK)
            return rc;
    }
}

int td_net_split_hostport(const char *s, char *host, size_t host_len, uint16_t *port)
{
    /* HOST:PORT, or [IPv6]:PORT (RFC 3986 §3.2.2: an IPv6 literal in brackets);
     * a bare IPv6 literal is refused, its last group would read as the port. */
    const char *colon = strrchr(s, ':'), *h = s;
    size_t hlen = colon == NULL ? 0 : (size_t)(colon - s);
    if (s[0] == '[') {
        const char *close = strchr(s, ']');
        if (close == NULL || close + 1 != colon)
            return 0;
        h = s + 1;
        hlen = (size_t)(close - h);
    } else if (colon != NULL && memchr(s, ':', hlen) != NULL) {
        return 0;
    }
    if (colon == NULL || hlen == 0 || hlen >= host_len)
        return 0;
    char *end;
    unsigned long p = strtoul(colon + 1, &end, 10);
    if (*end != '\0' || colon[1] < '1' || colon[1] > '9' || p > 65535)
        return 0;
    memcpy(host, h, hlen);
    host[hlen] = '\0';
    *port = (uint16_t)p;
    return 1;
}
