// A real etcd cluster for tests: N members of /usr/bin/etcd on free loopback
// ports, each with its data directory in a temporary folder (on tmpfs when
// there is one: etcd fsyncs every write), with fast heartbeats and elections.
// Members can be killed, stopped, resumed and restarted; the destructor
// kills them all and removes the folder.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "tests/support/process.hpp"

namespace switchyard::testing {

class etcd_cluster {
public:
  explicit etcd_cluster(std::size_t members = 3);
  ~etcd_cluster();
  etcd_cluster(const etcd_cluster&) = delete;
  etcd_cluster& operator=(const etcd_cluster&) = delete;

  /// Starts every member; "" once all report healthy (a leader elected),
  /// else why not, with the tail of each member's log.
  [[nodiscard]] std::string start(std::chrono::milliseconds limit = std::chrono::seconds(20));

  /// "127.0.0.1:p0,127.0.0.1:p1,..." (client URLs, in member order).
  [[nodiscard]] std::string endpoints() const;
  [[nodiscard]] std::string endpoint(std::size_t member) const;
  [[nodiscard]] std::size_t size() const { return members_.size(); }

  /// kill -9, and waits until the process is gone.
  void kill(std::size_t member);
  /// SIGSTOP / SIGCONT: the process keeps its sockets but answers nothing.
  void pause(std::size_t member);
  void resume(std::size_t member);
  /// Starts a killed member again on its data directory and ports; "" once
  /// it is healthy, else why not.
  [[nodiscard]] std::string restart(std::size_t member,
                                    std::chrono::milliseconds limit = std::chrono::seconds(20));

  /// The member that is the raft leader now (its /metrics says
  /// etcd_server_is_leader 1), or size() when none does.
  [[nodiscard]] std::size_t leader() const;
  /// leader(), polled until there is one or `limit` passed.
  [[nodiscard]] std::size_t
  wait_for_leader(std::chrono::milliseconds limit = std::chrono::seconds(5)) const;
  /// The member's /health says true (it has a leader and answers reads).
  [[nodiscard]] bool healthy(std::size_t member) const;
  [[nodiscard]] bool running(std::size_t member) const;
  /// The last lines of the member's log, for failure messages.
  [[nodiscard]] std::string log_tail(std::size_t member, std::size_t lines = 15) const;

private:
  struct node {
    std::string name;
    std::uint16_t client_port = 0;
    std::uint16_t peer_port = 0;
    std::string data_dir;
    std::string log_file;
    std::unique_ptr<child_process> process;
  };
  void launch(node& m);
  [[nodiscard]] std::string wait_healthy(const std::vector<std::size_t>& which,
                                         std::chrono::milliseconds limit) const;

  std::string dir_;
  std::string initial_cluster_;
  std::vector<node> members_;
};

} // namespace switchyard::testing
