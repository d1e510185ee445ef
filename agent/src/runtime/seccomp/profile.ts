/**
 * Berth's default seccomp policy: the same decisions as Docker's default profile (allow-list, EPERM for the
 * rest, namespace-creating clone flags refused without CAP_SYS_ADMIN, clone3 answered ENOSYS so libcs fall
 * back to clone, extra syscalls unlocked by capabilities), expressed as data for bpf.ts to compile.
 */
export type SeccompArch = 'x86_64' | 'aarch64';

export interface ArgCheck {
  index: number;
  op: 'eq' | 'ne' | 'masked_eq';
  value: number;
  /** For masked_eq: (arg & mask) == value. */
  mask?: number;
}

export interface SeccompRule {
  names: string[];
  action: 'allow' | { errno: number };
  /** Every listed check must hold (Docker's rules use at most one). */
  args?: ArgCheck[];
  /** Rule applies only when the process has all of these capabilities. */
  ifCaps?: string[];
  /** Rule applies only when the process lacks all of these capabilities. */
  unlessCaps?: string[];
  arches?: SeccompArch[];
}

const words = (s: string): string[] => s.trim().split(/\s+/);

const ALWAYS = words(`
accept accept4 access adjtimex alarm bind brk capget capset chdir chmod chown chown32 clock_adjtime
clock_adjtime64 clock_getres clock_getres_time64 clock_gettime clock_gettime64 clock_nanosleep
clock_nanosleep_time64 close close_range connect copy_file_range creat dup dup2 dup3 epoll_create epoll_create1
epoll_ctl epoll_ctl_old epoll_pwait epoll_pwait2 epoll_wait epoll_wait_old eventfd eventfd2 execve execveat exit
exit_group faccessat faccessat2 fadvise64 fadvise64_64 fallocate fanotify_mark fchdir fchmod fchmodat fchmodat2
fchown fchown32 fchownat fcntl fcntl64 fdatasync fgetxattr flistxattr flock fork fremovexattr fsetxattr fstat
fstat64 fstatat64 fstatfs fstatfs64 fsync ftruncate ftruncate64 futex futex_time64 futex_waitv futimesat getcpu
getcwd getdents getdents64 getegid getegid32 geteuid geteuid32 getgid getgid32 getgroups getgroups32 getitimer
getpeername getpgid getpgrp getpid getppid getpriority getrandom getresgid getresgid32 getresuid getresuid32
getrlimit get_robust_list getrusage getsid getsockname getsockopt get_thread_area gettid gettimeofday getuid
getuid32 getxattr inotify_add_watch inotify_init inotify_init1 inotify_rm_watch io_cancel ioctl io_destroy
io_getevents io_pgetevents io_pgetevents_time64 ioprio_get ioprio_set io_setup io_submit io_uring_enter
io_uring_register io_uring_setup ipc kill landlock_add_rule landlock_create_ruleset landlock_restrict_self lchown
lchown32 lgetxattr link linkat listen listxattr llistxattr _llseek lremovexattr lseek lsetxattr lstat lstat64
madvise map_shadow_stack membarrier memfd_create memfd_secret mincore mkdir mkdirat mknod mknodat mlock mlock2
mlockall mmap mmap2 mprotect mq_getsetattr mq_notify mq_open mq_timedreceive mq_timedreceive_time64 mq_timedsend
mq_timedsend_time64 mq_unlink mremap msgctl msgget msgrcv msgsnd msync munlock munlockall munmap name_to_handle_at
nanosleep newfstatat _newselect open openat openat2 pause pidfd_open pidfd_send_signal pipe pipe2 pkey_alloc
pkey_free pkey_mprotect poll ppoll ppoll_time64 prctl pread64 preadv preadv2 prlimit64 process_mrelease pselect6
pselect6_time64 pwrite64 pwritev pwritev2 read readahead readlink readlinkat readv recv recvfrom recvmmsg
recvmmsg_time64 recvmsg remap_file_pages removexattr rename renameat renameat2 restart_syscall rmdir rseq
rt_sigaction rt_sigpending rt_sigprocmask rt_sigqueueinfo rt_sigreturn rt_sigsuspend rt_sigtimedwait
rt_sigtimedwait_time64 rt_tgsigqueueinfo sched_getaffinity sched_getattr sched_getparam sched_get_priority_max
sched_get_priority_min sched_getscheduler sched_rr_get_interval sched_rr_get_interval_time64 sched_setaffinity
sched_setattr sched_setparam sched_setscheduler sched_yield seccomp select semctl semget semop semtimedop
semtimedop_time64 send sendfile sendfile64 sendmmsg sendmsg sendto setfsgid setfsgid32 setfsuid setfsuid32 setgid
setgid32 setgroups setgroups32 setitimer setpgid setpriority setregid setregid32 setresgid setresgid32 setresuid
setresuid32 setreuid setreuid32 setrlimit set_robust_list setsid setsockopt set_thread_area set_tid_address setuid
setuid32 setxattr shmat shmctl shmdt shmget shutdown sigaltstack signalfd signalfd4 sigprocmask sigreturn
socketcall socketpair splice stat stat64 statfs statfs64 statx symlink symlinkat sync sync_file_range syncfs
sysinfo tee tgkill time timer_create timer_delete timer_getoverrun timer_gettime timer_gettime64 timer_settime
timer_settime64 timerfd_create timerfd_gettime timerfd_gettime64 timerfd_settime timerfd_settime64 times tkill
truncate truncate64 ugetrlimit umask uname unlink unlinkat utime utimensat utimensat_time64 utimes vfork vmsplice
wait4 waitid waitpid write writev
process_vm_readv process_vm_writev ptrace
`);

