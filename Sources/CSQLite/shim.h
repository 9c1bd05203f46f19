// Debian's libsqlite3-dev: the one SQLite library the stores use (see SQLiteHandle.swift).
#include <sqlite3.h>
