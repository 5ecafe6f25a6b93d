// Redis as a backup source: an RDB fetched over the replication protocol
// (streamed to disk in bounded memory), BGSAVE with a robust wait, key counts.
#include "backups/redis_source.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <map>
#include <optional>
#include <thread>
#include <utility>

#include <fcntl.h>
#include <unistd.h>

#include <fmt/format.h>

#include "messages/error.hpp"
#include "strategies/actions/resp.hpp"
#include "strategies/actions/stream_socket.hpp"

namespace switchyard::backups {

namespace {

using strategies::stream_socket;
using clock = stream_socket::clock;
using namespace std::chrono_literals;
using command = std::vector<std::string>;

/// How much of the payload is held in memory at once (plus one recv).
constexpr std::size_t chunk_bytes = 256 * 1024;
/// The length of the mark that ends a diskless ($EOF:<mark>) transfer.
constexpr std::size_t eof_mark_bytes = 40;

caf::error failed(const std::string& address, const std::string& what) {
  return make_sy_error(sy_errc::backup_failed, fmt::format("backup: redis {}: {}", address, what));
}

std::chrono::milliseconds since(clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(clock::now() - t);
}

/// One connection for request/reply commands, everything before `deadline`.
class session {
public:
  session(const std::string& address, clock::time_point deadline)
      : deadline_(deadline), conn_(stream_socket::connect(address, deadline, error_)) {}

  /// The reply to `args`, or nullopt with error() set.
  std::optional<resp::reply> call(const std::vector<std::string>& args) {
    if (!conn_ || !conn_->send_all(resp::encode(args), deadline_, error_))
      return std::nullopt;
    std::optional<resp::reply> out;
    auto complete = [&out](const std::string& buf) {
      std::size_t pos = 0;
      try {
        out = buf.empty() ? std::nullopt : resp::parse(buf, pos);
      } catch (const std::exception&) { // a malformed length: not a reply we can read
        out = resp::reply{'-', "malformed reply", {}};
      }
      return out.has_value();
    };
    std::string buffer;
    if (!conn_->receive(buffer, complete, false, deadline_, error_))
      return std::nullopt;
    return out;
  }

  /// The reply to `args` that must not be an error; nullopt with error() naming the command.
  std::optional<resp::reply> expect(const std::vector<std::string>& args) {
    auto r = call(args);
    if (!r)
      error_ = fmt::format("{}: {}", args.front(), error_);
    else if (r->is_error())
      error_ = fmt::format("{} refused: {}", args.front(), r->text);
    return r && !r->is_error() ? r : std::nullopt;
  }

  std::optional<std::map<std::string, std::string>> info(const std::string& section) {
    auto r = expect({"INFO", section});
    return r ? std::optional{resp::info_fields(r->text)} : std::nullopt;
  }

  std::optional<std::int64_t> lastsave() {
    auto r = expect({"LASTSAVE"});
    if (!r)
      return std::nullopt;
    try {
      return std::stoll(r->text);
    } catch (const std::exception&) {
      error_ = "LASTSAVE answered " + r->text;
      return std::nullopt;
    }
  }

