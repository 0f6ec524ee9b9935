/* fuzz-pyrepr - pyrepr() against a table-driven model of Python's repr(bytes), written from
 * the language reference rather than from pyrepr.c, for any bytes. */
#include <assert.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pyrepr.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char table[2][256][5];   /* [quote is '"'][byte] -> its spelling */

static void table_fill(void) {
        for (int q = 0; q < 2; q++)
                for (int c = 0; c < 256; c++) {
                        char *t = table[q][c];
                        if (c == '\\')
                                strcpy(t, "\\\\");
                        else if (c == (q ? '"' : '\''))
                                sprintf(t, "\\%c", c);
                        else if (c == '\t' || c == '\n' || c == '\r')
                                sprintf(t, "\\%c", c == '\t' ? 't' : c == '\n' ? 'n' : 'r');
                        else if (c >= 0x20 && c < 0x7f)
                                sprintf(t, "%c", c);
                        else
                                sprintf(t, "\\x%02x", c);
                }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        static int ready;
        char *got = malloc(PYREPR_SIZE(size)), *want = malloc(PYREPR_SIZE(size)), *w = want;
        int dq;
        size_t n;

        if (!ready) {
                table_fill();
                ready = 1;
        }
        /* Python picks " only when there is a ' and no ". */
        dq = memchr(data, '\'', size) && !memchr(data, '"', size);
        *w++ = 'b';
        *w++ = dq ? '"' : '\'';
        for (size_t i = 0; i < size; i++)
                w = stpcpy(w, table[dq][data[i]]);
        *w++ = dq ? '"' : '\'';
        *w = '\0';

        n = pyrepr(got, data, size);
        assert(n == strlen(got));
        assert(n < PYREPR_SIZE(size));
        assert(strcmp(got, want) == 0);
        free(got);
        free(want);
        return 0;
}
