/* Payload for the process-semantics tests: reports what it was given, in a form a direct
 * run and a run through a fatbin can be compared byte for byte.
 *
 *   probe dump            argv, env, cwd, umask and open fds on stdout; what legitimately
 *                         differs between the two runs (exe, comm, pid) on lines "meta ..."
 *   probe exit N          exits with N
 *   probe raise SIG       dies by signal SIG (default action)
 *   probe signals FILE    handles TERM, INT, HUP, USR1: writes its pid to FILE, then
 *                         "got N" on stdout for each, exiting 0 after all four
 *   probe cat             copies stdin to stdout
 *   probe stdio           writes "to-stdout" and "to-stderr"
 *   probe reexec          execs /proc/self/exe with "dump" (how a payload restarts itself) */
#define _GNU_SOURCE
#include <dirent.h>
#include <signal.h>
#include <stdio.h>
#include <sys/resource.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

extern char **environ;

static void hexline(const char *label, const char *s, size_t len) {
    printf("%s %zu ", label, len);
    for (size_t i = 0; i < len; i++) printf("%02x", (unsigned char)s[i]);
    putchar('\n');
}

static void meta_file(const char *label, const char *path, int link) {
    char buf[4096] = "";
    ssize_t n = 0;
    if (link) {
        n = readlink(path, buf, sizeof buf - 1);
    } else {
        FILE *f = fopen(path, "r");
        if (f) {
            n = (ssize_t)fread(buf, 1, sizeof buf - 1, f);
            fclose(f);
        }
    }
    if (n < 0) n = 0;
    buf[n] = 0;
    if (n > 0 && buf[n - 1] == '\n') buf[n - 1] = 0;
    printf("meta %s %s\n", label, buf);
}

static void dump(int argc, char **argv) {
    printf("argc %d\n", argc);
    for (int i = 1; i < argc; i++) hexline("arg", argv[i], strlen(argv[i]));
    for (char **e = environ; *e; e++) hexline("env", *e, strlen(*e));
    char cwd[4096];
    printf("cwd %s\n", getcwd(cwd, sizeof cwd) ? cwd : "?");
    mode_t mask = umask(0);
    umask(mask);
    printf("umask %03o\n", (unsigned)mask);
    struct rlimit fsize;
    if (getrlimit(RLIMIT_FSIZE, &fsize) == 0)
        printf("rlimit fsize %llu %llu\n", (unsigned long long)fsize.rlim_cur, (unsigned long long)fsize.rlim_max);
    struct sigaction xfsz;
    sigaction(SIGXFSZ, NULL, &xfsz);
    printf("sigxfsz %s\n", xfsz.sa_handler == SIG_IGN ? "ignored" : "default");
    DIR *d = opendir("/proc/self/fd");
    int own = d ? dirfd(d) : -1;
    struct dirent *de;
    while (d && (de = readdir(d))) {
        if (de->d_name[0] == '.' || atoi(de->d_name) == own) continue;
        char path[300], target[4096];
        snprintf(path, sizeof path, "/proc/self/fd/%s", de->d_name);
        ssize_t n = readlink(path, target, sizeof target - 1);
        target[n < 0 ? 0 : n] = 0;
        /* stdio is the caller's per-run capture files: only that they are open matters. */
        printf("fd %s %s\n", de->d_name, atoi(de->d_name) < 3 ? "open" : target);
    }
    if (d) closedir(d);
    hexline("meta argv0", argv[0], strlen(argv[0]));
    meta_file("exe", "/proc/self/exe", 1);
    meta_file("comm", "/proc/self/comm", 0);
    printf("meta pid %d\n", (int)getpid());
}

static volatile sig_atomic_t seen;

static void on_signal(int sig) {
    char line[32];
    int n = snprintf(line, sizeof line, "got %d\n", sig);
    write(1, line, (size_t)n);
    seen++;
}

int main(int argc, char **argv) {
    const char *mode = argc > 1 ? argv[1] : "dump";
    if (strcmp(mode, "dump") == 0) {
        dump(argc, argv);
    } else if (strcmp(mode, "exit") == 0 && argc > 2) {
        return atoi(argv[2]);
    } else if (strcmp(mode, "raise") == 0 && argc > 2) {
        int sig = atoi(argv[2]);
        signal(sig, SIG_DFL);
        kill(getpid(), sig);
        pause();
    } else if (strcmp(mode, "signals") == 0 && argc > 2) {
        int sigs[] = {SIGTERM, SIGINT, SIGHUP, SIGUSR1};
        for (int i = 0; i < 4; i++) signal(sigs[i], on_signal);
        FILE *f = fopen(argv[2], "w");
        if (!f) return 3;
        fprintf(f, "%d\n", (int)getpid());
        fclose(f);
        while (seen < 4) pause();
    } else if (strcmp(mode, "cat") == 0) {
        char buf[65536];
        size_t n;
        while ((n = fread(buf, 1, sizeof buf, stdin)) > 0) fwrite(buf, 1, n, stdout);
    } else if (strcmp(mode, "stdio") == 0) {
        fputs("to-stdout\n", stdout);
        fputs("to-stderr\n", stderr);
    } else if (strcmp(mode, "reexec") == 0) {
        char *args[] = {argv[0], "dump", NULL};
        execv("/proc/self/exe", args);
        perror("probe: execv /proc/self/exe");
        return 4;
    } else {
        fprintf(stderr, "probe: unknown mode %s\n", mode);
        return 2;
    }
    return 0;
}
