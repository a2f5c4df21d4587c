/*
 * scripts/tsan-include/threads.h — on the include path of the ThreadSanitizer build only
 * (scripts/tsan). librdkafka's ./configure uses glibc's C11 threads when <threads.h> compiles;
 * glibc's thrd_create starts the thread through its internal pthread_create, which TSan's
 * runtime does not intercept, so the sanitizer never learns of librdkafka's threads and the
 * first instrumented function on one of them crashes in __tsan_func_entry. With this header the
 * check fails and librdkafka uses its bundled tinycthread, which calls pthread_create directly
 * (intercepted). Nothing but that configure check includes <threads.h> in the TSan build.
 */
#error "C11 <threads.h> is hidden from the ThreadSanitizer build (see scripts/tsan)"