/** CLONE_NEWNS|NEWCGROUP|NEWUTS|NEWIPC|NEWUSER|NEWPID|NEWNET (0x7E020000): clone may not create namespaces. */
const CLONE_NS_FLAGS = 0x7e020000;

export const DEFAULT_RULES: readonly SeccompRule[] = [
  { names: ALWAYS, action: 'allow' },
  { names: ['socket'], action: 'allow', args: [{ index: 0, op: 'ne', value: 40 /* AF_VSOCK */ }] },
  ...[0, 8, 0x20000, 0x20008, 0xffffffff].map((v): SeccompRule => ({
    names: ['personality'],
    action: 'allow',
    args: [{ index: 0, op: 'eq', value: v }],
  })),
  {
    names: words('arm_fadvise64_64 arm_sync_file_range sync_file_range2 breakpoint cacheflush set_tls'),
    action: 'allow',
    arches: ['aarch64'],
  },
  { names: ['arch_prctl', 'modify_ldt'], action: 'allow', arches: ['x86_64'] },
  { names: ['open_by_handle_at'], action: 'allow', ifCaps: ['CAP_DAC_READ_SEARCH'] },
  {
    names:
      words(`bpf clone clone3 fanotify_init fsconfig fsmount fsopen fspick lookup_dcookie mount mount_setattr
      move_mount open_tree perf_event_open quotactl quotactl_fd setdomainname sethostname setns syslog umount umount2
      unshare`),
    action: 'allow',
    ifCaps: ['CAP_SYS_ADMIN'],
  },
  {
    names: ['clone'],
    action: 'allow',
    args: [{ index: 0, op: 'masked_eq', mask: CLONE_NS_FLAGS, value: 0 }],
    unlessCaps: ['CAP_SYS_ADMIN'],
  },
  { names: ['clone3'], action: { errno: 38 /* ENOSYS */ }, unlessCaps: ['CAP_SYS_ADMIN'] },
  { names: ['reboot'], action: 'allow', ifCaps: ['CAP_SYS_BOOT'] },
  { names: ['chroot'], action: 'allow', ifCaps: ['CAP_SYS_CHROOT'] },
  { names: ['delete_module', 'init_module', 'finit_module'], action: 'allow', ifCaps: ['CAP_SYS_MODULE'] },
  { names: ['acct'], action: 'allow', ifCaps: ['CAP_SYS_PACCT'] },
  { names: ['kcmp', 'pidfd_getfd', 'process_madvise'], action: 'allow', ifCaps: ['CAP_SYS_PTRACE'] },
  { names: ['iopl', 'ioperm'], action: 'allow', ifCaps: ['CAP_SYS_RAWIO'] },
  {
    names: ['settimeofday', 'stime', 'clock_settime', 'clock_settime64'],
    action: 'allow',
    ifCaps: ['CAP_SYS_TIME'],
  },
  { names: ['vhangup'], action: 'allow', ifCaps: ['CAP_SYS_TTY_CONFIG'] },
  {
    names: ['get_mempolicy', 'mbind', 'set_mempolicy', 'set_mempolicy_home_node'],
    action: 'allow',
    ifCaps: ['CAP_SYS_NICE'],
  },
  { names: ['syslog'], action: 'allow', ifCaps: ['CAP_SYSLOG'] },
  { names: ['bpf'], action: 'allow', ifCaps: ['CAP_BPF'] },
  { names: ['perf_event_open'], action: 'allow', ifCaps: ['CAP_PERFMON'] },
];

/** Errno for everything not allowed (EPERM, as Docker's defaultErrnoRet). */
export const DEFAULT_ERRNO = 1;
