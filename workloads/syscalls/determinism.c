/*
 * determinism: prints everything that comes from the "outside world" — AT_RANDOM, getrandom,
 * /dev/urandom, clocks, uname, ids. Under the engine in deterministic mode the output depends
 * only on the seed (-s), so two runs with the same seed print the same bytes.
 */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/random.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

static void hex(const char *label, const unsigned char *p, int n) {
  printf("%s: ", label);
  for (int i = 0; i < n; i++) printf("%02x", p[i]);
  printf("\n");
}

int main(void) {
  hex("at_random", (const unsigned char *)getauxval(AT_RANDOM), 16);
  unsigned char b[16];
  getrandom(b, sizeof b, 0);
  hex("getrandom", b, 16);
  int fd = open("/dev/urandom", O_RDONLY);
  memset(b, 0, sizeof b);
  if (fd >= 0) {
    read(fd, b, 8);
    close(fd);
  }
  hex("urandom", b, 8);
  struct timespec rt, mt;
  clock_gettime(CLOCK_REALTIME, &rt);
  clock_gettime(CLOCK_MONOTONIC, &mt);
  printf("realtime: %lld.%09ld\n", (long long)rt.tv_sec, rt.tv_nsec);
  printf("monotonic: %lld.%09ld\n", (long long)mt.tv_sec, mt.tv_nsec);
  struct utsname u;
  uname(&u);
  printf("uname: %s %s %s %s\n", u.sysname, u.nodename, u.release, u.machine);
  printf("ids: pid %d ppid %d uid %d gid %d\n", (int)getpid(), (int)getppid(), (int)getuid(),
         (int)getgid());
  printf("hwcap: %lx\n", getauxval(AT_HWCAP));
  printf("pagesz: %lu\n", getauxval(AT_PAGESZ));
  return 0;
}
