/* capture-proc-read-cost: what reading one new process's /proc costs, file by file, on this
 * machine: the price of context = "full" that no batching removes. For each of N rounds it forks
 * a child that waits (a live process whose /proc entries nobody has looked up yet, as at an
 * exec), then times, in order: opening /proc/PID as a directory, reading stat, cmdline (one
 * read each, openat/read/close through the directory), readlinkat exe and cwd, reading status;
 * and, on another fresh child, what forkstat does per exec: open /proc/PID/cmdline by its path,
 * read, close; and on a third, what context = "full" reads per exec now: the directory,
 * cmdline, exe and cwd (the ids come from the connector's events, the name from the exit record). Prints the median of each in microseconds as a Markdown table.
 *
 *   capture-proc-read-cost [N]   (default 2000) */
#define _GNU_SOURCE
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

enum { kSteps = 9 };
static const char* const kNames[kSteps] = {"open /proc/PID (directory)",
                                           "stat",
                                           "cmdline",
                                           "readlink exe",
                                           "readlink cwd",
                                           "status",
                                           "all six (context = \"full\" before ids came from events)",
                                           "forkstat: open, read, close PID/cmdline by path",
                                           "directory, cmdline, exe, cwd (context = \"full\" now)"};

static double now_us(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec * 1e6 + (double)t.tv_nsec / 1e3;
}

static void read_at(int dir, const char* name) {
  char buf[2048];
  const int fd = openat(dir, name, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return;
  if (read(fd, buf, sizeof buf) < 0) buf[0] = 0;
  close(fd);
}

static pid_t waiting_child(void) {
  const pid_t pid = fork();
  if (pid == 0) {
    pause();
    _exit(0);
  }
  return pid;
}

static void reap(pid_t pid) {
  kill(pid, SIGKILL);
  waitpid(pid, NULL, 0);
}

static int by_value(const void* a, const void* b) {
  const double x = *(const double*)a, y = *(const double*)b;
  return x < y ? -1 : x > y;
}

int main(int argc, char** argv) {
  const int n = argc > 1 ? atoi(argv[1]) : 2000;
  if (n <= 0) {
    fprintf(stderr, "usage: capture-proc-read-cost [N > 0]\n");
    return 64;
  }
  double* t[kSteps];
  for (int s = 0; s < kSteps; ++s) t[s] = calloc((size_t)n, sizeof(double));
  for (int i = 0; i < n; ++i) {
    pid_t pid = waiting_child();
    char path[64];
    char link[4096];
    snprintf(path, sizeof path, "/proc/%d", (int)pid);
    double mark[7];
    mark[0] = now_us();
    const int dir = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    mark[1] = now_us();
    read_at(dir, "stat");
    mark[2] = now_us();
    read_at(dir, "cmdline");
    mark[3] = now_us();
    if (readlinkat(dir, "exe", link, sizeof link) < 0) link[0] = 0;
    mark[4] = now_us();
    if (readlinkat(dir, "cwd", link, sizeof link) < 0) link[0] = 0;
    mark[5] = now_us();
    read_at(dir, "status");
    close(dir);
    mark[6] = now_us();
    for (int s = 0; s < 6; ++s) t[s][i] = mark[s + 1] - mark[s];
    t[6][i] = mark[6] - mark[0];
    reap(pid);

    pid = waiting_child();
    snprintf(path, sizeof path, "/proc/%d/cmdline", (int)pid);
    const double start = now_us();
    read_at(AT_FDCWD, path);
    t[7][i] = now_us() - start;
    reap(pid);

    pid = waiting_child();
    snprintf(path, sizeof path, "/proc/%d", (int)pid);
    const double begin = now_us();
    const int d = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    read_at(d, "cmdline");
    if (readlinkat(d, "exe", link, sizeof link) < 0) link[0] = 0;
    if (readlinkat(d, "cwd", link, sizeof link) < 0) link[0] = 0;
    close(d);
    t[8][i] = now_us() - begin;
    reap(pid);
  }
  printf("| /proc of a new process, %d rounds | median µs |\n|---|---|\n", n);
  for (int s = 0; s < kSteps; ++s) {
    qsort(t[s], (size_t)n, sizeof(double), by_value);
    printf("| %s | %.1f |\n", kNames[s], t[s][n / 2]);
    free(t[s]);
  }
  return 0;
}
