/* address.c - see address.h. */
#include "address.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/un.h>
#include <unistd.h>

#include "number.h"

bool service_name_valid(const char *s) {
        if (!*s)
                return false;
        for (; *s; s++)
                if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
                      *s == '-' || *s == '_' || *s == '.'))
                        return false;
        return true;
}

int port_parse(const char *s, const char *proto, char out[6], const char **why) {
        unsigned long long v;
        struct servent *se;
        int r;

        if (!*s) {
                *why = "empty port";
                return -EINVAL;
        }
        r = parse_unsigned(s, 1, 65535, &v);
        if (r == -ERANGE || (r < 0 && strchr("0123456789+-", s[0]))) {
                *why = "port must be a number from 1 to 65535 or a service name";
                return -EINVAL;
        }
        if (r == 0) {
                snprintf(out, 6, "%llu", v);
                return 0;
        }
        if (!service_name_valid(s)) {
                *why = "port must be a number from 1 to 65535 or a service name";
                return -EINVAL;
        }
        se = getservbyname(s, proto);
        if (!se) {
                *why = "unknown service name (see /etc/services)";
                return -ENOENT;
        }
        snprintf(out, 6, "%u", (unsigned) ntohs((uint16_t) se->s_port));
        return 0;
}

static int host_copy(struct address *a, const char *s, size_t n, const char **why) {
        if (n >= sizeof a->host) {
                *why = "host name too long";
                return -EINVAL;
        }
        memcpy(a->host, s, n);
        a->host[n] = '\0';
        if (strcmp(a->host, "*") == 0)
                a->host[0] = '\0';
        return 0;
}

/* An IPv6 literal, optionally with a zone ("fe80::1%lo"), that echod can listen on. */
static int ipv6_literal_check(const char *host, const char **why, const char *malformed) {
        char addr[INET6_ADDRSTRLEN + 1];
        const char *pct = strchr(host, '%');
        size_t n = pct ? (size_t) (pct - host) : strlen(host);
        struct in6_addr in6;

        if (n >= sizeof addr)
                goto bad;
        memcpy(addr, host, n);
        addr[n] = '\0';
        if (inet_pton(AF_INET6, addr, &in6) != 1)
                goto bad;
        if (pct && (!pct[1] || !service_name_valid(pct + 1))) {
                *why = "expected an interface name or number after '%', as in [fe80::1%eth0]";
                return -EINVAL;
        }
        /* With IPV6_V6ONLY a mapped address can never be bound; the IPv4 form can. */
        if (IN6_IS_ADDR_V4MAPPED(&in6)) {
                *why = "an IPv4-mapped IPv6 address cannot be listened on: give the IPv4 address";
                return -EINVAL;
        }
        return 0;
bad:
        *why = malformed;
        return -EINVAL;
}

/* Digits, dots and hex letters starting with a digit: meant as an IPv4 address, which must then
 * be dotted decimal; inet_aton's legacy forms (127.1, 0x7f.1, 2130706433) are refused, since
 * they mean something else to most readers. */
static int ipv4_literal_check(struct address *a, const char **why) {
        struct in_addr in4;

        if (!(a->host[0] >= '0' && a->host[0] <= '9') || strspn(a->host, "0123456789abcdefABCDEFxX.") != strlen(a->host))
                return 0;
        /* "0", as nc and Python's http.server take it: every IPv4 address. */
        if (strcmp(a->host, "0") == 0)
                strcpy(a->host, "0.0.0.0");
        if (inet_pton(AF_INET, a->host, &in4) != 1) {
                *why = "not an IPv4 address: four decimal numbers, as in 127.0.0.1 "
                       "(legacy forms such as 127.1 or 0x7f.0.0.1 are refused)";
                return -EINVAL;
        }
        a->numeric = true;
        return 0;
}

