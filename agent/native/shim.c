/* berth-shim entry points and the per-container supervisor ("create" mode).
 *   berth-shim create <statedir>  set up a container from <statedir>/config, print "created <pid>", supervise
 *   berth-shim exec <specfile>    run a process inside a running container (exec.c)
 *   docker-init -- cmd args...    tiny pid 1 for --init (init.c)
 * The supervisor serves <statedir>/shim.sock: one command line per connection:
 *   attach <stdin 0|1> <stdout 0|1> <stderr 0|1>  → "ok\n", then output (frames or raw); input = stdin
 *   start → "ok <pid>\n" | "error <code> <msg>\n";  resize <rows> <cols> → "ok\n";
 *   wait → the exit status JSON line once the container exited;  state → "created|running <pid>\n"
 *   kill <signo> → "ok\n" | "error <errno> <msg>\n": signals the container's init through its pidfd */
#include "shim.h"
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/bpf.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#define MAX_CONN 64

struct conn {
  int fd;
  int kind; /* 1 attach, 2 wait */
  int in, out, err;
};

static struct {
  struct spec spec;
  struct io *io;
  int terminal, stdinonce;
  pid_t pid;
  int pidfd; /* the init's pidfd: kill never reaches a process that reused its pid */
  int started;
  int sp, errr;           /* sync socket and error pipe to the child */
  int in_w;               /* container stdin (pipe write end or the pty master) */
  int out_r, err_r, master;
  struct conn conns[MAX_CONN];
  int nconn;
  long long oom_base;
  /* stdin bytes the container has not taken yet: attachers are not read while this is non-empty, so a
   * process that never reads stdin cannot wedge the supervisor */
  char pend[32768];
  size_t pendoff, pendlen;
  int close_when_drained;
} S = {.in_w = -1, .out_r = -1, .err_r = -1, .master = -1, .pidfd = -1};

static long long read_oom_kills(void) {
  const char *p = spec_get(&S.spec, "oomfile", 1, NULL);
  if (!p) return 0;
  FILE *f = fopen(p, "re");
  if (!f) return 0;
  char key[64];
  long long v, n = 0;
  while (fscanf(f, "%63s %lld", key, &v) == 2)
    if (!strcmp(key, "oom_kill")) n = v;
  fclose(f);
  return n;
}

static int read_line(int fd, char *buf, size_t n) {
  size_t i = 0;
  while (i + 1 < n) {
    ssize_t r = read(fd, buf + i, 1);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) break;
    if (buf[i] == '\n') break;
    i++;
  }
  buf[i] = 0;
  return (int)i;
}

/* Reads the child's "<code> <msg>" report; empty when the child exec'd (the CLOEXEC pipe just closed). */
static int read_child_error(char *msg, size_t n) {
  size_t got = 0;
  for (;;) {
    ssize_t r = read(S.errr, msg + got, n - 1 - got);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) break;
    got += (size_t)r;
  }
  msg[got] = 0;
  return (int)got;
}

