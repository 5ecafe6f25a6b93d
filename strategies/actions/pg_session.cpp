#include "strategies/actions/pg_session.hpp"

#include <poll.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <map>
#include <mutex>

#include <fmt/format.h>
#include <libpq-fe.h>

namespace switchyard::pg {

namespace {

// libpq's and the server's messages on one line (they end in a newline and
// may hold several: "...failed: Connection refused\n\tIs the server
// running...", "ERROR: ...\nDETAIL: ..."): they go into one-line details.
std::string trimmed(const char* text) {
  std::string s;
  for (const char* c = text != nullptr ? text : ""; *c != '\0'; ++c) {
    bool space = *c == '\n' || *c == '\t' || *c == ' ';
    if (!space)
      s += *c;
    else if (!s.empty() && s.back() != ' ')
      s += ' ';
  }
  while (!s.empty() && s.back() == ' ')
    s.pop_back();
  return s;
}

// Notices and warnings (e.g. from pg_terminate_backend) are not errors: the
// default processor would print them on stderr.
void ignore_notice(void*, const char*) {}

long long ms_left(clock::time_point deadline) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(deadline - clock::now()).count();
}

// Waits until `fd` is ready for `events` or the deadline passes: 1 ready,
// 0 timed out, -1 error (errno).
int wait_fd(int fd, short events, clock::time_point deadline) {
  for (;;) {
    auto left = ms_left(deadline);
    if (left <= 0)
      return 0;
    pollfd p{fd, events, 0};
    int n = ::poll(&p, 1, static_cast<int>(std::min<long long>(left, 60'000)));
    if (n > 0)
      return 1;
    if (n < 0 && errno != EINTR)
      return -1;
  }
}

std::string quoted(const std::string& value) {
  std::string out = "'";
  for (char c : value) {
    if (c == '\'' || c == '\\')
      out += '\\';
    out += c;
  }
  return out + "'";
}

} // namespace

std::optional<std::string> result::value(std::size_t row, const std::string& column) const {
  if (row >= rows.size())
    return std::nullopt;
  for (std::size_t i = 0; i < columns.size() && i < rows[row].size(); ++i)
    if (columns[i] == column)
      return rows[row][i];
  return std::nullopt;
}

std::string conninfo(const std::string& host, std::uint16_t port, const std::string& options) {
  auto out = fmt::format("host={} port={}", quoted(host), port);
  if (!options.empty())
    out += " " + options;
  return out;
}

namespace {
std::mutex positions_mutex;
std::map<std::string, known_position> positions; // by "host:port"
} // namespace

void note_primary_position(const std::string& address, std::int64_t lsn) {
  std::lock_guard<std::mutex> guard{positions_mutex};
  positions[address] = known_position{lsn, clock::now()};
}

std::optional<known_position> last_primary_position(const std::string& address) {
  std::lock_guard<std::mutex> guard{positions_mutex};
  auto i = positions.find(address);
  if (i == positions.end())
    return std::nullopt;
  return i->second;
}

std::optional<std::int64_t> parse_lsn(const std::string& text) {
  unsigned int hi = 0;
  unsigned int lo = 0;
  char tail = 0;
  if (std::sscanf(text.c_str(), "%X/%X%c", &hi, &lo, &tail) != 2)
    return std::nullopt;
  return static_cast<std::int64_t>((static_cast<std::uint64_t>(hi) << 32U) | lo);
}

std::string format_lsn(std::int64_t lsn) {
  auto u = static_cast<std::uint64_t>(lsn);
  return fmt::format("{:X}/{:X}", u >> 32U, u & 0xffffffffU);
}

struct session::impl {
  PGconn* conn = nullptr;
  bool broken = false;
  ~impl() {
    if (conn != nullptr)
      PQfinish(conn);
  }

  // Sends what libpq buffered and collects the last result; nullopt with `error` set.
  std::optional<result> collect(clock::time_point deadline, std::string& error) {
    for (;;) {
      int f = PQflush(conn);
      if (f == 0)
        break;
      if (f < 0 || wait_fd(PQsocket(conn), POLLOUT | POLLIN, deadline) <= 0 ||
          PQconsumeInput(conn) == 0)
        return fail(deadline, "sending the query", error);
    }
    PGresult* last = nullptr;
    std::string failure;
    for (;;) {
      while (PQisBusy(conn) != 0) {
        if (wait_fd(PQsocket(conn), POLLIN, deadline) <= 0 || PQconsumeInput(conn) == 0) {
          if (last != nullptr)
            PQclear(last);
          return fail(deadline, "waiting for the answer", error);
        }
      }
      PGresult* r = PQgetResult(conn);
      if (r == nullptr)
        break;
      auto status = PQresultStatus(r);
      if (status != PGRES_TUPLES_OK && status != PGRES_COMMAND_OK && failure.empty())
        failure = trimmed(PQresultErrorMessage(r));
      if (last != nullptr)
        PQclear(last);
      last = r;
    }
    if (!failure.empty() || last == nullptr) {
      if (last != nullptr)
        PQclear(last);
      error = failure.empty() ? std::string{"no result"} : failure;
      if (PQstatus(conn) != CONNECTION_OK)
        broken = true;
      return std::nullopt;
    }
    result out;
    int columns = PQnfields(last);
    for (int c = 0; c < columns; ++c)
      out.columns.emplace_back(PQfname(last, c));
    for (int row = 0; row < PQntuples(last); ++row) {
      auto& values = out.rows.emplace_back();
      for (int c = 0; c < columns; ++c)
        values.push_back(PQgetisnull(last, row, c) != 0
                             ? std::nullopt
                             : std::optional<std::string>{PQgetvalue(last, row, c)});
    }
    PQclear(last);
    return out;
  }

  std::optional<result> fail(clock::time_point deadline, const char* doing, std::string& error) {
    broken = true;
    if (ms_left(deadline) <= 0)
      error = fmt::format("timed out {}", doing);
    else
      error = trimmed(PQerrorMessage(conn));
    if (error.empty())
      error = fmt::format("connection lost {}", doing);
    return std::nullopt;
  }
};

session::session(std::unique_ptr<impl> p) : impl_(std::move(p)) {}
session::~session() = default;

std::unique_ptr<session> session::connect(const std::string& host, std::uint16_t port,
                                          const std::string& options, clock::time_point deadline,
                                          std::string& error) {
  auto s = connect(conninfo(host, port, options), deadline, error);
  if (!s && error.starts_with("timed out after ") && error.ends_with(" connecting"))
    error += fmt::format(" to {}:{}", host, port);
  return s;
}

std::unique_ptr<session> session::connect(const std::string& conninfo, clock::time_point deadline,
                                          std::string& error) {
  auto started = clock::now();
  auto p = std::make_unique<impl>();
  p->conn = PQconnectStart(conninfo.c_str());
  if (p->conn == nullptr) {
    error = "out of memory";
    return nullptr;
  }
  if (PQstatus(p->conn) == CONNECTION_BAD) {
    error = trimmed(PQerrorMessage(p->conn));
    return nullptr;
  }
  for (PostgresPollingStatusType s = PGRES_POLLING_WRITING;;) {
    if (s == PGRES_POLLING_OK)
      break;
    if (s == PGRES_POLLING_FAILED) {
      error = trimmed(PQerrorMessage(p->conn));
      return nullptr;
    }
    short events = s == PGRES_POLLING_READING ? POLLIN : POLLOUT;
    int ready = wait_fd(PQsocket(p->conn), events, deadline);
    if (ready == 0) {
      error = fmt::format(
          "timed out after {} ms connecting",
          std::chrono::duration_cast<std::chrono::milliseconds>(clock::now() - started).count());
      return nullptr;
    }
    if (ready < 0) {
      error = fmt::format("connecting to {}:{}: {}", PQhost(p->conn), PQport(p->conn),
                          std::strerror(errno));
      return nullptr;
    }
    s = PQconnectPoll(p->conn);
  }
  PQsetNoticeProcessor(p->conn, ignore_notice, nullptr);
  if (PQsetnonblocking(p->conn, 1) != 0) {
    error = trimmed(PQerrorMessage(p->conn));
    return nullptr;
  }
  return std::unique_ptr<session>(new session(std::move(p)));
}

std::optional<result> session::query(const std::string& sql, clock::time_point deadline,
                                     std::string& error) {
  return query(sql, {}, deadline, error);
}

std::optional<result> session::query(const std::string& sql, const std::vector<std::string>& params,
                                     clock::time_point deadline, std::string& error) {
  if (!usable()) {
    error = "the connection is broken";
    return std::nullopt;
  }
  int sent = 0;
  if (params.empty()) {
    sent = PQsendQuery(impl_->conn, sql.c_str());
  } else {
    std::vector<const char*> values;
    values.reserve(params.size());
    for (const auto& v : params)
      values.push_back(v.c_str());
    sent = PQsendQueryParams(impl_->conn, sql.c_str(), static_cast<int>(values.size()), nullptr,
                             values.data(), nullptr, nullptr, 0);
  }
  if (sent == 0) {
    impl_->broken = PQstatus(impl_->conn) != CONNECTION_OK;
    error = trimmed(PQerrorMessage(impl_->conn));
    return std::nullopt;
  }
  return impl_->collect(deadline, error);
}

bool session::usable() const {
  return !impl_->broken && PQstatus(impl_->conn) == CONNECTION_OK;
}

int session::socket() const {
  return PQsocket(impl_->conn);
}

int session::server_version() const {
  return PQserverVersion(impl_->conn);
}

} // namespace switchyard::pg
