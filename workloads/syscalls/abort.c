/*
 * abort: output, then abort(). The process must die of SIGABRT (the engine: reason "signal",
 * exit_code 6) after the flushed line was written. With an argument, the program first
 * installs SIG_IGN for SIGABRT (abort() must still kill it), or sends itself SIGTERM ("term").
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char **argv) {
  printf("before abort\n");
  fflush(stdout);
  if (argc > 1 && strcmp(argv[1], "ignore") == 0) signal(SIGABRT, SIG_IGN);
  if (argc > 1 && strcmp(argv[1], "term") == 0) kill(getpid(), SIGTERM);
  abort();
}