int address_parse(const char *s, const char *default_port, struct address *a, const char **why) {
        const char *port = default_port, *colon;
        int r;

        *a = (struct address) { 0 };
        if (!*s) {
                *why = "empty address";
                return -EINVAL;
        }
        if (s[0] == '[') {
                const char *close = strchr(s, ']');
                if (!close) {
                        *why = "'[' without a closing ']'";
                        return -EINVAL;
                }
                if (close == s + 1) {
                        *why = "empty IPv6 address between '[' and ']'";
                        return -EINVAL;
                }
                if (close[1] == ':')
                        port = close + 2;
                else if (close[1] != '\0') {
                        *why = "expected ':PORT' after ']'";
                        return -EINVAL;
                }
                r = host_copy(a, s + 1, (size_t) (close - s - 1), why);
                if (r < 0)
                        return r;
                r = ipv6_literal_check(a->host, why, "not an IPv6 address between '[' and ']'");
                if (r < 0)
                        return r;
                a->bracketed = a->numeric = true;
        } else if ((colon = strchr(s, ':')) && strchr(colon + 1, ':')) {
                /* Two colons and no brackets: only a whole IPv6 literal, with the default port. */
                r = host_copy(a, s, strlen(s), why);
                if (r < 0)
                        return r;
                r = ipv6_literal_check(a->host, why, "an IPv6 address with a port needs brackets, as in [::1]:10000");
                if (r < 0)
                        return r;
                a->bracketed = a->numeric = true;
        } else if (colon) {
                r = host_copy(a, s, (size_t) (colon - s), why);
                if (r < 0)
                        return r;
                port = colon + 1;
        } else {
                r = host_copy(a, s, strlen(s), why);
                if (r < 0)
                        return r;
        }
        if (strchr(a->host, '[') || strchr(a->host, ']')) {
                *why = "stray '[' or ']'";
                return -EINVAL;
        }
        if (!a->bracketed) {
                r = ipv4_literal_check(a, why);
                if (r < 0)
                        return r;
        }
        return port_parse(port, "tcp", a->port, why);
}

static bool addrinfo_same(const struct addrinfo *x, const struct addrinfo *y) {
        return x->ai_family == y->ai_family && x->ai_addrlen == y->ai_addrlen &&
               memcmp(x->ai_addr, y->ai_addr, x->ai_addrlen) == 0;
}

bool host_is_localhost(const char *host) {
        size_t n = strlen(host);

        if (n > 0 && host[n - 1] == '.')
                n--;
        return (n == 9 && strncasecmp(host, "localhost", 9) == 0) ||
               (n > 10 && strncasecmp(host + n - 10, ".localhost", 10) == 0);
}

/* RFC 6761, 6.3: "localhost" and the names under it are the loopback addresses, whatever
 * /etc/hosts says (systemd's resolver answers the same way). Debian's /etc/hosts names both,
 * but a container's often lacks "::1 localhost"; echod then still listens on both. ::1 comes
 * first, where getaddrinfo's RFC 6724 sort puts it when /etc/hosts has both. */
static int localhost_resolve(const struct addrinfo *hints, const char *port, struct addrinfo **ret) {
        struct addrinfo numeric = *hints, *v6, *v4;
        int r;

        numeric.ai_flags |= AI_NUMERICHOST;
        r = getaddrinfo("::1", port, &numeric, &v6);
        if (r != 0)
                return r;
        r = getaddrinfo("127.0.0.1", port, &numeric, &v4);
        if (r != 0) {
                freeaddrinfo(v6);
                return r;
        }
        for (struct addrinfo **tail = &v6;; tail = &(*tail)->ai_next)
                if (!*tail) {
                        *tail = v4;
                        break;
                }
        *ret = v6;
        return 0;
}

