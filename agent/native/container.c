/* The container child: performs berthd's ops inside fresh namespaces, in the order given, then stops just
 * before execve. Every failure is reported over `errfd` as "<exit code> <message>". */
#include "shim.h"
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/capability.h>
#include <linux/filter.h>
#include <linux/openat2.h>
#include <linux/seccomp.h>
#include <net/if.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <linux/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <termios.h>
#include <unistd.h>

void child_fail(int errfd, int code, const char *fmt, ...) {
  char msg[2048];
  int n = snprintf(msg, sizeof msg, "%d ", code);
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg + n, sizeof msg - n, fmt, ap);
  va_end(ap);
  if (errfd >= 0) write_all(errfd, msg, strlen(msg));
  else fprintf(stderr, "berth-shim: %s\n", msg + n);
  _exit(code);
}

static int openat2_in_root(int rootfd, const char *path, int flags) {
  struct open_how how = {.flags = (uint64_t)(flags | O_CLOEXEC), .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS};
  while (*path == '/') path++;
  if (!*path) path = ".";
  return (int)syscall(SYS_openat2, rootfd, path, &how, sizeof how);
}

/* Opens `path` inside the rootfs without following symlinks out of it; creates missing parents as
 * directories and the leaf as `kind` ('d' dir, 'f' file, '-' must exist). */
static int open_in_root(int rootfd, const char *path, char kind, int errfd) {
  int fd = openat2_in_root(rootfd, path, O_PATH);
  if (fd >= 0 || errno != ENOENT || kind == '-') return fd;
  char buf[4096];
  snprintf(buf, sizeof buf, "%s", path);
  int dirfd = dup(rootfd);
  char *save = NULL;
  char *comp = strtok_r(buf, "/", &save);
  while (comp) {
    char *next = strtok_r(NULL, "/", &save);
    int leaf = next == NULL;
    if (strcmp(comp, "..") == 0) child_fail(errfd, 125, "mount destination %s must not contain ..", path);
    struct open_how how = {.flags = O_PATH | O_CLOEXEC, .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS};
    int sub = (int)syscall(SYS_openat2, dirfd, comp, &how, sizeof how);
    if (sub < 0 && errno == ENOENT) {
      if (!leaf || kind == 'd') {
        if (mkdirat(dirfd, comp, 0755) < 0 && errno != EEXIST) child_fail(errfd, 125, "mkdir %s: %s", path, strerror(errno));
      } else {
        int f = openat(dirfd, comp, O_CREAT | O_EXCL | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0644);
        if (f < 0 && errno != EEXIST) child_fail(errfd, 125, "create %s: %s", path, strerror(errno));
        if (f >= 0) close(f);
      }
      sub = (int)syscall(SYS_openat2, dirfd, comp, &how, sizeof how);
    }
    close(dirfd);
    if (sub < 0) return -1;
    dirfd = sub;
    comp = next;
  }
  return dirfd;
}

static void fdpath(char *out, size_t n, int fd) { snprintf(out, n, "/proc/self/fd/%d", fd); }

#define BIND_REMOUNT_FLAGS (MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC)

static void do_mount(const char *src, const char *target, const char *fstype, unsigned long flags, const char *data,
                     int errfd, const char *shown) {
  const char *s = *src ? src : NULL, *t = *fstype ? fstype : NULL, *d = *data ? data : NULL;
  unsigned long first = flags;
  if (flags & MS_BIND) first = flags & (MS_BIND | MS_REC);
  if (mount(s, target, t, first, d) < 0)
    child_fail(errfd, 125, "error mounting \"%s\" to rootfs at \"%s\": %s", src, shown, strerror(errno));
}

/* A bind mount takes ro/nosuid/nodev/noexec only through a remount of the new mount itself. */
static void bind_remount(const char *target, unsigned long flags, int errfd, const char *shown) {
  if (!(flags & MS_BIND) || !(flags & BIND_REMOUNT_FLAGS)) return;
  if (mount(NULL, target, NULL, MS_REMOUNT | MS_BIND | (flags & BIND_REMOUNT_FLAGS), NULL) < 0)
    child_fail(errfd, 125, "remount \"%s\": %s", shown, strerror(errno));
}

