// CHTTP: HTTP POSTs for `ember agent --push`, through libcurl opened only when the first push is made (dlopen), so
// that no other command loads libcurl and the ~30 libraries it needs (TLS, Kerberos, LDAP...): loading and
// relocating those took more than half of `ember --version`'s time.
#ifndef CHTTP_H
#define CHTTP_H

#include <stddef.h>

/// POSTs `length` bytes of `body` to `url` with `header_count` headers ("Name: value"), giving up after
/// `timeout_seconds` without a connection or without progress. Returns the HTTP status and puts up to `response_capacity` bytes of the response's body in
/// `response` (`*response_length` of them); returns -1 when no answer came, with the reason in `error` (at most
/// `error_capacity` bytes, NUL-terminated), as when libcurl (libcurl.so.4) cannot be opened.
int ember_http_post(const char *url, const char *const *headers, int header_count, const void *body, size_t length,
                    long timeout_seconds, char *response, size_t response_capacity, size_t *response_length,
                    char *error, size_t error_capacity);

#endif
