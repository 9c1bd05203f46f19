// Debian's libsqlite3-dev: the one SQLite library the stores use (see SQLiteHandle.swift).
#include <sqlite3.h>

// sqlite3_config is variadic, which Swift cannot call. Memory statistics cost a global mutex
// on every allocation SQLite makes; the stores never read them. Must run before SQLite
// initializes (the first open); later calls return SQLITE_MISUSE and change nothing.
static inline int consent_sqlite3_disable_memory_statistics(void) {
    return sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
}

#include <sys/prctl.h>

// Names the calling thread as the system shows it (`top -H`, perf, /proc; at most 15
// characters): the store's thread. prctl is variadic, which Swift cannot call. (CRdKafka's
// shim has the same for the Kafka client's threads: the two modules share no C target.)
static inline void consent_sqlite_name_current_thread(const char *name) {
    (void)prctl(PR_SET_NAME, name, 0, 0, 0);
}