int address_resolve(const struct address *a, int socktype, struct addrinfo **ret) {
        struct addrinfo hints = {
                .ai_family = a->bracketed ? AF_INET6 : AF_UNSPEC,
                .ai_socktype = socktype,
                .ai_flags = AI_PASSIVE | AI_NUMERICSERV | (a->numeric ? AI_NUMERICHOST : 0),
        };
        struct addrinfo *list;
        int r;

        if (!a->bracketed && host_is_localhost(a->host))
                r = localhost_resolve(&hints, a->port, &list);
        else
                r = getaddrinfo(a->host[0] ? a->host : NULL, a->port, &hints, &list);
        if (r != 0)
                return r;
        /* /etc/hosts may name one address twice; binding it twice would fail. */
        for (struct addrinfo *i = list; i; i = i->ai_next)
                for (struct addrinfo **j = &i->ai_next; *j;) {
                        if (addrinfo_same(i, *j)) {
                                struct addrinfo *dup = *j;
                                *j = dup->ai_next;
                                dup->ai_next = NULL;
                                freeaddrinfo(dup);
                        } else
                                j = &(*j)->ai_next;
                }
        *ret = list;
        return 0;
}

int socket_listen(const struct addrinfo *ai) {
        int fd, one = 1, r;

        fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, ai->ai_protocol);
        if (fd < 0)
                return -errno;
        if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0)
                goto fail;
        if (ai->ai_family == AF_INET6 &&
            setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one) < 0)
                goto fail;
        if (bind(fd, ai->ai_addr, ai->ai_addrlen) < 0)
                goto fail;
        if (ai->ai_socktype == SOCK_STREAM && listen(fd, SOMAXCONN) < 0)
                goto fail;
        return fd;
fail:
        r = -errno;
        close(fd);
        return r;
}

void sockaddr_numeric(const struct sockaddr *sa, socklen_t len, char *host, char *port) {
        if (getnameinfo(sa, len, host, NI_MAXHOST, port, NI_MAXSERV,
                        NI_NUMERICHOST | NI_NUMERICSERV) != 0) {
                strcpy(host, "?");
                strcpy(port, "?");
        }
}

void sockaddr_pytuple(const struct sockaddr *sa, socklen_t len, char *out, size_t size) {
        char host[NI_MAXHOST], port[NI_MAXSERV];

        if (sa->sa_family == AF_UNIX) {
                /* Python shows a path as a string, an unnamed peer as ''. An abstract name is
                 * shown in full, NULs and all, with the backslash and every byte that is not
                 * printable ASCII escaped, so that two names never look alike. */
                const struct sockaddr_un *su = (const struct sockaddr_un *) sa;
                size_t n = len > offsetof(struct sockaddr_un, sun_path)
                                   ? len - offsetof(struct sockaddr_un, sun_path) : 0;
                bool abstract = n > 0 && su->sun_path[0] == '\0';
                size_t o = 0, i = abstract ? 1 : 0;

                if (n > sizeof su->sun_path)
                        n = sizeof su->sun_path;
                if (!abstract)
                        n = strnlen(su->sun_path, n);
                if (size < 4) {
                        if (size > 0)
                                out[0] = '\0';
                        return;
                }
                out[o++] = '\'';
                if (abstract)
                        out[o++] = '@';
                for (; i < n; i++) {
                        unsigned char ch = (unsigned char) su->sun_path[i];
                        int w;

                        if (!abstract)
                                w = snprintf(out + o, size - o, "%c", ch);
                        else if (ch == '\\')
                                w = snprintf(out + o, size - o, "\\\\");
                        else if (ch < 0x20 || ch >= 0x7f)
                                w = snprintf(out + o, size - o, "\\x%02x", ch);
                        else
                                w = snprintf(out + o, size - o, "%c", ch);
                        if (w < 0 || o + (size_t) w + 2 > size)
                                break;
                        o += (size_t) w;
                }
                out[o++] = '\'';
                out[o] = '\0';
                return;
        }
        sockaddr_numeric(sa, len, host, port);
        if (sa->sa_family == AF_INET6) {
                const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *) sa;
                snprintf(out, size, "('%s', %s, %u, %u)", host, port,
                         (unsigned) ntohl(s6->sin6_flowinfo), (unsigned) s6->sin6_scope_id);
        } else
                snprintf(out, size, "('%s', %s)", host, port);
}
