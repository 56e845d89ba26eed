// ember_http_post: libcurl's easy interface, its functions looked up in libcurl.so.4 on first use.
#include "CHTTP.h"

#include <curl/curl.h>
#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

static struct {
    CURLcode (*global_init)(long);
    CURL *(*easy_init)(void);
    CURLcode (*easy_setopt)(CURL *, CURLoption, ...);
    CURLcode (*easy_perform)(CURL *);
    CURLcode (*easy_getinfo)(CURL *, CURLINFO, ...);
    void (*easy_cleanup)(CURL *);
    const char *(*easy_strerror)(CURLcode);
    struct curl_slist *(*slist_append)(struct curl_slist *, const char *);
    void (*slist_free_all)(struct curl_slist *);
} curl;
static char open_error[256];
static pthread_once_t opened = PTHREAD_ONCE_INIT;

static void open_curl(void) {
    void *library = dlopen("libcurl.so.4", RTLD_NOW | RTLD_LOCAL);
    if (!library) {
        snprintf(open_error, sizeof(open_error), "libcurl could not be opened (%s); install libcurl4", dlerror());
        return;
    }
#define FIND(field, name)                                                                                              \
    if (!(*(void **)&curl.field = dlsym(library, name))) {                                                             \
        snprintf(open_error, sizeof(open_error), "libcurl.so.4 has no %s", name);                                      \
        return;                                                                                                        \
    }
    FIND(global_init, "curl_global_init")
    FIND(easy_init, "curl_easy_init")
    FIND(easy_setopt, "curl_easy_setopt")
    FIND(easy_perform, "curl_easy_perform")
    FIND(easy_getinfo, "curl_easy_getinfo")
    FIND(easy_cleanup, "curl_easy_cleanup")
    FIND(easy_strerror, "curl_easy_strerror")
    FIND(slist_append, "curl_slist_append")
    FIND(slist_free_all, "curl_slist_free_all")
#undef FIND
    if (curl.global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        snprintf(open_error, sizeof(open_error), "libcurl could not be initialized");
        return;
    }
    open_error[0] = 0;
}

struct sink {
    char *bytes;
    size_t capacity;
    size_t length;
};

/* Keeps what fits of the response's body, and takes the rest without keeping it. */
static size_t keep(char *data, size_t size, size_t count, void *context) {
    struct sink *sink = context;
    size_t n = size * count, room = sink->capacity - sink->length;
    size_t kept = n < room ? n : room;
    memcpy(sink->bytes + sink->length, data, kept);
    sink->length += kept;
    return n;
}

int ember_http_post(const char *url, const char *const *headers, int header_count, const void *body, size_t length,
                    long timeout_seconds, char *response, size_t response_capacity, size_t *response_length,
                    char *error, size_t error_capacity) {
    *response_length = 0;
    if (error_capacity > 0) error[0] = 0;
    pthread_once(&opened, open_curl);
    if (!curl.slist_free_all || open_error[0]) {
        snprintf(error, error_capacity, "%s", open_error[0] ? open_error : "libcurl could not be opened");
        return -1;
    }
    CURL *handle = curl.easy_init();
    if (!handle) {
        snprintf(error, error_capacity, "libcurl could not make a request");
        return -1;
    }
    /* No "Expect: 100-continue" (a second's wait for servers that do not answer it). */
    struct curl_slist *list = curl.slist_append(NULL, "Expect:");
    for (int i = 0; list && i < header_count; i++) {
        struct curl_slist *longer = curl.slist_append(list, headers[i]);
        if (!longer) {
            curl.slist_free_all(list);
            list = NULL;
        }
        list = longer;
    }
    if (!list) {
        curl.easy_cleanup(handle);
        snprintf(error, error_capacity, "out of memory for the request's headers");
        return -1;
    }
    char reason[CURL_ERROR_SIZE] = {0};
    struct sink sink = {response, response_capacity, 0};
    curl.easy_setopt(handle, CURLOPT_URL, url);
    curl.easy_setopt(handle, CURLOPT_HTTPHEADER, list);
    curl.easy_setopt(handle, CURLOPT_POSTFIELDS, body);
    curl.easy_setopt(handle, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)length);
    /* As URLSession's request timeout: no connection, or no progress, for that long (a large body on a slow link
     * may take longer in all). Redirects followed, as URLSession follows them. */
    curl.easy_setopt(handle, CURLOPT_CONNECTTIMEOUT, timeout_seconds);
    curl.easy_setopt(handle, CURLOPT_LOW_SPEED_LIMIT, 1L);
    curl.easy_setopt(handle, CURLOPT_LOW_SPEED_TIME, timeout_seconds);
    curl.easy_setopt(handle, CURLOPT_FOLLOWLOCATION, 1L);
    curl.easy_setopt(handle, CURLOPT_NOSIGNAL, 1L);
    curl.easy_setopt(handle, CURLOPT_ERRORBUFFER, reason);
    curl.easy_setopt(handle, CURLOPT_WRITEFUNCTION, keep);
    curl.easy_setopt(handle, CURLOPT_WRITEDATA, &sink);
    CURLcode code = curl.easy_perform(handle);
    long status = 0;
    if (code == CURLE_OK) {
        curl.easy_getinfo(handle, CURLINFO_RESPONSE_CODE, &status);
    } else {
        snprintf(error, error_capacity, "%s", reason[0] ? reason : curl.easy_strerror(code));
    }
    curl.easy_cleanup(handle);
    curl.slist_free_all(list);
    *response_length = sink.length;
    return code == CURLE_OK ? (int)status : -1;
}
