/*
 * berth-pause: the pod sandbox's process (holds the pod's network, IPC and UTS namespaces), as Kubernetes' pause:
 * sleeps, reaps the zombies of a shared PID namespace, exits 0 on SIGINT/SIGTERM.
 *
 * `berth-pause forward PORT` is the port-forward helper: the kubelet execs it in the sandbox through the Engine API,
 * and it pipes stdin/stdout to 127.0.0.1:PORT (then [::1]:PORT), so port-forward reaches apps bound to loopback.
 * Static, no libc needed in the image.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

static void on_term(int sig) { _exit(0); }

static void on_chld(int sig) {
  while (waitpid(-1, NULL, WNOHANG) > 0) {
  }
}

static int dial(int port) {
  struct sockaddr_in a4 = {.sin_family = AF_INET, .sin_port = htons(port)};
  a4.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd >= 0 && connect(fd, (struct sockaddr *)&a4, sizeof a4) == 0) return fd;
  if (fd >= 0) close(fd);
  struct sockaddr_in6 a6 = {.sin6_family = AF_INET6, .sin6_port = htons(port), .sin6_addr = IN6ADDR_LOOPBACK_INIT};
  fd = socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd >= 0 && connect(fd, (struct sockaddr *)&a6, sizeof a6) == 0) return fd;
  return -1;
}

static int write_all(int fd, const char *p, ssize_t n) {
  while (n > 0) {
    ssize_t w = write(fd, p, n);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return -1;
    p += w;
    n -= w;
  }
  return 0;
}

static int forward(int port) {
  int s = dial(port);
  if (s < 0) {
    fprintf(stderr, "failed to connect to localhost:%d inside the pod: %s\n", port, strerror(errno));
    return 1;
  }
  struct pollfd fds[2] = {{.fd = 0, .events = POLLIN}, {.fd = s, .events = POLLIN}};
  char buf[65536];
  int in_open = 1;
  for (;;) {
    fds[0].fd = in_open ? 0 : -1;
    if (poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      return 1;
    }
    if (fds[0].revents) {
      ssize_t n = read(0, buf, sizeof buf);
      if (n <= 0) {
        in_open = 0;
        shutdown(s, SHUT_WR);
      } else if (write_all(s, buf, n) < 0)
        return 1;
    }
    if (fds[1].revents) {
      ssize_t n = read(s, buf, sizeof buf);
      if (n <= 0) return 0;
      if (write_all(1, buf, n) < 0) return 1;
    }
  }
}

int main(int argc, char **argv) {
  if (argc == 3 && strcmp(argv[1], "forward") == 0) {
    signal(SIGPIPE, SIG_IGN);
    int port = atoi(argv[2]);
    if (port < 1 || port > 65535) {
      fprintf(stderr, "invalid port %s\n", argv[2]);
      return 2;
    }
    return forward(port);
  }
  if (argc != 1) {
    fprintf(stderr, "usage: %s [forward PORT]\n", argv[0]);
    return 2;
  }
  if (getpid() != 1) fprintf(stderr, "berth-pause: warning: not PID 1\n");
  signal(SIGINT, on_term);
  signal(SIGTERM, on_term);
  struct sigaction sa = {.sa_handler = on_chld, .sa_flags = SA_NOCLDSTOP | SA_RESTART};
  sigaction(SIGCHLD, &sa, NULL);
  for (;;) pause();
}
