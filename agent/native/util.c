/* Small helpers: full writes, fd passing, atomic files, Go-style RFC3339Nano timestamps. */
#include "shim.h"
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

int write_all(int fd, const void *buf, size_t len) {
  const char *p = buf;
  while (len > 0) {
    ssize_t n = write(fd, p, len);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN) {
        /* a slow attacher: wait a while rather than drop output, but never forever */
        struct pollfd pfd = {.fd = fd, .events = POLLOUT};
        if (poll(&pfd, 1, 10000) <= 0) return -1;
        continue;
      }
      return -1;
    }
    p += n;
    len -= n;
  }
  return 0;
}

int send_fd(int sock, int fd) {
  char c = 'F';
  struct iovec iov = {.iov_base = &c, .iov_len = 1};
  char ctl[CMSG_SPACE(sizeof(int))];
  memset(ctl, 0, sizeof ctl);
  struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl, .msg_controllen = sizeof ctl};
  struct cmsghdr *cm = CMSG_FIRSTHDR(&msg);
  cm->cmsg_level = SOL_SOCKET;
  cm->cmsg_type = SCM_RIGHTS;
  cm->cmsg_len = CMSG_LEN(sizeof(int));
  memcpy(CMSG_DATA(cm), &fd, sizeof(int));
  return sendmsg(sock, &msg, 0) == 1 ? 0 : -1;
}

int recv_fd(int sock) {
  char c;
  struct iovec iov = {.iov_base = &c, .iov_len = 1};
  char ctl[CMSG_SPACE(sizeof(int))];
  struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl, .msg_controllen = sizeof ctl};
  if (recvmsg(sock, &msg, MSG_CMSG_CLOEXEC) != 1) return -1;
  struct cmsghdr *cm = CMSG_FIRSTHDR(&msg);
  if (!cm || cm->cmsg_type != SCM_RIGHTS) return -1;
  int fd;
  memcpy(&fd, CMSG_DATA(cm), sizeof(int));
  return fd;
}

unsigned char *hex_decode(const char *hex, size_t *len) {
  *len = strlen(hex) / 2;
  unsigned char *out = malloc(*len + 1);
  for (size_t i = 0; i < *len; i++) {
    char b[3] = {hex[2 * i], hex[2 * i + 1], 0};
    out[i] = (unsigned char)strtoul(b, NULL, 16);
  }
  return out;
}

int write_file_atomic(const char *path, const char *data) {
  char tmp[4200];
  snprintf(tmp, sizeof tmp, "%s.tmp", path);
  int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return -1;
  if (write_all(fd, data, strlen(data)) < 0 || fsync(fd) < 0) {
    close(fd);
    return -1;
  }
  close(fd);
  return rename(tmp, path);
}

/* Go's time.RFC3339Nano in UTC: fractional digits with trailing zeros trimmed. */
void rfc3339nano(char *out, size_t n) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  struct tm tm;
  gmtime_r(&ts.tv_sec, &tm);
  size_t len = strftime(out, n, "%Y-%m-%dT%H:%M:%S", &tm);
  char frac[16];
  snprintf(frac, sizeof frac, ".%09ld", ts.tv_nsec);
  int e = 9;
  while (e > 0 && frac[e] == '0') e--;
  if (e > 0) {
    frac[e + 1] = 0;
    snprintf(out + len, n - len, "%sZ", frac);
  } else {
    snprintf(out + len, n - len, "Z");
  }
}

int pidfd_for(pid_t pid) {
#ifdef SYS_pidfd_open
  return (int)syscall(SYS_pidfd_open, pid, 0);
#else
  (void)pid;
  return -1;
#endif
}

int signal_child(int pidfd, pid_t pid, int sig) {
#ifdef SYS_pidfd_send_signal
  if (pidfd >= 0) {
    if (syscall(SYS_pidfd_send_signal, pidfd, sig, NULL, 0) == 0) return 0;
    if (errno != ENOSYS) return -errno;
  }
#endif
  return kill(pid, sig) == 0 ? 0 : -errno;
}
