// A blocking stream connection with one deadline for everything (connect,
// send, receive), for actions that speak a protocol: TCP ("host:port") or a
// unix socket (a path starting with '/').
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>

namespace switchyard::strategies {

class stream_socket {
public:
  using clock = std::chrono::steady_clock;

  /// Connects to `address` before `deadline`; nullptr and `error` set on failure.
  static std::unique_ptr<stream_socket> connect(const std::string& address,
                                                clock::time_point deadline, std::string& error);
  ~stream_socket();
  stream_socket(const stream_socket&) = delete;
  stream_socket& operator=(const stream_socket&) = delete;

  bool send_all(const std::string& data, clock::time_point deadline, std::string& error);
  /// Appends what arrives to `buffer` until `complete(buffer)` holds or the
  /// peer closes (true if complete, or closed and `until_close`), or the deadline passes.
  bool receive(std::string& buffer, const std::function<bool(const std::string&)>& complete,
               bool until_close, clock::time_point deadline, std::string& error);

private:
  explicit stream_socket(int fd) : fd_(fd) {}
  int fd_;
};

} // namespace switchyard::strategies
