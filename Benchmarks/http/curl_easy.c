/* CPU per request of libcurl's easy interface (the library under URLSession on Linux), one reused
   handle driven from one thread: what an HTTP client without URLSession's thread hand-offs would pay. */
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>

static size_t sink(char *data, size_t size, size_t count, void *user) { (void)data; (void)user; return size * count; }

static double cpu_seconds(void) {
    struct rusage usage;
    getrusage(RUSAGE_SELF, &usage);
    return usage.ru_utime.tv_sec + usage.ru_stime.tv_sec + (usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6;
}

int main(int argc, char **argv) {
    if (argc < 2) { fprintf(stderr, "usage: curl_easy PORT [COUNT]\n"); return 2; }
    int count = argc > 2 ? atoi(argv[2]) : 3000;
    char url[128];
    snprintf(url, sizeof url, "http://127.0.0.1:%s/_matrix/client/versions", argv[1]);
    curl_global_init(CURL_GLOBAL_DEFAULT);
    CURL *curl = curl_easy_init();
    struct curl_slist *headers = curl_slist_append(NULL, "Accept: application/json");
    headers = curl_slist_append(headers, "Authorization: Bearer benchmark-token");
    curl_easy_setopt(curl, CURLOPT_URL, url);
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, sink);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT, 30L);
    if (curl_easy_perform(curl) != CURLE_OK) { fprintf(stderr, "curl_easy: first request failed\n"); return 1; }
    double start = cpu_seconds();
    for (int i = 0; i < count; i++) {
        if (curl_easy_perform(curl) != CURLE_OK) { fprintf(stderr, "curl_easy: request %d failed\n", i); return 1; }
    }
    printf("libcurl easy: %.0f µs of CPU per request\n", (cpu_seconds() - start) / count * 1e6);
    curl_slist_free_all(headers);
    curl_easy_cleanup(curl);
    return 0;
}
