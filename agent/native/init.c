/* docker-init: a tiny pid 1 for --init. Runs the command as its child, forwards signals to it, reaps every
 * orphan the container produces, and exits with the command's status (128+n when killed by signal n). */
#include "shim.h"
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

int shim_init(int argc, char **argv) {
  int first = 1;
  while (first < argc && strcmp(argv[first], "--") != 0) first++;
  first = first < argc ? first + 1 : 1 + (argc > 1 && !strcmp(argv[1], "init"));
  if (first >= argc) {
    fprintf(stderr, "docker-init: no command given\n");
    return 1;
  }
  sigset_t all, old;
  sigfillset(&all);
  sigprocmask(SIG_BLOCK, &all, &old);
  pid_t child = fork();
  if (child == 0) {
    sigprocmask(SIG_SETMASK, &old, NULL);
    setpgid(0, 0);
    if (isatty(0)) {
      signal(SIGTTOU, SIG_IGN);
      tcsetpgrp(0, getpid());
      signal(SIGTTOU, SIG_DFL);
    }
    execvp(argv[first], &argv[first]);
    fprintf(stderr, "docker-init: exec %s failed: %s\n", argv[first], strerror(errno));
    _exit(errno == ENOENT ? 127 : 126);
  }
  for (;;) {
    siginfo_t si;
    int sig = sigwaitinfo(&all, &si);
    if (sig < 0) continue;
    if (sig != SIGCHLD) {
      kill(child, sig);
      continue;
    }
    int status;
    pid_t p;
    while ((p = waitpid(-1, &status, WNOHANG)) > 0)
      if (p == child) return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  }
}
