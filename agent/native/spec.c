/* The op list berthd writes: one op per line, fields separated by TAB, with \\ \t \n escaped. */
#include "shim.h"
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char *unescape(char *s) {
  char *w = s;
  for (char *r = s; *r; r++) {
    if (*r == '\\' && r[1]) {
      r++;
      *w++ = *r == 't' ? '\t' : *r == 'n' ? '\n' : *r;
    } else {
      *w++ = *r;
    }
  }
  *w = 0;
  return s;
}

int spec_load(const char *path, struct spec *s) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return -1;
  struct stat st;
  if (fstat(fd, &st) < 0) return -1;
  char *buf = malloc(st.st_size + 1);
  size_t got = 0;
  while (got < (size_t)st.st_size) {
    ssize_t n = read(fd, buf + got, st.st_size - got);
    if (n <= 0) break;
    got += n;
  }
  close(fd);
  buf[got] = 0;
  int lines = 1;
  for (size_t i = 0; i < got; i++) lines += buf[i] == '\n';
  s->ops = calloc(lines, sizeof(struct op));
  s->nops = 0;
  char *save = NULL;
  for (char *line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
    int nf = 1;
    for (char *p = line; *p; p++) nf += *p == '\t';
    struct op *op = &s->ops[s->nops++];
    op->fields = calloc(nf + 1, sizeof(char *));
    op->nfields = 0;
    char *start = line;
    for (char *p = line;; p++) {
      if (*p == '\t' || *p == 0) {
        int end = *p == 0;
        *p = 0;
        op->fields[op->nfields++] = unescape(start);
        if (end) break;
        start = p + 1;
      }
    }
  }
  return 0;
}

struct op *spec_find(struct spec *s, const char *name) {
  for (int i = 0; i < s->nops; i++)
    if (strcmp(s->ops[i].fields[0], name) == 0) return &s->ops[i];
  return NULL;
}

const char *spec_get(struct spec *s, const char *name, int field, const char *dflt) {
  struct op *op = spec_find(s, name);
  return op && op->nfields > field ? op->fields[field] : dflt;
}

long long spec_num(struct spec *s, const char *name, int field, long long dflt) {
  const char *v = spec_get(s, name, field, NULL);
  return v ? strtoll(v, NULL, 0) : dflt;
}

char **spec_args(struct spec *s, int *argc) {
  struct op *op = spec_find(s, "args");
  if (!op || op->nfields < 2) {
    *argc = 0;
    return NULL;
  }
  *argc = op->nfields - 1;
  return &op->fields[1];
}

char **spec_env(struct spec *s) {
  int n = 0;
  for (int i = 0; i < s->nops; i++) n += strcmp(s->ops[i].fields[0], "env") == 0;
  char **env = calloc(n + 1, sizeof(char *));
  n = 0;
  for (int i = 0; i < s->nops; i++)
    if (strcmp(s->ops[i].fields[0], "env") == 0 && s->ops[i].nfields > 1) env[n++] = s->ops[i].fields[1];
  return env;
}
