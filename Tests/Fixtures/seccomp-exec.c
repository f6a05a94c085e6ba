/* Runs a program under a seccomp filter that makes chosen syscalls fail: the hardened
 * kernels and containers a fatbin meets, without needing one.
 *
 *   seccomp-exec [--deny NAME=ERRNO]... [--kill NAME]... [--deny-mfd-exec] -- PROGRAM ARG...
 *
 * NAME: memfd_create, execveat, open, openat, mkdir, fallocate. ERRNO: EPERM, ENOSYS,
 * EINVAL, EACCES, ENOSPC. --kill kills the process if it makes the call (proof that a
 * strategy never tried it). --deny-mfd-exec fails memfd_create with EINVAL when its flags
 * hold MFD_EXEC (0x10), as kernels before 6.3 do. The filter is inherited across exec. */
#include <errno.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

static const struct { const char *name; int nr; } syscalls[] = {
    {"memfd_create", SYS_memfd_create}, {"execveat", SYS_execveat}, {"open", SYS_open},
    {"openat", SYS_openat}, {"mkdir", SYS_mkdir}, {"fallocate", SYS_fallocate},
};
static const struct { const char *name; int value; } errnos[] = {
    {"EPERM", EPERM}, {"ENOSYS", ENOSYS}, {"EINVAL", EINVAL}, {"EACCES", EACCES}, {"ENOSPC", ENOSPC},
};

static int lookup_syscall(const char *name) {
    for (size_t i = 0; i < sizeof syscalls / sizeof *syscalls; i++)
        if (strcmp(syscalls[i].name, name) == 0) return syscalls[i].nr;
    fprintf(stderr, "seccomp-exec: unknown syscall %s\n", name);
    exit(2);
}

static int lookup_errno(const char *name) {
    for (size_t i = 0; i < sizeof errnos / sizeof *errnos; i++)
        if (strcmp(errnos[i].name, name) == 0) return errnos[i].value;
    fprintf(stderr, "seccomp-exec: unknown errno %s\n", name);
    exit(2);
}

int main(int argc, char **argv) {
    struct sock_filter prog[64];
    unsigned n = 0;
#define EMIT(...) (prog[n++] = (struct sock_filter)__VA_ARGS__)
    EMIT(BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)));
    EMIT(BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 1, 0));
    EMIT(BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS));
    EMIT(BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)));
    int i = 1;
    for (; i < argc && strcmp(argv[i], "--") != 0; i++) {
        if (n > 56) {
            fprintf(stderr, "seccomp-exec: too many rules\n");
            return 2;
        }
        if (strcmp(argv[i], "--deny-mfd-exec") == 0) {
            EMIT(BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_memfd_create, 0, 4));
            EMIT(BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, args[1])));
            EMIT(BPF_JUMP(BPF_JMP | BPF_JSET | BPF_K, 0x10, 0, 1));
            EMIT(BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EINVAL));
            EMIT(BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)));
        } else if ((strcmp(argv[i], "--deny") == 0 || strcmp(argv[i], "--kill") == 0) && i + 1 < argc) {
            int kill = argv[i][2] == 'k';
            char *rule = argv[++i], *eq = strchr(rule, '=');
            if (!kill && !eq) {
                fprintf(stderr, "seccomp-exec: --deny wants NAME=ERRNO, got %s\n", rule);
                return 2;
            }
            if (eq) *eq = 0;
            EMIT(BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (unsigned)lookup_syscall(rule), 0, 1));
            EMIT(BPF_STMT(BPF_RET | BPF_K, kill ? SECCOMP_RET_KILL_PROCESS : SECCOMP_RET_ERRNO | (unsigned)lookup_errno(eq + 1)));
        } else {
            fprintf(stderr, "seccomp-exec: unknown option %s\n", argv[i]);
            return 2;
        }
    }
    EMIT(BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW));
    if (i + 1 >= argc) {
        fprintf(stderr, "usage: seccomp-exec [--deny NAME=ERRNO]... [--kill NAME]... [--deny-mfd-exec] -- PROGRAM ARG...\n");
        return 2;
    }
    struct sock_fprog fprog = {.len = (unsigned short)n, .filter = prog};
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 || prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &fprog) != 0) {
        perror("seccomp-exec: installing the filter");
        return 2;
    }
    execv(argv[i + 1], argv + i + 1);
    perror("seccomp-exec: execv");
    return 127;
}
