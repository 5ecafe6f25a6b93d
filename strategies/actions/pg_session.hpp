// One PostgreSQL connection through libpq with deadlines on everything:
// connecting and each query poll libpq's socket, so a stopped or partitioned
// server costs at most the caller's deadline. Used by the postgres probe and
// the postgres actions; plain blocking code for their threads.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace switchyard::pg {

using clock = std::chrono::steady_clock;

/// A query's rows, every value as text (NULL: nullopt).
struct result {
  std::vector<std::string> columns;
  std::vector<std::vector<std::optional<std::string>>> rows;
  /// The value at (row, column name); nullopt when absent or NULL.
  std::optional<std::string> value(std::size_t row, const std::string& column) const;
};

/// libpq keyword/value connection settings (`options`: extra keywords such as
/// "user=switchyard dbname=postgres passfile=/etc/switchyard/pgpass") for
/// host:port, values quoted as libpq wants.
std::string conninfo(const std::string& host, std::uint16_t port, const std::string& options);

/// An LSN in PostgreSQL's text form ("16/B374D848") as a byte position.
std::optional<std::int64_t> parse_lsn(const std::string& text);
/// The text form of a byte position.
std::string format_lsn(std::int64_t lsn);

/// The last WAL position a primary was seen writing (by the postgres probe),
/// by its "host:port", so that an RPO check can still tell how much a
/// promotion would lose once that primary is gone. Process-wide: a fact
/// about a server, shared by whoever watches it.
struct known_position {
  std::int64_t lsn = 0;
  clock::time_point at{};
};
void note_primary_position(const std::string& address, std::int64_t lsn);
std::optional<known_position> last_primary_position(const std::string& address);

class session {
public:
  /// Connects to host:port with `options`; nullptr with `error` set (the
  /// server's or libpq's message, or "timed out after N ms connecting to ...").
  static std::unique_ptr<session> connect(const std::string& host, std::uint16_t port,
                                          const std::string& options, clock::time_point deadline,
                                          std::string& error);
  /// Connects with a whole libpq connection string (`conninfo`), e.g. several
  /// hosts with target_session_attrs=read-write; errors as above, naming
  /// `conninfo`'s hosts as libpq does.
  static std::unique_ptr<session> connect(const std::string& conninfo, clock::time_point deadline,
                                          std::string& error);
  ~session();
  session(const session&) = delete;
  session& operator=(const session&) = delete;

  /// Runs `sql` (one statement, or several: the last one's rows are
  /// returned); nullopt with `error` set: the server's message
  /// ("ERROR:  ..."), a lost connection, or the deadline passed (the
  /// connection is then unusable; the server finishes or aborts the statement
  /// on its own, no cancel request is sent: that could block on a dead host).
  std::optional<result> query(const std::string& sql, clock::time_point deadline,
                              std::string& error);
  /// Like query(), for a statement with parameters ($1, $2, ...) sent apart
  /// from its text (no quoting by hand).
  std::optional<result> query(const std::string& sql, const std::vector<std::string>& params,
                              clock::time_point deadline, std::string& error);

  /// False once the connection broke (then every query fails at once).
  bool usable() const;
  /// The server's version number (e.g. 150018).
  int server_version() const;
  /// The connection's socket (for watching it between queries), or -1.
  int socket() const;

private:
  struct impl;
  explicit session(std::unique_ptr<impl> p);
  std::unique_ptr<impl> impl_;
};

} // namespace switchyard::pg
