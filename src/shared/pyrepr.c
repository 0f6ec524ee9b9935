/* pyrepr.c - Python's repr(bytes), byte for byte (Objects/bytesobject.c, PyBytes_Repr). */
#include "pyrepr.h"

#include <stdbool.h>

size_t pyrepr(char *out, const uint8_t *data, size_t n) {
        static const char hex[] = "0123456789abcdef";
        bool single = false, dbl = false;
        char quote;
        size_t o = 0;

        for (size_t i = 0; i < n; i++) {
                single |= data[i] == '\'';
                dbl |= data[i] == '"';
        }
        quote = single && !dbl ? '"' : '\'';

        out[o++] = 'b';
        out[o++] = quote;
        for (size_t i = 0; i < n; i++) {
                uint8_t c = data[i];

                if (c == quote || c == '\\') {
                        out[o++] = '\\';
                        out[o++] = (char) c;
                } else if (c == '\t') {
                        out[o++] = '\\';
                        out[o++] = 't';
                } else if (c == '\n') {
                        out[o++] = '\\';
                        out[o++] = 'n';
                } else if (c == '\r') {
                        out[o++] = '\\';
                        out[o++] = 'r';
                } else if (c < 0x20 || c >= 0x7f) {
                        out[o++] = '\\';
                        out[o++] = 'x';
                        out[o++] = hex[c >> 4];
                        out[o++] = hex[c & 0xf];
                } else
                        out[o++] = (char) c;
        }
        out[o++] = quote;
        out[o] = '\0';
        return o;
}
