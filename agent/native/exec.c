/* "berth-shim exec <specfile>": runs one process inside a running container, spawned (not detached) by
 * berthd with the process's stdio on fds 0-2 and a control socket on fd 3:
 *   out: "pid <hostpid>\n" once exec'd | "error <code> <msg>\n";  then "exit <code> <signal>\n"
 *   in:  "resize <rows> <cols>\n" | "kill <signo>\n" (through the process's pidfd) | "hangup\n" (the
 *        client's terminal went away: close the PTY master, so the kernel hangs the terminal up and SIGHUPs
 *        the session, as closing a terminal window does)
 * The helper itself never enters the container's namespaces (a forked child does, then clones the process
 * as our sibling-child with CLONE_PARENT), so nothing of berthd's side is visible inside. */
#include "shim.h"
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

static const char *NS_ORDER[] = {"cgroup", "ipc", "uts", "net", "pid", "mnt"};

static void ctl(const char *fmt, long a, long b, const char *s) {
  char buf[2300];
  if (s) snprintf(buf, sizeof buf, fmt, s);
  else snprintf(buf, sizeof buf, fmt, a, b);
  write_all(3, buf, strlen(buf));
}

int shim_exec(const char *specpath) {
  struct spec s;
  fcntl(3, F_SETFD, FD_CLOEXEC);
  signal(SIGPIPE, SIG_IGN);
  if (spec_load(specpath, &s) < 0) {
    ctl("error 125 %s\n", 0, 0, "cannot read exec spec");
    return 1;
  }
  long target = (long)spec_num(&s, "pid", 1, 0);
  int terminal = (int)spec_num(&s, "terminal", 1, 0);
  int nsfd[6];
  char path[128];
  for (int i = 0; i < 6; i++) {
    snprintf(path, sizeof path, "/proc/%ld/ns/%s", target, NS_ORDER[i]);
    nsfd[i] = open(path, O_RDONLY | O_CLOEXEC);
    if (nsfd[i] < 0) {
      ctl("error 125 %s\n", 0, 0, "container is not running");
      return 1;
    }
  }
  int master = -1;
  if (terminal) {
    snprintf(path, sizeof path, "/proc/%ld/root/dev/pts/ptmx", target);
    master = open(path, O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (master < 0 || unlockpt(master) < 0) {
      ctl("error 125 %s\n", 0, 0, "cannot open a pty in the container");
      return 1;
    }
    struct winsize ws = {.ws_row = (unsigned short)spec_num(&s, "consolesize", 1, 24),
                         .ws_col = (unsigned short)spec_num(&s, "consolesize", 2, 80)};
    ioctl(master, TIOCSWINSZ, &ws);
  }
  sigset_t mask;
  sigemptyset(&mask);
  sigaddset(&mask, SIGCHLD);
  sigprocmask(SIG_BLOCK, &mask, NULL);
  int sfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
  int ep[2], pp[2];
  if (pipe2(ep, O_CLOEXEC) < 0 || pipe2(pp, O_CLOEXEC) < 0) return 1;
  pid_t mid = fork();
  if (mid == 0) {
    sigprocmask(SIG_UNBLOCK, &mask, NULL);
    signal(SIGPIPE, SIG_DFL);
    close(ep[0]);
    close(pp[0]);
    char me[32];
    snprintf(me, sizeof me, "%d", getpid());
    for (int i = 0; i < s.nops; i++) {
      if (strcmp(s.ops[i].fields[0], "cgroupprocs") || s.ops[i].nfields < 2) continue;
      int fd = open(s.ops[i].fields[1], O_WRONLY | O_CLOEXEC);
      if (fd < 0 || write_all(fd, me, strlen(me)) < 0) child_fail(ep[1], 125, "join cgroup: %s", strerror(errno));
      close(fd);
    }
    /* the container's oom_score_adj (as runc gives an exec), written while still berthd's: the clone inherits it */
    const char *oom = spec_get(&s, "oomscore", 1, NULL);
    if (oom) {
      int fd = open("/proc/self/oom_score_adj", O_WRONLY | O_CLOEXEC);
      if (fd < 0 || write_all(fd, oom, strlen(oom)) < 0)
        child_fail(ep[1], 125, "write /proc/self/oom_score_adj: %s", strerror(errno));
      close(fd);
    }
    for (int i = 0; i < 6; i++)
      if (setns(nsfd[i], 0) < 0) child_fail(ep[1], 125, "setns %s: %s", NS_ORDER[i], strerror(errno));
    pid_t pid = (pid_t)syscall(SYS_clone, CLONE_PARENT | SIGCHLD, NULL, NULL, NULL, NULL);
    if (pid < 0) child_fail(ep[1], 125, "clone: %s", strerror(errno));
    if (pid > 0) {
      write_all(pp[1], &pid, sizeof pid);
      _exit(0);
    }
    setsid();
    if (terminal) {
      int slave = ioctl(master, TIOCGPTPEER, O_RDWR | O_NOCTTY);
      if (slave < 0 || ioctl(slave, TIOCSCTTY, 0) < 0) child_fail(ep[1], 125, "pty: %s", strerror(errno));
      if (fchown(slave, (uid_t)spec_num(&s, "user", 1, 0), (gid_t)-1) < 0) { /* best effort */ }
      for (int i = 0; i < 3; i++) dup2(slave, i);
      if (slave > 2) close(slave);
    }
    const char *cwd = spec_get(&s, "cwd", 1, "/");
    apply_identity(&s, ep[1]);
    char *exe = lookup_exec(&s, ep[1]);
    if (chdir(cwd) < 0) child_fail(ep[1], 126, "chdir to cwd (\"%s\"): %s", cwd, strerror(errno));
    int argc;
    char **args = spec_args(&s, &argc);
    syscall(SYS_close_range, 3, ~0U, CLOSE_RANGE_CLOEXEC);
    execve(exe, args, spec_env(&s));
    child_fail(ep[1], errno == ENOENT ? 127 : 126, "exec: \"%s\": %s", args[0], strerror(errno));
  }
  close(ep[1]);
  close(pp[1]);
  pid_t pid = -1;
  if (read(pp[0], &pid, sizeof pid) != sizeof pid) pid = -1;
  waitpid(mid, NULL, 0);
  char msg[2048];
  size_t got = 0;
  for (ssize_t r; (r = read(ep[0], msg + got, sizeof msg - 1 - got)) > 0;) got += (size_t)r;
  msg[got] = 0;
  if (got > 0) {
    if (pid > 0) waitpid(pid, NULL, 0);
    ctl("error %s\n", 0, 0, msg);
    return 1;
  }
  int pidfd = pidfd_for(pid); /* we are its parent: it cannot be reaped (nor its pid reused) before this */
  ctl("pid %ld\n", pid, 0, NULL);
  int in_open = terminal;
  if (!terminal) { /* the process holds our stdio now; let EOF reach berthd when it exits */
    int null = open("/dev/null", O_RDWR);
    for (int i = 0; i < 3; i++) dup2(null, i);
    close(null);
  } else {
    fcntl(0, F_SETFL, fcntl(0, F_GETFL) | O_NONBLOCK);
  }
  int status = 0;
  char buf[32768], line[128];
  size_t ll = 0;
  for (;;) {
    struct pollfd p[4] = {{.fd = sfd, .events = POLLIN},
                          {.fd = 3, .events = POLLIN},
                          {.fd = master, .events = POLLIN},
                          {.fd = in_open ? 0 : -1, .events = POLLIN}};
    if (poll(p, 4, -1) < 0) continue;
    if (p[2].revents) {
      ssize_t n = read(master, buf, sizeof buf);
      if (n > 0) write_all(1, buf, (size_t)n);
      else if (n == 0 || errno != EAGAIN) master = -1;
    }
    if (p[3].revents) {
      ssize_t n = read(0, buf, sizeof buf);
      if (n > 0 && master >= 0) write_all(master, buf, (size_t)n);
      else if (n == 0) in_open = 0;
    }
    if (p[1].revents) {
      char c;
      ssize_t n = read(3, &c, 1);
      if (n <= 0) p[1].fd = -1;
      else if (c == '\n' || ll == sizeof line - 1) {
        line[ll] = 0;
        ll = 0;
        int r, co;
        if (sscanf(line, "resize %d %d", &r, &co) == 2 && master >= 0) {
          struct winsize ws = {.ws_row = (unsigned short)r, .ws_col = (unsigned short)co};
          ioctl(master, TIOCSWINSZ, &ws);
        } else if (!strcmp(line, "hangup") && master >= 0) {
          close(master);
          master = -1;
          in_open = 0;
        } else if (sscanf(line, "kill %d", &r) == 1) {
          signal_child(pidfd, pid, r);
        }
      } else line[ll++] = c;
    }
    if (p[0].revents) {
      struct signalfd_siginfo si;
      while (read(sfd, &si, sizeof si) > 0) {}
      if (waitpid(pid, &status, WNOHANG) == pid) break;
    }
  }
  if (master >= 0) { /* output the process wrote just before exiting */
    fcntl(master, F_SETFL, fcntl(master, F_GETFL) | O_NONBLOCK);
    for (ssize_t n; (n = read(master, buf, sizeof buf)) > 0;) write_all(1, buf, (size_t)n);
  }
  if (WIFSIGNALED(status)) ctl("exit %ld %ld\n", 128 + WTERMSIG(status), WTERMSIG(status), NULL);
  else ctl("exit %ld %ld\n", WEXITSTATUS(status), 0, NULL);
  return 0;
}