static void child_main(int sp, int errw, int in_r, int out_w, int err_w) {
  char c;
  if (read(sp, &c, 1) != 1) _exit(125); /* placed in its cgroups by the parent first */
  for (int i = 0; i < S.spec.nops; i++) {
    struct op *op = &S.spec.ops[i];
    if (strcmp(op->fields[0], "nsjoin") || op->nfields < 3 || !strcmp(op->fields[1], "pid")) continue;
    int fd = open(op->fields[2], O_RDONLY | O_CLOEXEC);
    if (fd < 0 || setns(fd, 0) < 0) child_fail(errw, 125, "join namespace %s: %s", op->fields[2], strerror(errno));
    close(fd);
  }
  if (spec_num(&S.spec, "cgroupns", 1, 0) && unshare(CLONE_NEWCGROUP) < 0)
    child_fail(errw, 125, "cgroup namespace: %s", strerror(errno));
  if (!S.terminal) {
    int null = open("/dev/null", O_RDWR | O_CLOEXEC);
    dup2(in_r >= 0 ? in_r : null, 0);
    dup2(out_w, 1);
    dup2(err_w, 2);
  }
  setup_container(&S.spec, errw, sp);
  apply_identity(&S.spec, errw);
  char *path = lookup_exec(&S.spec, errw);
  const char *cwd = spec_get(&S.spec, "cwd", 1, "/");
  if (chdir(cwd) < 0) child_fail(errw, 126, "chdir to cwd (\"%s\") set in config.json failed: %s", cwd, strerror(errno));
  if (write(sp, "R", 1) != 1) _exit(125);
  if (read(sp, &c, 1) != 1) _exit(125); /* start */
  int argc;
  char **args = spec_args(&S.spec, &argc);
  char **env = spec_env(&S.spec);
  const char *init = spec_get(&S.spec, "init", 1, NULL);
  syscall(SYS_close_range, 3, ~0U, CLOSE_RANGE_CLOEXEC);
  if (init) {
    char **iargs = calloc((size_t)argc + 3, sizeof(char *));
    iargs[0] = (char *)init;
    iargs[1] = "--";
    for (int i = 0; i < argc; i++) iargs[i + 2] = args[i];
    execve(init, iargs, env);
  } else {
    execve(path, args, env);
  }
  child_fail(errw, errno == ENOENT ? 127 : 126, "exec: \"%s\": %s", args[0], strerror(errno));
}

static void reply(int fd, const char *fmt, const char *a) {
  char b[2300];
  snprintf(b, sizeof b, fmt, a);
  write_all(fd, b, strlen(b));
}

static void cmd_start(int fd) {
  if (S.started) {
    reply(fd, "error 125 %s\n", "container already started");
    return;
  }
  S.started = 1;
  char msg[2048];
  if (write(S.sp, "S", 1) != 1 || read_child_error(msg, sizeof msg) > 0) {
    reply(fd, "error %s\n", msg[0] ? msg : "125 container process died before start");
    return;
  }
  char pid[32];
  snprintf(pid, sizeof pid, "%d", S.pid);
  reply(fd, "ok %s\n", pid);
}

static void handle_conn(int fd) {
  struct timeval tv = {.tv_sec = 2};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  char line[256];
  read_line(fd, line, sizeof line);
  struct timeval none = {0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &none, sizeof none);
  int a, b, c;
  if (sscanf(line, "attach %d %d %d", &a, &b, &c) == 3 && S.nconn < MAX_CONN) {
    write_all(fd, "ok\n", 3);
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK); /* a stuck attacher is dropped after write_all's timeout */
    S.conns[S.nconn++] = (struct conn){.fd = fd, .kind = 1, .in = a && S.in_w >= 0, .out = b, .err = c};
    return;
  }
  if (!strcmp(line, "wait") && S.nconn < MAX_CONN) {
    S.conns[S.nconn++] = (struct conn){.fd = fd, .kind = 2};
    return;
  }
  if (!strcmp(line, "start")) cmd_start(fd);
  else if (sscanf(line, "resize %d %d", &a, &b) == 2) {
    struct winsize ws = {.ws_row = (unsigned short)a, .ws_col = (unsigned short)b};
    if (S.master >= 0) ioctl(S.master, TIOCSWINSZ, &ws);
    write_all(fd, "ok\n", 3);
  } else if (sscanf(line, "kill %d", &a) == 1) {
    int r = signal_child(S.pidfd, S.pid, a);
    char b2[128];
    if (r == 0) snprintf(b2, sizeof b2, "ok\n");
    else snprintf(b2, sizeof b2, "error %d %s\n", -r, strerror(-r));
    write_all(fd, b2, strlen(b2));
  } else if (!strcmp(line, "state")) {
    char b2[64];
    snprintf(b2, sizeof b2, "%s %d\n", S.started ? "running" : "created", S.pid);
    write_all(fd, b2, strlen(b2));
  } else {
    write_all(fd, "error 125 unknown command\n", 26);
  }
  close(fd);
}

static void drop_conn(int i) {
  close(S.conns[i].fd);
  S.conns[i] = S.conns[--S.nconn];
}