  stream_socket* socket() { return conn_.get(); }
  void close() { conn_.reset(); }
  const std::string& error() const { return error_; }

private:
  clock::time_point deadline_;
  std::string error_;
  std::unique_ptr<stream_socket> conn_;
};

std::string field(const std::map<std::string, std::string>& info, const std::string& key) {
  auto i = info.find(key);
  return i == info.end() ? std::string{} : i->second;
}

/// The file the payload goes to; removed unless released after the rename.
class partial_file {
public:
  explicit partial_file(std::string path) : path_(std::move(path)) {
    fd_ = ::open(path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  }
  ~partial_file() {
    if (fd_ >= 0)
      ::close(fd_);
    if (!kept_)
      ::unlink(path_.c_str());
  }
  partial_file(const partial_file&) = delete;
  partial_file& operator=(const partial_file&) = delete;

  bool ok() const { return fd_ >= 0; }
  const std::string& path() const { return path_; }

  /// Appends `n` bytes; false with `error` (strerror) on failure.
  bool write(const char* data, std::size_t n, std::string& error) {
    while (n > 0) {
      auto w = ::write(fd_, data, n);
      if (w < 0 && errno == EINTR)
        continue;
      if (w < 0) {
        error = std::strerror(errno);
        return false;
      }
      auto done = static_cast<std::size_t>(w);
      head_.append(data, std::min(done, magic_bytes - std::min(head_.size(), magic_bytes)));
      data += w;
      n -= done;
      written_ += static_cast<std::uint64_t>(w);
    }
    return true;
  }

  /// fsync, close and rename to `target` (its folder fsynced too, so that
  /// the name survives a crash); false with `error` on failure.
  bool commit(const std::string& target, std::string& error) {
    if (::fsync(fd_) != 0 || ::close(std::exchange(fd_, -1)) != 0 ||
        ::rename(path_.c_str(), target.c_str()) != 0) {
      error = std::strerror(errno);
      return false;
    }
    kept_ = true;
    auto slash = target.rfind('/');
    auto folder = slash == std::string::npos ? "." : slash == 0 ? "/" : target.substr(0, slash);
    if (int dir = ::open(folder.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC); dir >= 0) {
      ::fsync(dir);
      ::close(dir);
    }
    return true;
  }

  std::uint64_t written() const { return written_; }
  /// The first bytes written, for the magic.
  const std::string& head() const { return head_; }

private:
  static constexpr std::size_t magic_bytes = 5;
  std::string head_;
  std::string path_;
  int fd_ = -1;
  bool kept_ = false;
  std::uint64_t written_ = 0;
};

/// Reads the SYNC payload that follows `buf` (which may already hold its
/// start) into `out`, one chunk at a time. Empty on success, else why not.
std::string stream_payload(stream_socket& conn, std::string& buf, const std::string& header,
                           partial_file& out, clock::time_point deadline) {
  std::string why;
  auto write = [&](std::size_t n) {
    if (!out.write(buf.data(), n, why)) {
      why = fmt::format("cannot write {}: {}", out.path(), why);
      return false;
    }
    buf.erase(0, n);
    return true;
  };
  if (header.rfind("$EOF:", 0) == 0) {
    // Diskless: the bytes end with the mark. Its last 39 bytes stay in the
    // buffer, since the mark may straddle two reads.
    auto mark = header.substr(5);
    if (mark.size() != eof_mark_bytes)
      return "SYNC answered an unexpected header: " + header;
    constexpr std::size_t keep = eof_mark_bytes - 1;
    std::size_t scanned = 0;
    while (true) {
      if (auto at = buf.find(mark); at != std::string::npos)
        return write(at) ? "" : why;
      if (buf.size() > keep && !write(buf.size() - keep))
        return why;
      scanned = 0;
      auto complete = [&](const std::string& b) {
        // Only the new bytes (and a mark's width before them) are searched.
        auto from = scanned > keep ? scanned - keep : 0;
        scanned = b.size();
        return b.size() >= chunk_bytes + keep || b.find(mark, from) != std::string::npos;
      };
      if (!conn.receive(buf, complete, false, deadline, why))
        return fmt::format("after {} bytes of the RDB: {}", out.written(), why);
    }
  }
  std::uint64_t total = 0;
  try {
    total = std::stoull(header.substr(1));
  } catch (const std::exception&) {
    return "SYNC answered an unexpected header: " + header;
  }
  while (true) {
    auto remaining = total - out.written();
    if (!write(static_cast<std::size_t>(std::min<std::uint64_t>(buf.size(), remaining))))
      return why;
    remaining = total - out.written();
    if (remaining == 0)
      return "";
    auto want = static_cast<std::size_t>(std::min<std::uint64_t>(remaining, chunk_bytes));
    auto complete = [want](const std::string& b) { return b.size() >= want; };
    if (!conn.receive(buf, complete, false, deadline, why))
      return fmt::format("after {} of {} bytes of the RDB: {}", out.written(), total, why);
  }
}

} // namespace

caf::expected<rdb_dump> fetch_rdb(const std::string& address, const std::string& target,
                                  std::chrono::milliseconds timeout) {
  const auto started = clock::now();
  const auto deadline = started + timeout;
  session s{address, deadline};
  if (s.socket() == nullptr)
    return failed(address, s.error());
  // "capa eof": a server with repl-diskless-sync streams the RDB straight to
  // us instead of writing it to its disk first (it does so only for replicas
  // that can read the $EOF:<mark> form). Without rdb-only the server would
  // follow the RDB with its replication feed; older servers refuse it, and
  // closing after the payload suffices. A refusal of either is no failure.
  for (const auto& option :
       {command{"REPLCONF", "capa", "eof"}, command{"REPLCONF", "rdb-only", "1"}})
    if (!s.call(option))
      return failed(address, fmt::format("REPLCONF {}: {}", option[1], s.error()));
  std::string why;
  if (!s.socket()->send_all(resp::encode({"SYNC"}), deadline, why))
    return failed(address, "SYNC: " + why);

  // The header, after any "\n" the server sends to keep us waiting while it saves.
  std::string buf;
  auto header_end = [](const std::string& b) {
    auto start = b.find_first_not_of('\n');
    return start != std::string::npos && b.find("\r\n", start) != std::string::npos;
  };
  if (!s.socket()->receive(buf, header_end, false, deadline, why))
    return failed(address, "no RDB after SYNC: " + why);
  auto start = buf.find_first_not_of('\n');
  auto eol = buf.find("\r\n", start);
  auto header = buf.substr(start, eol - start);
  buf.erase(0, eol + 2);
  if (header.empty() || header.front() != '$')
    return failed(address, "SYNC refused: " + header);

  partial_file out{target + ".partial"};
  if (!out.ok())
    return failed(address, fmt::format("cannot write {}: {}", out.path(), std::strerror(errno)));
  if (auto err = stream_payload(*s.socket(), buf, header, out, deadline); !err.empty())
    return failed(address, err);
  s.close(); // now, before the server streams anything else

  if (out.head() != "REDIS")
    return failed(address, fmt::format("the {} bytes received are not an RDB (no REDIS magic)",
                                       out.written()));

  session after{address, deadline};
  auto lastsave = after.lastsave();
  if (!lastsave)
    return failed(address, after.error());
  rdb_dump dump;
  dump.bytes = out.written();
  if (!out.commit(target, why))
    return failed(address, fmt::format("cannot write {}: {}", target, why));
  dump.lastsave = *lastsave;
  dump.took = since(started);
  return dump;
}

caf::expected<std::string> bgsave_and_wait(const std::string& address,
                                           std::chrono::milliseconds timeout) {
  const auto deadline = clock::now() + timeout;
  session s{address, deadline};
  if (s.socket() == nullptr)
    return failed(address, s.error());
  auto before = s.lastsave();
  auto info_before = before ? s.info("persistence") : std::nullopt;
  if (!info_before)
    return failed(address, s.error());
  auto saves_before = field(*info_before, "rdb_saves");
  auto poll_pause = [&] {
    if (clock::now() + 25ms >= deadline)
      return false;
    std::this_thread::sleep_for(25ms); // the server's pace: no event to wait on
    return true;
  };

  // A save (or another fork) already running refuses BGSAVE: wait for it to
  // end, then ask again, so that the save we wait for starts after now.
  while (true) {
    auto r = s.call({"BGSAVE"});
    if (!r)
      return failed(address, "BGSAVE: " + s.error());
    if (!r->is_error())
      break;
    if (r->text.find("in progress") == std::string::npos &&
        r->text.find("Another child process") == std::string::npos)
      return failed(address, "BGSAVE refused: " + r->text);
    while (true) {
      auto info = s.info("persistence");
      if (!info)
        return failed(address, s.error());
      if (field(*info, "rdb_bgsave_in_progress") == "0" &&
          field(*info, "aof_rewrite_in_progress") != "1")
        break;
      if (!poll_pause())
        return failed(address, fmt::format("the save already running did not end within {} ms",
                                           timeout.count()));
    }
  }

  // Done when: rdb_bgsave_in_progress:0, rdb_last_bgsave_status:ok, and a
  // counter advanced. The server forks before it answers "Background saving
  // started", so from that answer on it reports in_progress:1 until our child
  // is reaped; the first in_progress:0 is the end of our save (no other save
  // can have started before it, and a later one would show in_progress:1).
  // LASTSAVE has a 1 s resolution and does not move for a second save within
  // the same second, so the counter is rdb_saves (successful saves, Redis 7+)
  // where the server has it; without it, LASTSAVE must not have gone back,
  // and the fork order above carries the proof.
  while (true) {
    auto info = s.info("persistence");
    auto lastsave = info ? s.lastsave() : std::nullopt;
    if (!lastsave)
      return failed(address, s.error());
    if (field(*info, "rdb_bgsave_in_progress") == "0") {
      if (field(*info, "rdb_last_bgsave_status") != "ok")
        return failed(address, "BGSAVE failed on the server (rdb_last_bgsave_status:" +
                                   field(*info, "rdb_last_bgsave_status") + "): see its log");
      auto saves = field(*info, "rdb_saves");
      if (saves_before.empty() ? *lastsave >= *before : saves != saves_before)
        break;
    }
    if (!poll_pause())
      return failed(address, fmt::format("BGSAVE did not complete within {} ms", timeout.count()));
  }

  auto dir = s.expect({"CONFIG", "GET", "dir"});
  auto file = dir ? s.expect({"CONFIG", "GET", "dbfilename"}) : std::nullopt;
  if (!file)
    return failed(address, s.error());
  if (dir->items.size() != 2 || file->items.size() != 2)
    return failed(address, "CONFIG GET dir/dbfilename: unexpected answer");
  return dir->items[1].text + "/" + file->items[1].text;
}

caf::expected<std::uint64_t> key_count(const std::string& address,
                                       std::chrono::milliseconds timeout) {
  session s{address, clock::now() + timeout};
  auto info = s.info("keyspace");
  if (!info)
    return failed(address, s.error());
  // Lines like "db0:keys=2000,expires=0,avg_ttl=0".
  std::uint64_t keys = 0;
  for (const auto& [name, value] : *info) {
    if (name.rfind("db", 0) != 0 || value.rfind("keys=", 0) != 0)
      continue;
    try {
      keys += std::stoull(value.substr(5, value.find(',') - 5));
    } catch (const std::exception&) {
      return failed(address, fmt::format("INFO keyspace: cannot read {}:{}", name, value));
    }
  }
  return keys;
}

} // namespace switchyard::backups