/* overlay <target> <upper> <work> <base> <lower relative to base>...: the new mount API takes one layer per
 * "lowerdir+" call (kernel 6.8+), so no page limit; older kernels get mount(2) with names relative to base. */
static void mount_overlay(struct op *op, int errfd) {
  char **f = op->fields;
  int nl = op->nfields - 5;
  char path[4096];
  int fs = (int)syscall(SYS_fsopen, "overlay", FSOPEN_CLOEXEC);
  int ok = fs >= 0;
  for (int i = 0; ok && i < nl; i++) {
    snprintf(path, sizeof path, "%s/%s", f[4], f[5 + i]);
    ok = syscall(SYS_fsconfig, fs, FSCONFIG_SET_STRING, "lowerdir+", path, 0) == 0;
  }
  ok = ok && syscall(SYS_fsconfig, fs, FSCONFIG_SET_STRING, "upperdir", f[2], 0) == 0 &&
       syscall(SYS_fsconfig, fs, FSCONFIG_SET_STRING, "workdir", f[3], 0) == 0 &&
       syscall(SYS_fsconfig, fs, FSCONFIG_CMD_CREATE, NULL, NULL, 0) == 0;
  if (ok) {
    int mfd = (int)syscall(SYS_fsmount, fs, FSMOUNT_CLOEXEC, 0);
    if (mfd >= 0 && syscall(SYS_move_mount, mfd, "", AT_FDCWD, f[1], MOVE_MOUNT_F_EMPTY_PATH) == 0) {
      close(mfd);
      close(fs);
      return;
    }
    child_fail(errfd, 125, "mount overlay at %s: %s", f[1], strerror(errno));
  }
  if (fs >= 0) close(fs);
  size_t len = 0;
  char *data = malloc(8192);
  len += (size_t)snprintf(data, 8192, "lowerdir=");
  for (int i = 0; i < nl && len < 8000; i++) len += (size_t)snprintf(data + len, 8192 - len, "%s%s", i ? ":" : "", f[5 + i]);
  snprintf(data + len, 8192 - len, ",upperdir=%s,workdir=%s", f[2], f[3]);
  if (chdir(f[4]) < 0 || mount("overlay", f[1], "overlay", 0, data) < 0)
    child_fail(errfd, 125, "mount overlay at %s: %s", f[1], strerror(errno));
  free(data);
}

static void write_proc(const char *path, const char *value, int errfd) {
  int fd = open(path, O_WRONLY | O_CLOEXEC);
  if (fd < 0 || write_all(fd, value, strlen(value)) < 0)
    child_fail(errfd, 125, "write %s: %s", path, strerror(errno));
  close(fd);
}

static void loopback_up(int errfd) {
  int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  struct ifreq ifr = {0};
  strcpy(ifr.ifr_name, "lo");
  if (s < 0 || ioctl(s, SIOCGIFFLAGS, &ifr) < 0) child_fail(errfd, 125, "loopback: %s", strerror(errno));
  ifr.ifr_flags |= IFF_UP | IFF_RUNNING;
  if (ioctl(s, SIOCSIFFLAGS, &ifr) < 0) child_fail(errfd, 125, "loopback up: %s", strerror(errno));
  close(s);
}

static void mask_path(const char *p, int errfd) {
  struct stat st;
  if (stat(p, &st) < 0) return; /* absent on this kernel: nothing to hide */
  if (S_ISDIR(st.st_mode)) {
    if (mount("tmpfs", p, "tmpfs", MS_RDONLY, "size=0,mode=555") < 0)
      child_fail(errfd, 125, "mask %s: %s", p, strerror(errno));
  } else if (mount("/dev/null", p, NULL, MS_BIND, NULL) < 0) {
    child_fail(errfd, 125, "mask %s: %s", p, strerror(errno));
  }
}