static void close_stdin(void) {
  if (S.pendlen > 0) {
    S.close_when_drained = 1;
    return;
  }
  if (S.in_w >= 0 && S.in_w != S.master) close(S.in_w);
  S.in_w = -1;
  for (int i = 0; i < S.nconn; i++) S.conns[i].in = 0;
}

static void feed_stdin(const char *buf, size_t n) {
  ssize_t w = 0;
  if (S.pendlen == 0) {
    w = write(S.in_w, buf, n);
    if (w < 0) {
      if (errno != EAGAIN && errno != EINTR) return; /* the process closed its stdin: drop input, as Docker */
      w = 0;
    }
  }
  size_t rest = n - (size_t)w;
  if (rest == 0) return;
  if (S.pendoff > 0) {
    memmove(S.pend, S.pend + S.pendoff, S.pendlen);
    S.pendoff = 0;
  }
  if (rest > sizeof S.pend - S.pendlen) rest = sizeof S.pend - S.pendlen; /* cannot happen: one read per drain */
  memcpy(S.pend + S.pendlen, buf + w, rest);
  S.pendlen += rest;
}

static void drain_stdin(void) {
  ssize_t w = write(S.in_w, S.pend + S.pendoff, S.pendlen);
  if (w < 0 && errno != EAGAIN && errno != EINTR) w = (ssize_t)S.pendlen; /* reader gone: discard */
  if (w > 0) {
    S.pendoff += (size_t)w;
    S.pendlen -= (size_t)w;
  }
  if (S.pendlen == 0) {
    S.pendoff = 0;
    if (S.close_when_drained) close_stdin();
  }
}

static void fanout(int stream, const char *buf, size_t n) {
  io_output(S.io, stream, buf, n);
  unsigned char hdr[8] = {(unsigned char)stream, 0, 0, 0, (unsigned char)(n >> 24), (unsigned char)(n >> 16),
                          (unsigned char)(n >> 8), (unsigned char)n};
  for (int i = 0; i < S.nconn; i++) {
    struct conn *c = &S.conns[i];
    if (c->kind != 1 || !(stream == 2 ? c->err : c->out)) continue;
    int bad = (!S.terminal && write_all(c->fd, hdr, 8) < 0) || write_all(c->fd, buf, n) < 0;
    if (bad) drop_conn(i--);
  }
}

/* Returns 1 after data, 0 at EOF, -1 when nothing is ready. */
static int pump(int fd, int stream) {
  char buf[32768];
  ssize_t n = read(fd, buf, sizeof buf);
  if (n < 0 && (errno == EINTR || errno == EAGAIN)) return -1;
  if (n <= 0) return 0; /* EIO on a pty master means every slave is closed */
  fanout(stream, buf, (size_t)n);
  return 1;
}

static void finish(int status) {
  /* pid 1 is gone, so the kernel killed the rest of its pid namespace: drain what they wrote, then close */
  int fds[2] = {S.terminal ? S.master : S.out_r, S.terminal ? -1 : S.err_r};
  for (int k = 0; k < 2; k++) {
    if (fds[k] < 0) continue;
    fcntl(fds[k], F_SETFL, fcntl(fds[k], F_GETFL) | O_NONBLOCK);
    while (pump(fds[k], k + 1) > 0) {}
  }
  close_stdin();
  io_close(S.io);
  int code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  int oom = read_oom_kills() > S.oom_base;
  char ts[64], json[512];
  rfc3339nano(ts, sizeof ts);
  if (WIFSIGNALED(status))
    snprintf(json, sizeof json, "{\"exitCode\":%d,\"signal\":%d,\"oomKilled\":%s,\"finishedAt\":\"%s\"}", code,
             WTERMSIG(status), oom ? "true" : "false", ts);
  else
    snprintf(json, sizeof json, "{\"exitCode\":%d,\"oomKilled\":%s,\"finishedAt\":\"%s\"}", code, oom ? "true" : "false", ts);
  write_file_atomic("exit.json", json);
  unlink("shim.sock");
  strcat(json, "\n");
  for (int i = 0; i < S.nconn; i++) {
    if (S.conns[i].kind == 2) write_all(S.conns[i].fd, json, strlen(json));
    else shutdown(S.conns[i].fd, SHUT_WR);
  }
  /* closing with unread stdin in the socket would reset the connection and could cost attachers the tail
   * of the output: swallow input until each attacher closes its side, for at most a second */
  for (int round = 0; round < 100; round++) {
    int open_left = 0;
    for (int i = 0; i < S.nconn; i++) {
      if (S.conns[i].fd < 0 || S.conns[i].kind != 1) continue;
      char sink[32768];
      ssize_t n;
      while ((n = recv(S.conns[i].fd, sink, sizeof sink, MSG_DONTWAIT)) > 0) {}
      if (n == 0 || (n < 0 && errno != EAGAIN)) {
        close(S.conns[i].fd);
        S.conns[i].fd = -1;
      } else {
        open_left = 1;
      }
    }
    if (!open_left) break;
    usleep(10000);
  }
  exit(0);
}

