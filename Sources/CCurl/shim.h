// libcurl for Swift: curl.h, plus typed wrappers of its variadic functions (Swift cannot call a C
// variadic function), one per argument type the transport passes.
#ifndef FABRIQUE_CCURL_SHIM_H
#define FABRIQUE_CCURL_SHIM_H

#define CURL_DISABLE_TYPECHECK 1
#include <curl/curl.h>

static inline CURLcode ccurl_global_init(void) {
    return curl_global_init(CURL_GLOBAL_ALL);
}

static inline CURLcode ccurl_easy_setopt_long(CURL *handle, CURLoption option, long value) {
    return curl_easy_setopt(handle, option, value);
}

static inline CURLcode ccurl_easy_setopt_off_t(CURL *handle, CURLoption option, curl_off_t value) {
    return curl_easy_setopt(handle, option, value);
}

static inline CURLcode ccurl_easy_setopt_string(CURL *handle, CURLoption option, const char *value) {
    return curl_easy_setopt(handle, option, value);
}

// Strings are copied by libcurl; other pointers (POSTFIELDS, user data) must outlive the transfer.
static inline CURLcode ccurl_easy_setopt_pointer(CURL *handle, CURLoption option, const void *value) {
    return curl_easy_setopt(handle, option, value);
}

static inline CURLcode ccurl_easy_setopt_write_function(CURL *handle, CURLoption option, curl_write_callback value) {
    return curl_easy_setopt(handle, option, value);
}

static inline CURLcode ccurl_easy_setopt_debug_function(CURL *handle, curl_debug_callback value) {
    return curl_easy_setopt(handle, CURLOPT_DEBUGFUNCTION, value);
}

static inline CURLcode ccurl_easy_getinfo_long(CURL *handle, CURLINFO info, long *value) {
    return curl_easy_getinfo(handle, info, value);
}

static inline CURLMcode ccurl_multi_setopt_long(CURLM *multi, CURLMoption option, long value) {
    return curl_multi_setopt(multi, option, value);
}

// The transport thread's name, as profilers and `top -H` show it (glibc declares this only under _GNU_SOURCE).
#if defined(__linux__)
#include <pthread.h>
extern int pthread_setname_np(pthread_t thread, const char *name);
static inline void ccurl_name_current_thread(const char *name) { pthread_setname_np(pthread_self(), name); }
#else
static inline void ccurl_name_current_thread(const char *name) { (void)name; }
#endif

#endif
