// SqliteStore: the Store in one SQLite database (WAL, synchronous=FULL) under a state
// directory. One process writes at a time — an exclusive lock on <dir>/LOCK, held for
// the store's life, refuses a second coordinator on the same directory — and every
// write goes through one writer thread that commits whatever is queued in one
// transaction (group commit), each write in its own savepoint so one bad write does
// not fail its neighbours. Read-only stores (for `mosdat runs` beside a live
// coordinator) take no lock and never write.
#ifndef MOSDAT_COORDINATOR_SQLITE_STORE_H_
#define MOSDAT_COORDINATOR_SQLITE_STORE_H_

#include <functional>
#include <memory>
#include <string>

#include "coordinator/store.h"

namespace mosdat {

struct SqliteStoreOptions {
  std::string dir;  // created (mode 0700) when missing, unless read_only
  bool read_only = false;
  // Called after each commit with its duration and how many writes it carried.
  std::function<void(absl::Duration, int)> on_commit;
};

// FailedPrecondition when another process holds the directory; Unavailable (naming the
// file) when the database cannot be opened or is not a mOSdat store.
absl::StatusOr<std::unique_ptr<Store>> OpenSqliteStore(const SqliteStoreOptions& options);

// The database file inside a state directory.
std::string SqliteStorePath(const std::string& dir);

}  // namespace mosdat

#endif  // MOSDAT_COORDINATOR_SQLITE_STORE_H_