/* Loads berthd's BPF_PROG_TYPE_CGROUP_DEVICE program (hex eBPF) and attaches it to a cgroup2 directory;
 * the cgroup keeps it for its lifetime. */
static int attach_device_filter(const char *dir, const char *hex) {
  size_t len;
  unsigned char *insns = hex_decode(hex, &len);
  union bpf_attr load;
  memset(&load, 0, sizeof load);
  load.prog_type = BPF_PROG_TYPE_CGROUP_DEVICE;
  load.insns = (uint64_t)(uintptr_t)insns;
  load.insn_cnt = (uint32_t)(len / 8);
  load.license = (uint64_t)(uintptr_t) "Apache-2.0";
  int prog = (int)syscall(SYS_bpf, BPF_PROG_LOAD, &load, sizeof load);
  if (prog < 0 && getenv("BERTH_SHIM_DEBUG")) { /* the verifier's reasons, for whoever changes device-bpf.ts */
    static char vlog[8192];
    load.log_buf = (uint64_t)(uintptr_t)vlog;
    load.log_size = sizeof vlog;
    load.log_level = 1;
    syscall(SYS_bpf, BPF_PROG_LOAD, &load, sizeof load);
    fprintf(stderr, "%s\n", vlog);
  }
  free(insns);
  if (prog < 0) return -1;
  int cg = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (cg < 0) return -1;
  union bpf_attr att;
  memset(&att, 0, sizeof att);
  att.target_fd = (uint32_t)cg;
  att.attach_bpf_fd = (uint32_t)prog;
  att.attach_type = BPF_CGROUP_DEVICE;
  att.attach_flags = BPF_F_ALLOW_MULTI;
  int r = (int)syscall(SYS_bpf, BPF_PROG_ATTACH, &att, sizeof att);
  close(cg);
  close(prog);
  return r;
}

static int fail_create(const char *msg) {
  printf("error %s\n", msg);
  fflush(stdout);
  return 1;
}

