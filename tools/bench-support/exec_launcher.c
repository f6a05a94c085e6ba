/* The launch floor for tools/bench: a static C program that does nothing but exec a build
 * from disk. Whatever a fatbin runner adds on top of this is its own overhead.
 *
 *   exec_launcher PROGRAM [ARG...]     (PROGRAM sees ARG... and argv[0] = PROGRAM) */
#include <stdio.h>
#include <unistd.h>

extern char **environ;

int main(int argc, char **argv) {
    if (argc < 2) return 2;
    execve(argv[1], argv + 1, environ);
    perror(argv[1]);
    return 127;
}
