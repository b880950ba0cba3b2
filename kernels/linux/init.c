/* /init of the workbench initramfs: runs our guests under a real Linux kernel.
 *
 * The kernel starts it as PID 1 with /dev/console (a node in the archive) as fds 0-2.
 * It prints a start marker, runs each step below by fork + execve + waitpid and prints
 * the child's exit status, prints a done marker, then syncs and powers the machine off
 * (SBI SRST under OpenSBI, so QEMU exits by itself). Output is deterministic: no
 * timings, no pids, so two boots can be compared line by line after the kernel's own
 * timestamps are stripped (workbench.kernels.normalize_console).
 *
 * The disk step: init mounts devtmpfs on /dev and, when the board has a virtio disk
 * (/dev/vda), reads all of it, prints its size and FNV-1a 64 hash, then writes a line
 * naming that hash into its last sector and fsyncs, so the host can check both directions
 * (tests/test_linux_boot.py). Without a disk it says so.
 *
 * Benchmark mode: with WB_BENCH=/lua/SCRIPT (and optionally WB_BENCH_ARG=N) on the kernel
 * command line (the kernel hands such parameters to init's environment), init runs only
 * `/bin/lua54 SCRIPT N` and prints how long it took by CLOCK_MONOTONIC, which follows the
 * host's clock when the board runs in host-clock mode (workbench.bench's linux-lua54 row).
 *
 * Built static for riscv64 with the same musl toolchain as the guests
 * (workbench.kernels.build_init). Kept to plain POSIX + Linux calls.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

/* The steps: argv of each program run. Paths are those build_initramfs lays out. */
static char *const STEP_STRINGS[] = {"/bin/lua54", "/lua/strings.lua", NULL};
static char *const STEP_TABLES[] = {"/bin/lua54", "/lua/tables.lua", NULL};
static char *const STEP_COROUTINES[] = {"/bin/lua54", "/lua/coroutines.lua", NULL};
static char *const STEP_ZSTD[] = {"/bin/zstd", "256k", "3", NULL};
static char *const *const STEPS[] = {STEP_STRINGS, STEP_TABLES, STEP_COROUTINES, STEP_ZSTD};

static char *const CHILD_ENV[] = {"PATH=/bin", "HOME=/", "TERM=dumb", "LANG=C", NULL};

/* Unbuffered: a line must be on the console before the next fork, or a child's
 * output could overtake it (and stdio buffers would be duplicated into the child). */
#define say(...) dprintf(STDOUT_FILENO, "wb-init: " __VA_ARGS__)

static int run_step(char *const *argv)
{
    say("run %s %s\n", argv[0], argv[1] ? argv[1] : "");
    pid_t pid = fork();
    if (pid < 0) {
        say("fork failed: %s\n", strerror(errno));
        return -1;
    }
    if (pid == 0) {
        execve(argv[0], argv, CHILD_ENV);
        say("execve %s failed: %s\n", argv[0], strerror(errno));
        _exit(127);
    }
    int status = 0;
    while (waitpid(pid, &status, 0) < 0) {
        if (errno != EINTR) {
            say("waitpid failed: %s\n", strerror(errno));
            return -1;
        }
    }
    if (WIFEXITED(status)) {
        say("%s exited with status %d\n", argv[0], WEXITSTATUS(status));
        return WEXITSTATUS(status) == 0 ? 0 : -1;
    }
    say("%s killed by signal %d\n", argv[0], WIFSIGNALED(status) ? WTERMSIG(status) : -1);
    return -1;
}

/* The disk step (see the top). */
static void check_disk(void)
{
    if (mount("devtmpfs", "/dev", "devtmpfs", 0, NULL) != 0) {
        say("mount /dev failed: %s\n", strerror(errno));
        return;
    }
    int fd = open("/dev/vda", O_RDWR);
    if (fd < 0) {
        say("no disk (/dev/vda: %s)\n", strerror(errno));
        return;
    }
    static unsigned char buf[64 << 10];
    uint64_t hash = 0xcbf29ce484222325ull, size = 0;
    for (;;) {
        ssize_t n = read(fd, buf, sizeof buf);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            say("disk read failed at byte %llu: %s\n", (unsigned long long)size, strerror(errno));
            close(fd);
            return;
        }
        if (n == 0)
            break;
        for (ssize_t i = 0; i < n; i++)
            hash = (hash ^ buf[i]) * 0x100000001b3ull;
        size += (uint64_t)n;
    }
    say("disk /dev/vda: %llu bytes, fnv1a64 %016llx\n", (unsigned long long)size, (unsigned long long)hash);
    if (size < 512) {
        close(fd);
        return;
    }
    char sector[512];
    memset(sector, 0, sizeof sector);
    snprintf(sector, sizeof sector, "wb-init: disk read back, fnv1a64 %016llx\n", (unsigned long long)hash);
    if (pwrite(fd, sector, sizeof sector, (off_t)(size - 512)) != (ssize_t)sizeof sector || fsync(fd) != 0)
        say("disk write failed: %s\n", strerror(errno));
    else
        say("disk: wrote its last sector\n");
    close(fd);
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Benchmark mode (see the top): 0 if the program ran and exited 0. */
static int bench(const char *script, const char *arg)
{
    char *argv[] = {"/bin/lua54", (char *)script, (char *)arg, NULL};
    double t0 = now_s();
    int r = run_step(argv);
    double t1 = now_s();
    say("bench %s %s: %.6f s\n", script, arg ? arg : "", t1 - t0);
    return r;
}

int main(void)
{
    say("start\n");
    const char *script = getenv("WB_BENCH");
    if (script) {
        int r = bench(script, getenv("WB_BENCH_ARG"));
        say("done\n");
        sync();
        reboot(RB_POWER_OFF);
        say("poweroff failed: %s\n", strerror(errno));
        return r;
    }
    /* /proc is optional: nothing below needs it, but a missing procfs says the kernel
     * config lost PROC_FS, which is worth a line. */
    if (mount("proc", "/proc", "proc", 0, NULL) == 0)
        say("mounted /proc\n");
    else
        say("mount /proc failed: %s\n", strerror(errno));

    struct utsname u;
    if (uname(&u) == 0)
        say("kernel %s %s %s\n", u.sysname, u.release, u.machine);
    check_disk();

    int steps = (int)(sizeof STEPS / sizeof STEPS[0]), ok = 0;
    for (int i = 0; i < steps; i++)
        ok += run_step(STEPS[i]) == 0;
    say("%d of %d steps ok\n", ok, steps);
    say("done\n");

    sync();
    reboot(RB_POWER_OFF);
    /* Only reached when the poweroff failed. Returning makes the kernel panic, and
     * panic=-1 with QEMU's -no-reboot still ends the run instead of hanging it. */
    say("poweroff failed: %s\n", strerror(errno));
    return 1;
}