int shim_create(const char *statedir) {
  if (chdir(statedir) < 0) return fail_create("125 state dir missing");
  if (spec_load("config", &S.spec) < 0) return fail_create("125 cannot read runtime config");
  if (getsid(0) != getpid()) setsid();
  signal(SIGPIPE, SIG_IGN);
  signal(SIGHUP, SIG_IGN);
  sigset_t mask;
  sigemptyset(&mask);
  sigaddset(&mask, SIGCHLD);
  sigprocmask(SIG_BLOCK, &mask, NULL);
  int sfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
  S.terminal = (int)spec_num(&S.spec, "terminal", 1, 0);
  S.stdinonce = (int)spec_num(&S.spec, "stdinonce", 1, 0);
  int openstdin = (int)spec_num(&S.spec, "stdin", 1, 0);

  int lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  struct sockaddr_un addr = {.sun_family = AF_UNIX};
  strcpy(addr.sun_path, "shim.sock");
  unlink("shim.sock");
  if (bind(lfd, (struct sockaddr *)&addr, sizeof addr) < 0 || listen(lfd, 32) < 0)
    return fail_create("125 cannot listen on shim.sock");

  int in[2] = {-1, -1}, out[2] = {-1, -1}, err[2] = {-1, -1}, sp[2], ep[2];
  if (!S.terminal) {
    if ((openstdin && pipe2(in, O_CLOEXEC) < 0) || pipe2(out, O_CLOEXEC) < 0 || pipe2(err, O_CLOEXEC) < 0)
      return fail_create("125 pipe failed");
  }
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp) < 0 || pipe2(ep, O_CLOEXEC) < 0)
    return fail_create("125 socketpair failed");
  S.io = io_new(&S.spec, S.terminal);

  const char *pidns = NULL;
  for (int i = 0; i < S.spec.nops; i++)
    if (!strcmp(S.spec.ops[i].fields[0], "nsjoin") && S.spec.ops[i].nfields >= 3 && !strcmp(S.spec.ops[i].fields[1], "pid"))
      pidns = S.spec.ops[i].fields[2];
  if (pidns) {
    int fd = open(pidns, O_RDONLY | O_CLOEXEC);
    if (fd < 0 || setns(fd, CLONE_NEWPID) < 0) return fail_create("125 cannot join pid namespace");
    close(fd);
  }
  long flags = (long)spec_num(&S.spec, "nsflags", 1, 0);
  S.oom_base = read_oom_kills();
  pid_t pid = (pid_t)syscall(SYS_clone, flags | SIGCHLD, NULL, NULL, NULL, NULL);
  if (pid < 0) {
    char m[256];
    snprintf(m, sizeof m, "125 clone: %s", strerror(errno));
    return fail_create(m);
  }
  if (pid == 0) {
    sigprocmask(SIG_UNBLOCK, &mask, NULL);
    signal(SIGPIPE, SIG_DFL);
    signal(SIGHUP, SIG_DFL);
    close(sp[0]);
    close(ep[0]);
    child_main(sp[1], ep[1], in[0], out[1], err[1]);
  }
  S.pid = pid;
  S.pidfd = pidfd_for(pid);
  close(sp[1]);
  close(ep[1]);
  if (in[0] >= 0) close(in[0]);
  if (out[1] >= 0) close(out[1]);
  if (err[1] >= 0) close(err[1]);
  S.sp = sp[0];
  S.errr = ep[0];
  S.in_w = in[1];
  S.out_r = out[0];
  S.err_r = err[0];

  char msg[2048];
  const char *devdir = spec_get(&S.spec, "devbpf", 1, NULL);
  if (devdir && attach_device_filter(devdir, spec_get(&S.spec, "devbpf", 2, "")) < 0) {
    snprintf(msg, sizeof msg, "125 attach device filter to %s: %s", devdir, strerror(errno));
    kill(pid, SIGKILL);
    return fail_create(msg);
  }
  for (int i = 0; i < S.spec.nops; i++) {
    struct op *op = &S.spec.ops[i];
    if (strcmp(op->fields[0], "cgroupprocs") || op->nfields < 2) continue;
    int fd = open(op->fields[1], O_WRONLY | O_CLOEXEC);
    char b[32];
    snprintf(b, sizeof b, "%d", pid);
    if (fd < 0 || write_all(fd, b, strlen(b)) < 0) {
      snprintf(msg, sizeof msg, "125 join cgroup %s: %s", op->fields[1], strerror(errno));
      kill(pid, SIGKILL);
      return fail_create(msg);
    }
    close(fd);
  }
  char c = 'G';
  if (write(S.sp, &c, 1) != 1) return fail_create("125 container process died");
  if (S.terminal) {
    S.master = recv_fd(S.sp);
    S.in_w = openstdin ? S.master : -1;
  }
  if ((S.terminal && S.master < 0) || read(S.sp, &c, 1) != 1 || c != 'R') {
    if (read_child_error(msg, sizeof msg) == 0) strcpy(msg, "125 container init died during setup");
    waitpid(pid, NULL, 0);
    return fail_create(msg);
  }
  if (S.in_w >= 0) fcntl(S.in_w, F_SETFL, fcntl(S.in_w, F_GETFL) | O_NONBLOCK);
  /* the supervisor should be the last thing the OOM killer picks; the container set its own score */
  int oomfd = open("/proc/self/oom_score_adj", O_WRONLY | O_CLOEXEC);
  if (oomfd >= 0) {
    write_all(oomfd, "-998", 4);
    close(oomfd);
  }
  printf("created %d\n", pid);
  fflush(stdout);
  int null = open("/dev/null", O_RDWR);
  dup2(null, 0);
  dup2(null, 1);
  dup2(null, 2);
  close(null);

  int exited = 0, status = 0;
  int outs[2] = {S.terminal ? S.master : S.out_r, S.terminal ? -1 : S.err_r};
  for (;;) {
    struct pollfd p[5 + MAX_CONN];
    int np = 0;
    p[np++] = (struct pollfd){.fd = lfd, .events = POLLIN};
    p[np++] = (struct pollfd){.fd = sfd, .events = POLLIN};
    p[np++] = (struct pollfd){.fd = outs[0], .events = POLLIN};
    p[np++] = (struct pollfd){.fd = outs[1], .events = POLLIN};
    p[np++] = (struct pollfd){.fd = S.pendlen > 0 ? S.in_w : -1, .events = POLLOUT};
    int base = np;
    for (int i = 0; i < S.nconn; i++)
      p[np++] = (struct pollfd){.fd = S.conns[i].fd, .events = S.conns[i].in && S.pendlen == 0 ? POLLIN : 0};
    if (poll(p, (nfds_t)np, -1) < 0) continue;
    if (p[1].revents) {
      struct signalfd_siginfo si;
      while (read(sfd, &si, sizeof si) > 0) {}
      if (waitpid(pid, &status, WNOHANG) == pid) exited = 1;
    }
    for (int k = 0; k < 2; k++)
      if (p[2 + k].revents && pump(outs[k], k + 1) == 0) outs[k] = -1;
    if (exited) finish(status);
    if (p[4].revents && S.pendlen > 0) drain_stdin();
    /* attachers: the conns array may shrink while we walk it, so map back by fd */
    for (int j = base; j < np; j++) {
      if (!p[j].revents) continue;
      int i = 0;
      while (i < S.nconn && S.conns[i].fd != p[j].fd) i++;
      if (i == S.nconn) continue;
      struct conn *cn = &S.conns[i];
      if (cn->kind == 2) { /* a waiter hung up */
        drop_conn(i);
        continue;
      }
      char buf[32768];
      if (cn->in && S.pendlen > 0 && !(p[j].revents & (POLLHUP | POLLERR))) continue;
      ssize_t n = cn->in ? read(cn->fd, buf, sizeof buf) : 0;
      if (n > 0 && S.in_w >= 0) {
        feed_stdin(buf, (size_t)n);
      } else if (n <= 0 && !(n < 0 && (errno == EINTR || errno == EAGAIN))) {
        int was_in = cn->in;
        cn->in = 0;
        if (!cn->out && !cn->err) drop_conn(i);
        else if (p[j].revents & (POLLHUP | POLLERR)) drop_conn(i);
        if (was_in && S.stdinonce) close_stdin();
      }
    }
    if (p[0].revents) {
      int cfd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
      if (cfd >= 0) handle_conn(cfd);
    }
  }
}

int main(int argc, char **argv) {
  const char *base = strrchr(argv[0], '/');
  base = base ? base + 1 : argv[0];
  if (!strcmp(base, "docker-init") || (argc > 1 && !strcmp(argv[1], "init"))) return shim_init(argc, argv);
  if (argc >= 3 && !strcmp(argv[1], "create")) return shim_create(argv[2]);
  if (argc >= 3 && !strcmp(argv[1], "exec")) return shim_exec(argv[2]);
  fprintf(stderr, "usage: berth-shim create <statedir> | exec <specfile> | init -- cmd...\n");
  return 2;
}