static void readonly_path(const char *p, int errfd) {
  if (mount(p, p, NULL, MS_BIND | MS_REC, NULL) < 0) {
    if (errno == ENOENT) return;
    child_fail(errfd, 125, "readonly %s: %s", p, strerror(errno));
  }
  if (mount(NULL, p, NULL, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0)
    child_fail(errfd, 125, "readonly %s: %s", p, strerror(errno));
}

static void setup_terminal(struct spec *s, int errfd, int sockfd) {
  int master = open("/dev/pts/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (master < 0) master = open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (master < 0 || unlockpt(master) < 0) child_fail(errfd, 125, "open ptmx: %s", strerror(errno));
  struct winsize ws = {.ws_row = (unsigned short)spec_num(s, "consolesize", 1, 24),
                       .ws_col = (unsigned short)spec_num(s, "consolesize", 2, 80)};
  ioctl(master, TIOCSWINSZ, &ws);
  int slave = ioctl(master, TIOCGPTPEER, O_RDWR | O_NOCTTY);
  if (slave < 0) child_fail(errfd, 125, "open pty peer: %s", strerror(errno));
  if (fchown(slave, (uid_t)spec_num(s, "user", 1, 0), (gid_t)-1) < 0) { /* best effort, as runc */ }
  /* /dev/console is the container's terminal, as runc sets it up */
  char *name = ptsname(master);
  int cons = open("/dev/console", O_CREAT | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (cons >= 0) close(cons);
  if (name && cons >= 0 && mount(name, "/dev/console", NULL, MS_BIND, NULL) < 0)
    child_fail(errfd, 125, "bind %s to /dev/console: %s", name, strerror(errno));
  if (send_fd(sockfd, master) < 0) child_fail(errfd, 125, "send pty: %s", strerror(errno));
  close(master);
  if (ioctl(slave, TIOCSCTTY, 0) < 0) child_fail(errfd, 125, "set controlling tty: %s", strerror(errno));
  for (int i = 0; i < 3; i++) dup2(slave, i);
  if (slave > 2) close(slave);
}

static void apply_rlimit(struct op *op, int errfd) {
  struct rlimit rl = {.rlim_cur = strtoull(op->fields[2], NULL, 0), .rlim_max = strtoull(op->fields[3], NULL, 0)};
  if (setrlimit(atoi(op->fields[1]), &rl) < 0) child_fail(errfd, 125, "setrlimit %s: %s", op->fields[1], strerror(errno));
}

void setup_container(struct spec *s, int errfd, int sockfd) {
  int rootfd = -1;
  umask(0); /* device nodes and mount points get exactly the modes berthd asked for */
  char target[64];
  for (int i = 0; i < s->nops; i++) {
    struct op *op = &s->ops[i];
    const char *n = op->fields[0];
    char **f = op->fields;
    if (!strcmp(n, "mount") && op->nfields >= 6) {
      do_mount(f[1], f[2], f[3], strtoul(f[4], NULL, 0), f[5], errfd, f[2]);
      bind_remount(f[2], strtoul(f[4], NULL, 0), errfd, f[2]);
    } else if (!strcmp(n, "overlay") && op->nfields >= 6) {
      mount_overlay(op, errfd);
    } else if (!strcmp(n, "rootfs")) {
      rootfd = open(f[1], O_PATH | O_DIRECTORY | O_CLOEXEC);
      if (rootfd < 0) child_fail(errfd, 125, "rootfs %s: %s", f[1], strerror(errno));
    } else if (!strcmp(n, "rmount") && op->nfields >= 7) {
      char kind = f[6][0];
      if (kind == 'a') { /* like the source: a dir for a dir, a file otherwise */
        struct stat st;
        kind = stat(f[1], &st) == 0 && !S_ISDIR(st.st_mode) ? 'f' : 'd';
      }
      int fd = open_in_root(rootfd, f[2], kind, errfd);
      if (fd < 0) child_fail(errfd, 125, "mount destination %s: %s", f[2], strerror(errno));
      fdpath(target, sizeof target, fd);
      unsigned long flags = strtoul(f[4], NULL, 0);
      do_mount(f[1], target, f[3], flags, f[5], errfd, f[2]);
      close(fd);
      if ((flags & MS_BIND) && (flags & BIND_REMOUNT_FLAGS)) {
        /* the fd still names the covered directory: look the path up again to reach the new mount */
        fd = open_in_root(rootfd, f[2], '-', errfd);
        if (fd < 0) child_fail(errfd, 125, "mount destination %s: %s", f[2], strerror(errno));
        fdpath(target, sizeof target, fd);
        bind_remount(target, flags, errfd, f[2]);
        close(fd);
      }
    } else if (!strcmp(n, "rmkdir")) {
      int fd = open_in_root(rootfd, f[1], 'd', errfd);
      if (fd < 0) child_fail(errfd, 125, "mkdir %s: %s", f[1], strerror(errno));
      close(fd);
    } else if (!strcmp(n, "rmknod") && op->nfields >= 5) {
      /* /dev is our own fresh tmpfs, so plain paths under the rootfs are safe here */
      int dev = openat2_in_root(rootfd, "dev", O_PATH | O_DIRECTORY);
      const char *name = strrchr(f[1], '/') + 1;
      if (dev < 0 || mknodat(dev, name, strtoul(f[2], NULL, 0), makedev(atoi(f[3]), atoi(f[4]))) < 0)
        if (errno != EEXIST) child_fail(errfd, 125, "mknod %s: %s", f[1], strerror(errno));
      if (dev >= 0) close(dev);
    } else if (!strcmp(n, "rsymlink")) {
      int dev = openat2_in_root(rootfd, "dev", O_PATH | O_DIRECTORY);
      const char *name = strrchr(f[2], '/') + 1;
      if (dev < 0 || (symlinkat(f[1], dev, name) < 0 && errno != EEXIST))
        child_fail(errfd, 125, "symlink %s: %s", f[2], strerror(errno));
      close(dev);
    } else if (!strcmp(n, "pivot")) {
      if (fchdir(rootfd) < 0 || syscall(SYS_pivot_root, ".", ".") < 0)
        child_fail(errfd, 125, "pivot_root: %s", strerror(errno));
      if (umount2(".", MNT_DETACH) < 0) child_fail(errfd, 125, "unmount old root: %s", strerror(errno));
      if (chdir("/") < 0) child_fail(errfd, 125, "chdir /: %s", strerror(errno));
      close(rootfd);
    } else if (!strcmp(n, "mask")) {
      mask_path(f[1], errfd);
    } else if (!strcmp(n, "ropath")) {
      readonly_path(f[1], errfd);
    } else if (!strcmp(n, "rootro")) {
      if (mount(NULL, "/", NULL, MS_REMOUNT | MS_BIND | MS_RDONLY, NULL) < 0)
        child_fail(errfd, 125, "readonly rootfs: %s", strerror(errno));
    } else if (!strcmp(n, "hostname")) {
      if (sethostname(f[1], strlen(f[1])) < 0) child_fail(errfd, 125, "sethostname: %s", strerror(errno));
    } else if (!strcmp(n, "domainname")) {
      if (setdomainname(f[1], strlen(f[1])) < 0) child_fail(errfd, 125, "setdomainname: %s", strerror(errno));
    } else if (!strcmp(n, "sysctl")) {
      char p[512];
      snprintf(p, sizeof p, "/proc/sys/%s", f[1]);
      for (char *c = p + 10; *c; c++) if (*c == '.') *c = '/';
      write_proc(p, f[2], errfd);
    } else if (!strcmp(n, "lo")) {
      loopback_up(errfd);
    } else if (!strcmp(n, "rlimit")) {
      apply_rlimit(op, errfd);
    } else if (!strcmp(n, "oomscore")) {
      write_proc("/proc/self/oom_score_adj", f[1], errfd);
    } else if (!strcmp(n, "cwd")) {
      if (mkdir(f[1], 0755) < 0 && errno != EEXIST) { /* parents: Docker creates the whole path */
        char p[4096];
        snprintf(p, sizeof p, "%s", f[1]);
        for (char *c = p + 1; *c; c++)
          if (*c == '/') { *c = 0; mkdir(p, 0755); *c = '/'; }
        mkdir(p, 0755);
      }
    } else if (!strcmp(n, "openpty")) {
      setsid();
      setup_terminal(s, errfd, sockfd);
    }
  }
  if (!spec_find(s, "openpty")) setsid();
  umask(022);
}
