/* berth-shim: the native last step of berthd's runtime (namespaces, mounts, pivot_root, caps, seccomp, exec)
 * and the per-container supervisor (stdio, json-file log, attach socket, exit status). All policy is decided
 * in TypeScript and arrives as a list of ops (see spec.c); this code only performs them in order. */
#ifndef BERTH_SHIM_H
#define BERTH_SHIM_H
#define _GNU_SOURCE
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* One op: fields[0] is the op name. */
struct op {
  int nfields;
  char **fields;
};

struct spec {
  int nops;
  struct op *ops;
};

int spec_load(const char *path, struct spec *s);
/* First op with this name, or NULL. */
struct op *spec_find(struct spec *s, const char *name);
const char *spec_get(struct spec *s, const char *name, int field, const char *dflt);
long long spec_num(struct spec *s, const char *name, int field, long long dflt);

/* Error channel from the container/exec child to its supervisor: "<code> <message>" (code 125/126/127). */
void child_fail(int errfd, int code, const char *fmt, ...) __attribute__((noreturn, format(printf, 3, 4)));

/* Runs every child-side op of `s` (mounts, pivot_root, hostname, sysctls, rlimits, user, caps, seccomp).
 * Returns after the process is ready to exec; `errfd` reports failures. */
void setup_container(struct spec *s, int errfd, int sockfd);
/* User, caps, no_new_privs, seccomp and exec lookups shared with exec. */
void apply_identity(struct spec *s, int errfd);
void apply_seccomp(struct spec *s, int errfd);
/* Resolves argv[0] in PATH from the spec's env; fails with 127/126 as Docker does. */
char *lookup_exec(struct spec *s, int errfd);
char **spec_args(struct spec *s, int *argc);
char **spec_env(struct spec *s);

/* SCM_RIGHTS helpers. */
int send_fd(int sock, int fd);
int recv_fd(int sock);

int write_all(int fd, const void *buf, size_t len);
/* berthd passes binary programs (seccomp, device BPF) as hex; malloc'd result. */
unsigned char *hex_decode(const char *hex, size_t *len);
/* Write `data` to `path` atomically (tmp + rename). */
int write_file_atomic(const char *path, const char *data);
void rfc3339nano(char *out, size_t n);
/* A pidfd for our own, not yet reaped child (-1 on kernels before 5.3), and a signal sent through it: the
 * signal can only ever reach that process, never one that later reuses its pid. Falls back to kill(2),
 * which is as safe while the child is unreaped. Returns 0 or -errno. */
int pidfd_for(pid_t pid);
int signal_child(int pidfd, pid_t pid, int sig);

int shim_create(const char *statedir);
int shim_exec(const char *specpath);
int shim_init(int argc, char **argv);

/* Log + attach serving for the supervisor (io.c). */
struct io;
struct io *io_new(struct spec *s, int terminal);
void io_output(struct io *io, int stream, const char *buf, size_t n);
void io_flush_partial(struct io *io);
void io_close(struct io *io);
#endif
