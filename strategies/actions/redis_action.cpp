#include "strategies/actions/redis_action.hpp"

#include <optional>
#include <vector>

#include <fmt/format.h>

#include "strategies/actions/stream_socket.hpp"

namespace switchyard::strategies {

namespace {

// A RESP reply: a status/error line, an integer, a bulk string or an array.
struct reply {
  char type = '+';
  std::string text; // status, error, bulk, or the integer as text
  std::vector<reply> items;
  bool is_error() const { return type == '-'; }
};

std::string encode(const std::vector<std::string>& args) {
  auto out = fmt::format("*{}\r\n", args.size());
  for (const auto& a : args)
    out += fmt::format("${}\r\n{}\r\n", a.size(), a);
  return out;
}

// Parses one reply starting at `pos`; nullopt if the buffer holds only part of it.
std::optional<reply> parse(const std::string& buf, std::size_t& pos) {
  auto eol = buf.find("\r\n", pos);
  if (eol == std::string::npos)
    return std::nullopt;
  reply r;
  r.type = buf[pos];
  auto line = buf.substr(pos + 1, eol - pos - 1);
  pos = eol + 2;
  switch (r.type) {
  case '+':
  case '-':
  case ':':
    r.text = line;
    return r;
  case '$': {
    auto len = std::stol(line);
    if (len < 0)
      return r; // null bulk
    auto n = static_cast<std::size_t>(len);
    if (buf.size() < pos + n + 2)
      return std::nullopt;
    r.text = buf.substr(pos, n);
    pos += n + 2;
    return r;
  }
  case '*': {
    auto count = std::stol(line);
    for (long i = 0; i < count; ++i) {
      auto item = parse(buf, pos);
      if (!item)
        return std::nullopt;
      r.items.push_back(std::move(*item));
    }
    return r;
  }
  default:
    r.type = '-';
    r.text = "unexpected reply: " + line;
    return r;
  }
}

class session {
public:
  session(const std::string& address, stream_socket::clock::time_point deadline)
      : deadline_(deadline), conn_(stream_socket::connect(address, deadline, error_)) {}

  /// The reply to `args`, or nullopt with error() set.
  std::optional<reply> call(const std::vector<std::string>& args) {
    if (!conn_ || !conn_->send_all(encode(args), deadline_, error_))
      return std::nullopt;
    std::optional<reply> out;
    auto complete = [&out](const std::string& buf) {
      std::size_t pos = 0;
      out = buf.empty() ? std::nullopt : parse(buf, pos);
      return out.has_value();
    };
    std::string buffer;
    if (!conn_->receive(buffer, complete, false, deadline_, error_))
      return std::nullopt;
    return out;
  }

  const std::string& error() const { return error_; }

private:
  stream_socket::clock::time_point deadline_;
  std::string error_;
  std::unique_ptr<stream_socket> conn_;
};

std::pair<std::string, std::string> split_address(const std::string& address) {
  auto colon = address.rfind(':');
  if (colon == std::string::npos)
    return {address, ""};
  return {address.substr(0, colon), address.substr(colon + 1)};
}

} // namespace

redis_action::redis_action(config::action_settings settings) : settings_(std::move(settings)) {}

std::string redis_action::describe() const {
  switch (settings_.operation) {
  case config::redis_operation::promote:
    return "redis: REPLICAOF NO ONE on the target, then ROLE must be master";
  case config::redis_operation::follow:
    return "redis: REPLICAOF <new primary> on the target, then ROLE must be its replica";
  case config::redis_operation::pause_writes:
    return fmt::format("redis: CLIENT PAUSE {} WRITE on the target", settings_.pause.count());
  }
  return "redis";
}

action_result redis_action::run(const action_context& ctx) {
  const auto started = stream_socket::clock::now();
  const auto deadline = started + settings_.timeout;
  auto finish = [&](bool ok, const std::string& detail) {
    auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(stream_socket::clock::now() -
                                                                    started);
    return finished_action(started, deadline, ok,
                           fmt::format("{} {} in {} ms", ctx.target_address, detail, ms.count()));
  };

  if (ctx.target_address.empty())
    return finish(false, "has no address (unknown target instance)");
  session s{ctx.target_address, deadline};
  auto call = [&](const std::vector<std::string>& args) -> std::optional<reply> {
    auto r = s.call(args);
    if (!r)
      return std::nullopt;
    return r;
  };
  if (auto password = settings_.env.find("REDIS_PASSWORD"); password != settings_.env.end()) {
    auto r = call({"AUTH", password->second});
    if (!r)
      return finish(false, "AUTH: " + s.error());
    if (r->is_error())
      return finish(false, "AUTH refused: " + r->text);
  }
  auto expect_ok = [&](const std::vector<std::string>& args, std::string& why) {
    auto r = call(args);
    if (!r)
      why = fmt::format("{}: {}", args.front(), s.error());
    else if (r->is_error())
      why = fmt::format("{} refused: {}", args.front(), r->text);
    return r && !r->is_error();
  };
  std::string why;
  switch (settings_.operation) {
  case config::redis_operation::pause_writes:
    if (!expect_ok({"CLIENT", "PAUSE", std::to_string(settings_.pause.count()), "WRITE"}, why))
      return finish(false, why);
    return finish(true, fmt::format("writes paused for {} ms", settings_.pause.count()));
  case config::redis_operation::promote:
    if (!expect_ok({"REPLICAOF", "NO", "ONE"}, why))
      return finish(false, why);
    break;
  case config::redis_operation::follow: {
    if (ctx.new_primary_address.empty() || ctx.new_primary_address == ctx.target_address)
      return finish(false, "cannot follow itself: the target is the new primary");
    auto [host, port] = split_address(ctx.new_primary_address);
    if (!expect_ok({"REPLICAOF", host, port}, why))
      return finish(false, why);
    break;
  }
  }
  // Read the role back: the step is done only when Redis says so.
  auto role = call({"ROLE"});
  if (!role)
    return finish(false, "ROLE: " + s.error());
  if (role->is_error() || role->items.empty())
    return finish(false, "ROLE: unexpected answer " + role->text);
  const auto& is = role->items.front().text;
  if (settings_.operation == config::redis_operation::promote) {
    if (is != "master")
      return finish(false, "is still " + is + " after REPLICAOF NO ONE");
    auto offset = role->items.size() > 1 ? role->items[1].text : std::string{"?"};
    return finish(true, fmt::format("is master (replication offset {})", offset));
  }
  auto [host, port] = split_address(ctx.new_primary_address);
  if (is != "slave" || role->items.size() < 3 || role->items[2].text != port)
    return finish(false, fmt::format("reads back as {} after REPLICAOF {} {}", is, host, port));
  return finish(true, fmt::format("replicates {} ({})", ctx.new_primary_address,
                                  role->items.size() > 3 ? role->items[3].text : "?"));
}

} // namespace switchyard::strategies
