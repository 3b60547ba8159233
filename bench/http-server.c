/*
 * The warm figure's server (bench/warm.ts): a small HTTP server that keeps
 * connections alive when asked (HTTP/1.1 by default, HTTP/1.0 with
 * "Connection: keep-alive") and serves many connections at once with epoll,
 * so that a load generator's concurrent keep-alive clients are not served
 * one after the other (test/fixtures/sockact-server.c closes after every
 * answer and serves one connection at a time).
 *
 *   http-server BODY [[ADDRESS:]PORT]
 *
 * Takes the listening socket from systemd (LISTEN_FDS, fd 3), or listens on
 * ADDRESS:PORT itself (127.0.0.1 unless given; 0.0.0.0 in a container), with
 * a backlog of 4096. Answers every request with BODY.
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#define MAX_FDS 65536
#define BUF 8192

static char *buffers[MAX_FDS];
static size_t used[MAX_FDS];

static int has_token(const char *head, const char *token) {
    /* Case-insensitive search of a header value, enough for Connection:. */
    size_t n = strlen(token);
    for (const char *p = head; *p; p++)
        if (strncasecmp(p, token, n) == 0) return 1;
    return 0;
}

static void drop(int epfd, int fd) {
    epoll_ctl(epfd, EPOLL_CTL_DEL, fd, NULL);
    shutdown(fd, SHUT_WR);
    close(fd);
    used[fd] = 0;
}

int main(int argc, char **argv) {
    const char *body = argc > 1 ? argv[1] : "hello\n";
    int listener = 3;
    if (argc > 2) {
        int s = socket(AF_INET, SOCK_STREAM, 0), one = 1;
        const char *colon = strrchr(argv[2], ':');
        struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((unsigned short)atoi(colon ? colon + 1 : argv[2])) };
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        if (colon) {
            char host[64];
            snprintf(host, sizeof host, "%.*s", (int)(colon - argv[2]), argv[2]);
            if (inet_pton(AF_INET, host, &a.sin_addr) != 1) { fprintf(stderr, "http-server: bad address %s\n", host); return 1; }
        }
        setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        if (bind(s, (struct sockaddr *)&a, sizeof a) < 0 || listen(s, 4096) < 0) { perror("http-server"); return 1; }
        listener = s;
    } else if (getenv("LISTEN_FDS") == NULL || atoi(getenv("LISTEN_FDS")) < 1) {
        fprintf(stderr, "http-server: no socket passed (LISTEN_FDS is not set) and no port given\n");
        return 1;
    }
    char keep[8192], close_[8192];
    int keep_n = snprintf(keep, sizeof keep, "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: %zu\r\nConnection: keep-alive\r\n\r\n%s", strlen(body), body);
    int close_n = snprintf(close_, sizeof close_, "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: %zu\r\nConnection: close\r\n\r\n%s", strlen(body), body);

    /* Accepts until EAGAIN on each wake-up: the listening socket must not block. */
    fcntl(listener, F_SETFL, fcntl(listener, F_GETFL) | O_NONBLOCK);
    int epfd = epoll_create1(0);
    struct epoll_event ev = { .events = EPOLLIN, .data.fd = listener };
    epoll_ctl(epfd, EPOLL_CTL_ADD, listener, &ev);
    struct epoll_event events[256];
    for (;;) {
        int n = epoll_wait(epfd, events, 256, -1);
        if (n < 0 && errno == EINTR) continue;
        for (int i = 0; i < n; i++) {
            int fd = events[i].data.fd;
            if (fd == listener) {
                for (;;) {
                    int c = accept4(listener, NULL, NULL, SOCK_NONBLOCK);
                    if (c < 0) break;
                    if (c >= MAX_FDS) { close(c); continue; }
                    if (!buffers[c]) buffers[c] = malloc(BUF);
                    used[c] = 0;
                    struct epoll_event ce = { .events = EPOLLIN, .data.fd = c };
                    epoll_ctl(epfd, EPOLL_CTL_ADD, c, &ce);
                }
                continue;
            }
            char *b = buffers[fd];
            ssize_t got = read(fd, b + used[fd], BUF - 1 - used[fd]);
            if (got <= 0) {
                if (got < 0 && errno == EAGAIN) continue;
                drop(epfd, fd);
                continue;
            }
            used[fd] += (size_t)got;
            b[used[fd]] = '\0';
            /* Answer every complete request head in the buffer (pipelining). */
            int closed = 0;
            for (;;) {
                char *end = strstr(b, "\r\n\r\n");
                if (!end) {
                    if (used[fd] >= BUF - 1) { drop(epfd, fd); closed = 1; }
                    break;
                }
                *end = '\0';
                char *eol = strstr(b, "\r\n");
                int http11 = eol ? (eol - b >= 8 && strncmp(eol - 8, "HTTP/1.1", 8) == 0) : 0;
                int alive = http11 ? !has_token(b, "connection: close") : has_token(b, "keep-alive");
                size_t consumed = (size_t)(end + 4 - b);
                if (write(fd, alive ? keep : close_, (size_t)(alive ? keep_n : close_n)) < 0 || !alive) {
                    drop(epfd, fd);
                    closed = 1;
                    break;
                }
                memmove(b, b + consumed, used[fd] - consumed + 1);
                used[fd] -= consumed;
            }
            (void)closed;
        }
    }
}
