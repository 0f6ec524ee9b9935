/* pyrepr-dump - prints pyrepr() of each NUL-free hex argument, one per line, so that
 * test-pyrepr.py can compare it with Python's own repr(). Arguments are hex ("00ff27"). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pyrepr.h"

static int hexval(char c) {
        return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

int main(int argc, char **argv) {
        for (int i = 1; i < argc; i++) {
                size_t n = strlen(argv[i]) / 2;
                uint8_t *data = malloc(n + 1);
                char *out = malloc(PYREPR_SIZE(n));

                if (!data || !out)
                        return 2;
                for (size_t j = 0; j < n; j++) {
                        int hi = hexval(argv[i][2 * j]), lo = hexval(argv[i][2 * j + 1]);
                        if (hi < 0 || lo < 0) {
                                fprintf(stderr, "not hex: %s\n", argv[i]);
                                return 2;
                        }
                        data[j] = (uint8_t) (hi << 4 | lo);
                }
                pyrepr(out, data, n);
                puts(out);
                free(data);
                free(out);
        }
        return 0;
}
