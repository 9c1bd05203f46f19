// The mock-cluster header does not compile on its own: it needs rdkafka.h first.
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>
#include <sys/prctl.h>

// Names the calling thread as the system shows it (`top -H`, perf, /proc; at most 15
// characters). prctl is variadic, which Swift cannot call, and pthread_setname_np is hidden
// from this module without _GNU_SOURCE.
static inline void consent_name_current_thread(const char *name) {
    (void)prctl(PR_SET_NAME, name, 0, 0, 0);
}
