#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdarg.h>
#include <stddef.h>
typedef size_t (*member_fn)(void *self, void *buffer, size_t size);
static size_t call(const char *symbol, char *buffer, size_t size, size_t n, void *self) {
  member_fn fn = (member_fn)dlsym(RTLD_DEFAULT, symbol);
  return fn(self, buffer, size * n);
}
static size_t read_cb(char *b, size_t s, size_t n, void *self) { return call("_ZN7SyncEvo18CurlTransportAgent8readDataEPvm", b, s, n, self); }
static size_t write_cb(char *b, size_t s, size_t n, void *self) { return call("_ZN7SyncEvo18CurlTransportAgent9writeDataEPvm", b, s, n, self); }
int curl_easy_setopt(void *handle, int option, ...) {
  static int (*real)(void *, int, ...);
  if (!real) real = (int (*)(void *, int, ...))dlsym(RTLD_NEXT, "curl_easy_setopt");
  va_list ap;
  va_start(ap, option);
  void *arg = va_arg(ap, void *);
  va_end(ap);
  if (option == 20011) arg = (void *)write_cb;      /* CURLOPT_WRITEFUNCTION */
  else if (option == 20012) arg = (void *)read_cb;  /* CURLOPT_READFUNCTION */
  return real(handle, option, arg);
}
