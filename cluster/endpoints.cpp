#include "cluster/endpoints.hpp"

#include <arpa/inet.h>
#include <netdb.h>
#include <sys/socket.h>

#include <charconv>
#include <set>

#include "messages/error.hpp"

namespace switchyard::cluster {

namespace {

caf::error invalid(std::string message) {
  return make_sy_error(sy_errc::invalid_config, std::move(message));
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t'))
    s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '/'))
    s.remove_suffix(1);
  return s;
}

struct host_port {
  std::string host; ///< without brackets for IPv6
  std::string port;
  bool ipv6 = false;
};

host_port split(const std::string& endpoint) {
  host_port hp;
  auto colon = endpoint.rfind(':');
  if (!endpoint.empty() && endpoint.front() == '[') {
    auto close = endpoint.find(']');
    hp.host = endpoint.substr(1, close - 1);
    hp.ipv6 = true;
  } else {
    hp.host = endpoint.substr(0, colon);
  }
  hp.port = endpoint.substr(colon + 1);
  return hp;
}

} // namespace

caf::expected<std::vector<std::string>> parse_endpoints(std::string_view text) {
  std::vector<std::string> out;
  while (true) {
    auto comma = text.find(',');
    auto item = trim(text.substr(0, comma));
    if (item.starts_with("https://"))
      return invalid("etcd endpoint \"" + std::string(item) +
                     "\": TLS is not supported yet (use http:// on a trusted network)");
    if (item.starts_with("http://"))
      item.remove_prefix(7);
    if (item.empty())
      return invalid("etcd endpoints \"" + std::string(text) + "\": an empty entry");
    auto colon = item.rfind(':');
    bool bracketed = item.front() == '[';
    auto close = item.find(']');
    if (colon == std::string_view::npos || colon == 0 ||
        (bracketed && (close == std::string_view::npos || close + 1 != colon)))
      return invalid("etcd endpoint \"" + std::string(item) +
                     "\": expected host:port (e.g. 10.0.0.1:2379, [::1]:2379)");
    auto port_text = item.substr(colon + 1);
    unsigned port = 0;
    auto [end, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
    if (ec != std::errc{} || end != port_text.data() + port_text.size() || port == 0 ||
        port > 65535)
      return invalid("etcd endpoint \"" + std::string(item) + "\": port \"" +
                     std::string(port_text) + "\" is not a number from 1 to 65535");
    out.emplace_back(item);
    if (comma == std::string_view::npos)
      break;
    text.remove_prefix(comma + 1);
  }
  return out;
}

std::string prefix_end(std::string_view prefix) {
  std::string end(prefix);
  while (!end.empty()) {
    auto last = static_cast<unsigned char>(end.back());
    if (last < 0xff) {
      end.back() = static_cast<char>(last + 1);
      return end;
    }
    end.pop_back(); // "a\xff" ends where "b" starts
  }
  return std::string(1, '\0'); // etcd: "\0" as range end means "to the end of the keyspace"
}

caf::expected<std::string> channel_target(const std::vector<std::string>& endpoints) {
  if (endpoints.empty())
    return invalid("etcd endpoints: none given");
  // gRPC's ipv4:/ipv6: targets list addresses, so host names are resolved here.
  std::vector<std::string> v4;
  std::vector<std::string> v6;
  std::set<std::string> seen;
  for (const auto& endpoint : endpoints) {
    auto hp = split(endpoint);
    in_addr a4{};
    in6_addr a6{};
    if (!hp.ipv6 && ::inet_pton(AF_INET, hp.host.c_str(), &a4) == 1) {
      v4.push_back(hp.host + ":" + hp.port);
    } else if (hp.ipv6 && ::inet_pton(AF_INET6, hp.host.c_str(), &a6) == 1) {
      v6.push_back("[" + hp.host + "]:" + hp.port);
    } else {
      addrinfo hints{};
      hints.ai_family = AF_INET;
      hints.ai_socktype = SOCK_STREAM;
      addrinfo* found = nullptr;
      int rc = ::getaddrinfo(hp.host.c_str(), hp.port.c_str(), &hints, &found);
      if (rc != 0)
        return make_sy_error(sy_errc::invalid_config, "etcd endpoint \"" + endpoint +
                                                          "\": cannot resolve \"" + hp.host +
                                                          "\": " + ::gai_strerror(rc));
      for (auto* ai = found; ai != nullptr; ai = ai->ai_next) {
        char text[INET_ADDRSTRLEN] = {};
        const auto* sin = reinterpret_cast<const sockaddr_in*>(ai->ai_addr);
        ::inet_ntop(AF_INET, &sin->sin_addr, text, sizeof(text));
        v4.push_back(std::string(text) + ":" + hp.port);
      }
      ::freeaddrinfo(found);
    }
  }
  if (!v4.empty() && !v6.empty())
    return invalid("etcd endpoints: a mix of IPv4 and IPv6 addresses is not supported");
  auto& list = v4.empty() ? v6 : v4;
  std::string target = v4.empty() ? "ipv6:" : "ipv4:";
  bool first = true;
  for (const auto& address : list) {
    if (!seen.insert(address).second)
      continue;
    target += (first ? "" : ",") + address;
    first = false;
  }
  return target;
}

} // namespace switchyard::cluster
