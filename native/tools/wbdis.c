/* wbdis.c — disassemble hex instruction words from stdin, one output line per input line.
 *
 *   $ printf '00a50533\n4501\n0000\n' | wbdis
 *   add a0, a0, a0
 *   addi a0, zero, 0
 *   illegal
 *
 * Each input line holds one instruction word in hex ("00a50533", or "4501" for a compressed
 * one; a 0x prefix is allowed), optionally followed by the pc to disassemble at (hex; default
 * 0x10000, which matters only for branch and jump targets). Empty lines are echoed as empty
 * lines. With -f, each line also shows the decoded fields:
 *   "addi a0, zero, 0 | op=addi len=2 rd=10 rs1=0 rs2=0 rs3=0 rm=0 imm=0"
 * A line that is not valid hex prints "?bad input" (and the exit status becomes 1).
 * Build: cc -O1 -I native/include -I native/src native/src/decode.c native/src/disasm.c \
 *          native/tools/wbdis.c -o wbdis
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "decode.h"

static int parse_hex(const char *s, char **end, unsigned long long *v) {
  *v = strtoull(s, end, 16);
  return *end != s;
}

int main(int argc, char **argv) {
  int fields = 0, status = 0;
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "-f") == 0) {
      fields = 1;
    } else {
      fprintf(stderr, "usage: wbdis [-f] < hex-words\n");
      return 2;
    }
  }
  char line[256], text[128];
  while (fgets(line, sizeof line, stdin)) {
    char *p = line, *end;
    while (*p == ' ' || *p == '\t') p++;
    if (*p == '\n' || *p == '\r' || *p == '\0') {
      putchar('\n');
      continue;
    }
    unsigned long long word, pc = 0x10000;
    if (!parse_hex(p, &end, &word) || word > 0xffffffffull ||
        (*end && strchr(" \t\r\n", *end) == NULL)) {
      puts("?bad input");
      status = 1;
      continue;
    }
    p = end;
    while (*p == ' ' || *p == '\t') p++;
    if (*p && *p != '\n' && *p != '\r' && (!parse_hex(p, &end, &pc) ||
                                          (*end && strchr(" \t\r\n", *end) == NULL))) {
      puts("?bad input");
      status = 1;
      continue;
    }
    wb_insn x;
    wb_decode((uint32_t)word, &x);
    wb_disasm(&x, pc, text, sizeof text);
    if (fields)
      printf("%s | op=%s len=%u rd=%u rs1=%u rs2=%u rs3=%u rm=%u imm=%lld\n", text,
             wb_op_name(x.op), x.len, x.rd, x.rs1, x.rs2, x.rs3, x.rm, (long long)x.imm);
    else
      puts(text);
  }
  return status;
}
