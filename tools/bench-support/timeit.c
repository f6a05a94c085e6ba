/* Runs commands many times and prints their wall-clock times and peak RSS, for tools/bench.
 *
 *   timeit [-n RUNS] [-w WARMUP] -- [NAME=VALUE...] COMMAND [ARG...] [:: [NAME=VALUE...] COMMAND ...]
 *
 * Several commands separated by `::` are run in rotation (A B C A B C ...), so a burst of load
 * from elsewhere on the machine falls on all of them alike and their ratios stay fair.
 * Leading NAME=VALUE words set environment variables for that command only, without the
 * extra exec an `env` wrapper would add to the time.
 *
 * Prints one line per command, in order:
 *   "runs=N median_ns=.. p10_ns=.. p90_ns=.. min_ns=.. maxrss_kb=.. status=.."
 * Children get stdin from /dev/null and stdout/stderr to /dev/null, so the numbers hold the
 * cost of starting and running the command, not of a terminal. Peak RSS comes from wait4,
 * which folds in every descendant the child waited for (a compiler driver's cc1 and ld), as
 * /usr/bin/time does. A Python or shell harness would add its own fork and scheduling noise
 * to sub-millisecond launches. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "timing.h"

extern char **environ;

typedef struct {
    char **argv;
    char **envp;
    uint64_t *times;
    long maxrss;
    int status;
} command;


/* environ with each NAME=VALUE of `sets` replacing or adding its variable. */
static char **environment_with(char **sets, int count) {
    size_t n = 0;
    while (environ[n]) n++;
    char **envp = calloc(n + (size_t)count + 1, sizeof *envp);
    if (!envp) exit(2);
    memcpy(envp, environ, n * sizeof *envp);
    for (int i = 0; i < count; i++) {
        size_t name = (size_t)(strchr(sets[i], '=') - sets[i]) + 1;
        size_t j = 0;
        while (j < n && strncmp(envp[j], sets[i], name) != 0) j++;
        envp[j] = sets[i];
        if (j == n) n++;
    }
    return envp;
}

static int is_assignment(const char *word) {
    const char *eq = strchr(word, '=');
    return eq && eq != word && word[0] != '-' && word[0] != '/' && word[0] != '.';
}

int main(int argc, char **argv) {
    long runs = 20, warmup = 3;
    int opt;
    while ((opt = getopt(argc, argv, "+n:w:")) != -1) {
        if (opt == 'n') runs = atol(optarg);
        else if (opt == 'w') warmup = atol(optarg);
        else return 2;
    }
    if (optind >= argc || runs < 1 || warmup < 0) {
        fprintf(stderr, "usage: timeit [-n RUNS] [-w WARMUP] -- [NAME=VALUE...] COMMAND [ARG...] [:: ...]\n");
        return 2;
    }

    command commands[64];
    int count = 0;
    for (int i = optind; i < argc && count < 64;) {
        int sets = i;
        while (i < argc && is_assignment(argv[i])) i++;
        command *c = &commands[count++];
        c->envp = environment_with(argv + sets, i - sets);
        c->argv = argv + i;
        while (i < argc && strcmp(argv[i], "::") != 0) i++;
        if (i < argc) argv[i++] = NULL;
        if (!c->argv[0]) {
            fprintf(stderr, "timeit: empty command\n");
            return 2;
        }
        c->times = calloc((size_t)runs, sizeof *c->times);
        c->maxrss = 0;
        c->status = 0;
    }

    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0);

    for (long round = -warmup; round < runs; round++) {
        for (int k = 0; k < count; k++) {
            command *c = &commands[k];
            pid_t pid;
            uint64_t start = now_ns();
            int err = posix_spawnp(&pid, c->argv[0], &actions, NULL, c->argv, c->envp);
            if (err) {
                fprintf(stderr, "timeit: %s: %s\n", c->argv[0], strerror(err));
                return 2;
            }
            int status;
            struct rusage usage;
            while (wait4(pid, &status, 0, &usage) < 0 && errno == EINTR) {}
            uint64_t elapsed = now_ns() - start;
            c->status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
            if (round < 0) continue;
            c->times[round] = elapsed;
            if (usage.ru_maxrss > c->maxrss) c->maxrss = usage.ru_maxrss;
        }
    }
    for (int k = 0; k < count; k++) {
        command *c = &commands[k];
        qsort(c->times, (size_t)runs, sizeof *c->times, by_value);
        printf("runs=%ld median_ns=%llu p10_ns=%llu p90_ns=%llu min_ns=%llu maxrss_kb=%ld status=%d\n", runs,
               (unsigned long long)c->times[runs / 2], (unsigned long long)c->times[runs / 10],
               (unsigned long long)c->times[runs * 9 / 10], (unsigned long long)c->times[0], c->maxrss,
               c->status);
    }
    return 0;
}
