/* The container's output: json-file log lines (Docker's format and rotation) and copies to attachers,
 * as 8-byte multiplexed frames without a TTY or raw bytes with one. */
#include "shim.h"
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_LINE 16384 /* dockerd splits longer lines into partial entries of this size */

struct io {
  int terminal;
  int logfd;
  char logpath[4096];
  long long maxsize;
  int maxfile;
  long long logsize;
  char line[3][MAX_LINE];
  size_t linelen[3];
};

struct io *io_new(struct spec *s, int terminal) {
  struct io *io = calloc(1, sizeof *io);
  io->terminal = terminal;
  io->logfd = -1;
  const char *p = spec_get(s, "log", 1, NULL);
  if (p && *p) {
    snprintf(io->logpath, sizeof io->logpath, "%s", p);
    io->maxsize = spec_num(s, "log", 2, 0);
    io->maxfile = (int)spec_num(s, "log", 3, 1);
    io->logfd = open(p, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
    struct stat st;
    if (io->logfd >= 0 && fstat(io->logfd, &st) == 0) io->logsize = st.st_size;
  }
  return io;
}

static void rotate(struct io *io) {
  char from[4200], to[4200];
  close(io->logfd);
  if (io->maxfile <= 1) {
    io->logfd = open(io->logpath, O_WRONLY | O_APPEND | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
  } else {
    for (int i = io->maxfile - 1; i >= 1; i--) {
      if (i == 1) snprintf(from, sizeof from, "%s", io->logpath);
      else snprintf(from, sizeof from, "%s.%d", io->logpath, i - 1);
      snprintf(to, sizeof to, "%s.%d", io->logpath, i);
      rename(from, to);
    }
    io->logfd = open(io->logpath, O_WRONLY | O_APPEND | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
  }
  io->logsize = 0;
}

/* Length of a valid UTF-8 sequence at p (max n bytes), or 0 when invalid. */
static int utf8_len(const unsigned char *p, size_t n) {
  int len = p[0] < 0x80 ? 1 : (p[0] & 0xE0) == 0xC0 ? 2 : (p[0] & 0xF0) == 0xE0 ? 3 : (p[0] & 0xF8) == 0xF0 ? 4 : 0;
  if (len == 0 || (size_t)len > n) return 0;
  for (int i = 1; i < len; i++)
    if ((p[i] & 0xC0) != 0x80) return 0;
  if (len == 2 && p[0] < 0xC2) return 0;
  return len;
}

static void log_entry(struct io *io, int stream, const char *buf, size_t n) {
  if (io->logfd < 0) return;
  char *out = malloc(n * 6 + 128);
  size_t o = 0;
  o += (size_t)sprintf(out, "{\"log\":\"");
  for (size_t i = 0; i < n;) {
    unsigned char c = (unsigned char)buf[i];
    if (c == '"' || c == '\\') { out[o++] = '\\'; out[o++] = (char)c; i++; }
    else if (c == '\n') { out[o++] = '\\'; out[o++] = 'n'; i++; }
    else if (c == '\r') { out[o++] = '\\'; out[o++] = 'r'; i++; }
    else if (c == '\t') { out[o++] = '\\'; out[o++] = 't'; i++; }
    else if (c < 0x20 || c == '<' || c == '>' || c == '&') { o += (size_t)sprintf(out + o, "\\u%04x", c); i++; }
    else if (c < 0x80) { out[o++] = (char)c; i++; }
    else {
      int l = utf8_len((const unsigned char *)buf + i, n - i);
      if (l == 0) { o += (size_t)sprintf(out + o, "\\ufffd"); i++; }
      else { memcpy(out + o, buf + i, (size_t)l); o += (size_t)l; i += (size_t)l; }
    }
  }
  char ts[64];
  rfc3339nano(ts, sizeof ts);
  o += (size_t)sprintf(out + o, "\",\"stream\":\"%s\",\"time\":\"%s\"}\n", stream == 2 ? "stderr" : "stdout", ts);
  if (io->maxsize > 0 && io->logsize > 0 && io->logsize + (long long)o > io->maxsize) rotate(io);
  if (io->logfd >= 0 && write_all(io->logfd, out, o) == 0) io->logsize += (long long)o;
  free(out);
}

void io_output(struct io *io, int stream, const char *buf, size_t n) {
  char *line = io->line[stream];
  size_t *len = &io->linelen[stream];
  for (size_t i = 0; i < n; i++) {
    line[(*len)++] = buf[i];
    if (buf[i] == '\n' || *len == MAX_LINE) {
      log_entry(io, stream, line, *len);
      *len = 0;
    }
  }
}

void io_flush_partial(struct io *io) {
  for (int s = 1; s <= 2; s++)
    if (io->linelen[s]) {
      log_entry(io, s, io->line[s], io->linelen[s]);
      io->linelen[s] = 0;
    }
}

void io_close(struct io *io) {
  io_flush_partial(io);
  if (io->logfd >= 0) close(io->logfd);
  io->logfd = -1;
}
