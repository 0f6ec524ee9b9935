/* line.c - see line.h. */
#include "line.h"

void line_defuse(char *s) {
        for (unsigned char *p = (unsigned char *) s; *p; p++)
                if (*p < 0x20 || *p == 0x7f)
                        *p = '?';
}
