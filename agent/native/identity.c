/* Who the process runs as: capability sets, user/groups, no_new_privs, seccomp, and the PATH lookup that
 * turns a missing command into Docker's 127 before anything runs. Shared by create and exec. */
#include "shim.h"
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/capability.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

static int last_cap(void) {
  int fd = open("/proc/sys/kernel/cap_last_cap", O_RDONLY | O_CLOEXEC);
  char b[16] = {0};
  if (fd >= 0) {
    if (read(fd, b, sizeof b - 1) < 0) b[0] = 0;
    close(fd);
  }
  return b[0] ? atoi(b) : 40;
}

static void capset64(uint64_t eff, uint64_t prm, uint64_t inh, int errfd) {
  struct __user_cap_header_struct h = {.version = _LINUX_CAPABILITY_VERSION_3, .pid = 0};
  struct __user_cap_data_struct d[2] = {
      {.effective = (uint32_t)eff, .permitted = (uint32_t)prm, .inheritable = (uint32_t)inh},
      {.effective = (uint32_t)(eff >> 32), .permitted = (uint32_t)(prm >> 32), .inheritable = (uint32_t)(inh >> 32)},
  };
  if (syscall(SYS_capset, &h, d) < 0) child_fail(errfd, 125, "capset: %s", strerror(errno));
}

/* What we may grant at all: a host (or a sandbox around berthd) can withhold capabilities, and asking capset
 * for more than we hold fails; like runc, grant the requested sets minus what the host does not have. */
static uint64_t held_permitted(void) {
  struct __user_cap_header_struct h = {.version = _LINUX_CAPABILITY_VERSION_3, .pid = 0};
  struct __user_cap_data_struct d[2];
  memset(d, 0, sizeof d);
  if (syscall(SYS_capget, &h, d) < 0) return ~0ULL;
  return (uint64_t)d[0].permitted | ((uint64_t)d[1].permitted << 32);
}

void apply_seccomp(struct spec *s, int errfd) {
  const char *hex = spec_get(s, "seccomp", 1, NULL);
  if (!hex) return;
  size_t len;
  unsigned char *raw = hex_decode(hex, &len);
  /* berthd encodes each instruction little-endian as code(u16) jt(u8) jf(u8) k(u32), i.e. struct sock_filter */
  struct sock_fprog prog = {.len = (unsigned short)(len / sizeof(struct sock_filter)), .filter = (struct sock_filter *)raw};
  if (prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog, 0, 0) < 0)
    child_fail(errfd, 125, "seccomp: %s", strerror(errno));
}

/* Order matters: drop the bounding set while still fully privileged, then seccomp (CAP_SYS_ADMIN spares us
 * needing no_new_privs for it), then switch user keeping permitted caps, then set the final sets. */
void apply_identity(struct spec *s, int errfd) {
  struct op *caps = spec_find(s, "caps");
  if (caps && caps->nfields >= 4) {
    uint64_t bnd = strtoull(caps->fields[1], NULL, 16);
    int last = last_cap();
    for (int c = 0; c <= last; c++)
      if (!(bnd & (1ULL << c)) && prctl(PR_CAPBSET_DROP, c, 0, 0, 0) < 0 && errno != EINVAL)
        child_fail(errfd, 125, "drop capability %d: %s", c, strerror(errno));
  }
  apply_seccomp(s, errfd);
  struct op *user = spec_find(s, "user");
  if (user && user->nfields >= 3) {
    uid_t uid = (uid_t)strtoul(user->fields[1], NULL, 10);
    gid_t gid = (gid_t)strtoul(user->fields[2], NULL, 10);
    gid_t groups[256];
    int ng = 0;
    if (user->nfields >= 4 && *user->fields[3]) {
      char *save = NULL, *dup = strdup(user->fields[3]);
      for (char *g = strtok_r(dup, ",", &save); g && ng < 256; g = strtok_r(NULL, ",", &save)) groups[ng++] = (gid_t)atol(g);
    }
    if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0) child_fail(errfd, 125, "keepcaps: %s", strerror(errno));
    if (setgroups(ng, groups) < 0) child_fail(errfd, 125, "setgroups: %s", strerror(errno));
    if (setresgid(gid, gid, gid) < 0) child_fail(errfd, 125, "setgid %u: %s", gid, strerror(errno));
    if (setresuid(uid, uid, uid) < 0) child_fail(errfd, 125, "setuid %u: %s", uid, strerror(errno));
    prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0);
  }
  if (caps && caps->nfields >= 4) {
    uint64_t held = held_permitted();
    capset64(strtoull(caps->fields[3], NULL, 16) & held, strtoull(caps->fields[2], NULL, 16) & held, 0, errfd);
  }
  if (spec_find(s, "nnp") && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
    child_fail(errfd, 125, "no_new_privs: %s", strerror(errno));
}

static const char *env_get(char **env, const char *key) {
  size_t k = strlen(key);
  for (; env && *env; env++)
    if (strncmp(*env, key, k) == 0 && (*env)[k] == '=') return *env + k + 1;
  return NULL;
}

static int check_exec(const char *p) {
  struct stat st;
  if (stat(p, &st) < 0) return -1;
  if (S_ISDIR(st.st_mode)) { errno = EACCES; return -2; }
  if (access(p, X_OK) < 0) return -2;
  return 0;
}

char *lookup_exec(struct spec *s, int errfd) {
  int argc;
  char **argv = spec_args(s, &argc);
  if (argc == 0) child_fail(errfd, 125, "no command specified");
  const char *cmd = argv[0];
  if (strchr(cmd, '/')) {
    int r = check_exec(cmd);
    if (r == -1) child_fail(errfd, 127, "exec: \"%s\": stat %s: no such file or directory", cmd, cmd);
    if (r == -2) child_fail(errfd, 126, "exec: \"%s\": permission denied", cmd);
    return strdup(cmd);
  }
  const char *path = env_get(spec_env(s), "PATH");
  if (!path) path = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
  char *dup = strdup(path), *save = NULL;
  int denied = 0;
  for (char *dir = strtok_r(dup, ":", &save); dir; dir = strtok_r(NULL, ":", &save)) {
    char full[4096];
    snprintf(full, sizeof full, "%s/%s", *dir ? dir : ".", cmd);
    int r = check_exec(full);
    if (r == 0) return strdup(full);
    if (r == -2) denied = 1;
  }
  if (denied) child_fail(errfd, 126, "exec: \"%s\": permission denied", cmd);
  child_fail(errfd, 127, "exec: \"%s\": executable file not found in $PATH", cmd);
}
