/*
 * setjmp: setjmp/longjmp across nested calls, with live locals, a
 * recursion unwound by longjmp, a chain of handlers used like exceptions,
 * and floating-point callee-saved registers (fs0-fs11) that must survive.
 */
#include <setjmp.h>
#include <stdio.h>
#include <string.h>

static jmp_buf top;
static int depth_reached;

static void deep(int n, int limit)
{
    volatile unsigned char pad[64]; /* give each frame some stack */
    memset((char *)pad, n & 0xff, sizeof pad);
    depth_reached = n;
    if (n == limit)
        longjmp(top, n + pad[7]); /* value computed from a local of the deepest frame */
    deep(n + 1, limit);
    pad[0]++; /* not reached */
}

/* Exception-like handler chain. */
struct handler {
    jmp_buf env;
    struct handler *prev;
};
static struct handler *current;

static void throw_(int code)
{
    struct handler *h = current;
    current = h->prev;
    longjmp(h->env, code);
}

static int risky(int x)
{
    if (x % 7 == 3)
        throw_(100 + x);
    return x * 2;
}

static int guarded_sum(int from, int to, int *caught)
{
    volatile int sum = 0;
    for (volatile int i = from; i < to; i++) {
        struct handler h;
        h.prev = current;
        current = &h;
        int code = setjmp(h.env);
        if (code == 0) {
            sum += risky(i);
            current = h.prev;
        } else {
            (*caught)++;
            sum -= code;
        }
    }
    return sum;
}

/* Recursive descent that bails out from the middle with a nested handler. */
static int fib_bail(int n, jmp_buf *bail, int *calls)
{
    (*calls)++;
    if (*calls > 5000)
        longjmp(*bail, *calls);
    if (n < 2)
        return n;
    return fib_bail(n - 1, bail, calls) + fib_bail(n - 2, bail, calls);
}

static double fp_work(double a, double b, int n)
{
    double acc = a;
    for (int i = 0; i < n; i++)
        acc = acc * b + 1.0 / (i + 1);
    return acc;
}

int main(void)
{
    /* 1: unwinding a deep recursion */
    for (int limit = 1; limit <= 1000; limit *= 10) {
        volatile int local = 1234;
        int v = setjmp(top);
        if (v == 0) {
            local = 5678;
            deep(0, limit);
            printf("not reached\n");
        } else {
            printf("deep limit=%d: longjmp value=%d depth=%d local=%d\n", limit, v, depth_reached, local);
        }
    }

    /* 2: longjmp(env, 0) must make setjmp return 1 */
    {
        static jmp_buf env;
        volatile int count = 0;
        int r = setjmp(env);
        count++;
        if (count == 1)
            longjmp(env, 0);
        printf("longjmp(0): setjmp returned %d after %d passes\n", r, count);
    }

    /* 3: exception-style handler chain */
    {
        int caught = 0;
        current = NULL;
        int sum = guarded_sum(0, 50, &caught);
        printf("guarded sum=%d caught=%d handlers-left=%s\n", sum, caught, current ? "yes" : "none");
    }

    /* 4: nested setjmp: inner handler catches first, outer afterwards */
    {
        jmp_buf outer, inner;
        volatile int stage = 0;
        if (setjmp(outer) == 0) {
            stage = 1;
            if (setjmp(inner) == 0) {
                stage = 2;
                longjmp(inner, 2);
            }
            stage = 3;
            longjmp(outer, 3);
        }
        printf("nested: final stage=%d\n", stage);
    }

    /* 5: bail out of a recursion after a number of calls */
    {
        jmp_buf bail;
        int calls = 0;
        volatile int result = -1;
        int v = setjmp(bail);
        if (v == 0)
            result = fib_bail(30, &bail, &calls);
        printf("fib bail: setjmp value=%d result=%d\n", v, result);
        calls = 0;
        v = setjmp(bail);
        if (v == 0)
            result = fib_bail(15, &bail, &calls);
        printf("fib complete: v=%d result=%d calls=%d\n", v, result, calls);
    }

    /* 6: floating point state around setjmp (callee-saved FP registers) */
    {
        jmp_buf env;
        double a = fp_work(1.5, 0.5, 10);
        double b = fp_work(2.5, 0.25, 20);
        volatile double keep = a + b;
        if (setjmp(env) == 0) {
            double c = fp_work(keep, 0.75, 30);
            (void)c;
            longjmp(env, 1);
        }
        printf("fp after longjmp: a=%.17g b=%.17g keep=%.17g\n", a, b, keep);
    }

    printf("setjmp done\n");
    return 0;
}
