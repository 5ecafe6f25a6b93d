// One net probe's steps: connecting (each resolved address in turn), sending
// the kind's request, reading until the kind has its verdict, the timeout and
// its one grace period, the fresh retry, and the connection held between
// checks and its watch.
#include "probes/net_probe.hpp"

#include <algorithm>
#include <poll.h>

#include <fmt/format.h>

namespace switchyard::actors::probe_detail {

net_probe::net_probe(lane& home, std::shared_ptr<std::atomic<std::size_t>> held_count, params p)
    : lane_(home), held_count_(std::move(held_count)), p_(std::move(p)), kind_(*p_.kind),
      resolver_(home.ioc), tick_(home.ioc) {
  asio::error_code ec;
  if (auto addr = asio::ip::make_address(p_.host, ec); !ec)
    numeric_ = tcp::endpoint{addr, p_.port};
}

net_probe::~net_probe() {
  drop_held();
}

asio::mutable_buffer net_probe::read_buffer(attempt& a) {
  if (!a.buf)
    a.buf = std::make_unique<std::array<char, 4096>>();
  return asio::buffer(*a.buf);
}

void net_probe::shutdown() {
  lost_ = nullptr;
  each_ = nullptr;
  tick_.cancel();
  abandon_current();
  drop_held();
}

void net_probe::run_periodically(const async_probe::periodic_settings& s,
                                 async_probe::completion each) {
  schedule_.emplace(s.interval, s.jitter, s.seed, true);
  each_ = std::move(each);
  beat(); // the first check at once
}

// A periodic check, unless one is still in flight (an extra check, or a
// slow one: it ends within its timeout), and the next beat.
void net_probe::beat() {
  tick_.expires_after(schedule_->next(steady::now()));
  tick_.async_wait([self = shared_from_this()](const asio::error_code& ec) {
    if (!ec && self->each_)
      self->beat();
  });
  if (cur_)
    return;
  auto a = new_attempt();
  a->periodic = true;
  run(a);
}

void net_probe::abandon_current() {
  if (!cur_)
    return;
  cur_->finished = true; // it never completes
  cur_->timer.cancel();
  close_quietly(cur_->sock);
  close_plain(*cur_, false);
  cur_.reset();
}

std::shared_ptr<attempt> net_probe::new_attempt() {
  abandon_current();
  auto a = std::make_shared<attempt>(lane_.ioc);
  cur_ = a;
  a->start = steady::now();
  return a;
}

void net_probe::run(const std::shared_ptr<attempt>& a) {
  arm_timer(a, p_.timeout);
  if (held_) {
    bool unread = false;
    auto use = peer_gone(held_->sock.native_handle(), unread) ? check_kind::held_use::reconnect
                                                              : kind_.use_held(unread);
    if (use == check_kind::held_use::answer) {
      finish(a, true, "connection held");
      return;
    }
    if (use == check_kind::held_use::resend) {
      // Reused: the watch's pending read must not take the replies.
      auto h = held_;
      forget_held(); // no longer held: this check owns it
      asio::error_code ignored;
      h->sock.cancel(ignored);
      a->sock = std::move(h->sock);
      send_request(a);
      return;
    }
    drop_held(); // gone, or out of step: start over on a new connection
  }
  connect(a);
}

void net_probe::arm_timer(const std::shared_ptr<attempt>& a, std::chrono::milliseconds after) {
  a->timer.expires_after(after);
  a->timer.async_wait([self = shared_from_this(), a](const asio::error_code& ec) {
    if (ec || a->finished)
      return;
    // The answer (or the connect's result) is in the socket and only this
    // thread has not got to it yet: when it is busy with thousands of
    // checks, that is our delay, not the instance's. Once, a little longer.
    if (!a->late && self->answer_waiting(*a)) {
      a->late = true;
      self->arm_timer(a, std::max(std::chrono::milliseconds(100), self->p_.timeout / 2));
      return;
    }
    self->finish(a, false, self->timeout_detail(*a));
  });
}

// Whether the check's pending operation can complete at once.
bool net_probe::answer_waiting(attempt& a) {
  int fd = a.raw >= 0 ? a.raw : a.sock.is_open() ? a.sock.native_handle() : -1;
  if (fd < 0)
    return false;
  pollfd pfd{fd, POLLIN | POLLOUT, 0};
  if (::poll(&pfd, 1, 0) <= 0)
    return false;
  auto done = POLLERR | POLLHUP;
  switch (a.at) {
  case check_phase::connecting:
  case check_phase::sending:
    return (pfd.revents & (POLLOUT | done)) != 0;
  default:
    return (pfd.revents & (POLLIN | done)) != 0;
  }
}

std::string net_probe::timeout_detail(const attempt& a) const {
  if (a.at == check_phase::connecting)
    return "connect timed out";
  return kind_.timed_out(a.at, a.in, p_.timeout);
}

void net_probe::connect(const std::shared_ptr<attempt>& a) {
  a->at = check_phase::connecting;
  if (numeric_) {
    a->endpoints.assign(1, *numeric_);
    a->next_endpoint = 0;
    connect_next(a, {});
    return;
  }
  resolver_.async_resolve(
      p_.host, std::to_string(p_.port),
      [self = shared_from_this(), a](const asio::error_code& ec,
                                     const tcp::resolver::results_type& found) {
        if (a->finished)
          return;
        if (ec) {
          self->finish(a, false,
                       fmt::format("cannot resolve '{}': {}", self->p_.host, ec.message()));
          return;
        }
        a->endpoints.clear();
        for (const auto& e : found)
          a->endpoints.push_back(e.endpoint());
        a->next_endpoint = 0;
        self->connect_next(a, asio::error::host_not_found);
      });
}

// Tries the next resolved address; `last` is why the previous one failed.
void net_probe::connect_next(const std::shared_ptr<attempt>& a, asio::error_code last) {
  if (a->next_endpoint >= a->endpoints.size()) {
    finish(a, false, last ? last.message() : std::string{"no address"},
           last == asio::error::connection_refused);
    return;
  }
  auto ep = a->endpoints[a->next_endpoint++];
  close_quietly(a->sock);
  close_plain(*a, false);
  if (plain() && connect_plain(a, ep))
    return;
  if (auto ec = open_socket(a->sock, ep)) {
    finish(a, false, fmt::format("socket: {}", ec.message()));
    return;
  }
  if (plain()) // the lane could not watch its own socket
    prefer_half_open(a->sock);
  // Not asio's async_connect: it makes the socket non-blocking again (an
  // ioctl; ours is opened so) and polls it before it reads SO_ERROR. Waiting
  // for it to be writable and reading SO_ERROR is the same with two system
  // calls fewer a check (of about eleven).
  if (!connect_started(a, a->sock.native_handle(), ep))
    return;
  a->sock.async_wait(tcp::socket::wait_write,
                     [self = shared_from_this(), a](const asio::error_code& ec) {
                       if (a->finished)
                         return;
                       if (ec) {
                         self->connect_done(a, ec);
                         return;
                       }
                       self->connect_ready(a, pending_error(a->sock.native_handle()));
                     });
}

bool net_probe::connect_started(const std::shared_ptr<attempt>& a, int fd,
                                const tcp::endpoint& ep) {
  if (::connect(fd, ep.data(), static_cast<socklen_t>(ep.size())) == 0) {
    connect_done(a, {});
    return false;
  }
  if (errno != EINPROGRESS && errno != EINTR) { // refused at once, on loopback
    connect_done(a, {errno, asio::system_category()});
    return false;
  }
  return true;
}

bool net_probe::connect_plain(const std::shared_ptr<attempt>& a, const tcp::endpoint& ep) {
  int fd = ::socket(ep.protocol().family(), SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0)
    return false; // asio's socket says why
  a->raw = fd;
  prefer_half_open(fd);
  if (!connect_started(a, fd, ep) || lane_.connects.wait(fd, shared_from_this(), a))
    return true;
  close_plain(*a, false);
  return false;
}

void net_probe::connect_ready(const std::shared_ptr<attempt>& a, int error) {
  if (a->finished)
    return;
  connect_done(a,
               error == 0 ? asio::error_code{} : asio::error_code{error, asio::system_category()});
}

void net_probe::close_plain(attempt& a, bool reset) {
  if (a.raw < 0)
    return;
  lane_.connects.forget(a.raw);
  if (reset)
    reset_on_close(a.raw);
  ::close(a.raw);
  a.raw = -1;
}

void net_probe::connect_done(const std::shared_ptr<attempt>& a, asio::error_code ec) {
  if (ec == asio::error::connection_reset && retry_fresh(a))
    return; // queued by a dying listener: see retry_fresh
  if (ec) {
    connect_next(a, ec);
    return;
  }
  connected(a);
}

void net_probe::connected(const std::shared_ptr<attempt>& a) {
  if (kind_.request().empty()) { // being connected is the answer
    conclude(a, *kind_.judge(a->in, false));
    return;
  }
  send_request(a);
}

void net_probe::send_request(const std::shared_ptr<attempt>& a) {
  a->at = check_phase::sending;
  a->in.clear();
  asio::async_write(a->sock, asio::buffer(kind_.request()),
                    [self = shared_from_this(), a](const asio::error_code& ec, std::size_t) {
                      if (a->finished)
                        return;
                      if (ec) {
                        self->failed(a, fmt::format("send: {}", ec.message()), true);
                        return;
                      }
                      a->at = check_phase::receiving;
                      self->read_answer(a);
                    });
}

// Reads until the kind has its verdict on what arrived.
void net_probe::read_answer(const std::shared_ptr<attempt>& a) {
  if (auto verdict = kind_.judge(a->in, false)) {
    conclude(a, std::move(*verdict));
    return;
  }
  a->sock.async_read_some(read_buffer(*a), [self = shared_from_this(),
                                            a](const asio::error_code& ec, std::size_t n) {
    if (a->finished)
      return;
    if (ec == asio::error::eof) {
      self->conclude(a,
                     self->kind_.judge(a->in, true)
                         .value_or(check_verdict{false, "connection closed by the server", true}));
      return;
    }
    if (ec) {
      self->failed(a, fmt::format("recv: {}", ec.message()), true);
      return;
    }
    a->in.append(a->buf->data(), n);
    self->read_answer(a);
  });
}

void net_probe::conclude(const std::shared_ptr<attempt>& a, check_verdict v) {
  if (v.ok)
    finish(a, true, std::move(v.detail));
  else
    failed(a, std::move(v.detail), v.broken);
}

// A failed exchange; one that broke (`broken`) gets a fresh try if the kind
// wants it (redis, see check_kinds.hpp).
void net_probe::failed(const std::shared_ptr<attempt>& a, std::string detail, bool broken) {
  if (broken && kind_.retries_broken() && retry_fresh(a))
    return;
  finish(a, false, std::move(detail));
}

// One fresh connection, a moment later, if the timeout allows. A killed
// process's sockets do not all go at the same instant: a connection made
// as soon as the held one was reset was seen queued on the dying listener
// and then reset ("Connection reset by peer", not refused). A try 20 ms
// later is refused, which is what a dead instance answers.
bool net_probe::retry_fresh(const std::shared_ptr<attempt>& a) {
  if (a->retried || steady::now() + retry_pause >= a->start + p_.timeout)
    return false;
  a->retried = true;
  close_quietly(a->sock); // may be out of step: never reused
  close_plain(*a, false);
  auto pause = std::make_shared<asio::steady_timer>(lane_.ioc, retry_pause);
  pause->async_wait([self = shared_from_this(), a, pause](const asio::error_code& ec) {
    if (!ec && !a->finished)
      self->connect(a);
  });
  return true;
}

// -- completion and the held connection -------------------------------------

void net_probe::finish(const std::shared_ptr<attempt>& a, bool ok, std::string detail,
                       bool refused) {
  if (a->finished)
    return;
  a->finished = true;
  a->timer.cancel();
  probe_outcome out;
  out.ok = ok;
  out.detail = std::move(detail);
  out.refused = refused;
  out.latency = std::chrono::duration_cast<std::chrono::microseconds>(steady::now() - a->start);
  if (ok && p_.hold && a->sock.is_open())
    hold(std::move(a->sock));
  else if (ok && kind_.request().empty()) // never asked: see prefer_half_open
    close_with_reset(a->sock);
  else
    close_quietly(a->sock);
  close_plain(*a, ok); // never asked either
  if (cur_ == a)
    cur_.reset();
  if (a->periodic)
    lane_.deliver({shared_from_this(), nullptr, std::move(out)});
  else if (a->done)
    lane_.deliver({nullptr, std::move(a->done), std::move(out)});
}

void net_probe::hold(tcp::socket s) {
  drop_held();
  held_ = std::make_shared<held_conn>(std::move(s));
  ++*held_count_;
  watch();
}

// A pending read on the held connection: it completes when the peer closes
// or resets it (or sends something unasked).
void net_probe::watch() {
  auto h = held_;
  h->sock.async_read_some(asio::buffer(h->buf),
                          [self = shared_from_this(), h](const asio::error_code& ec, std::size_t) {
                            if (self->held_ != h)
                              return; // reused, replaced or closed since
                            if (!ec && self->kind_.use_held(true) == check_kind::held_use::answer) {
                              self->watch(); // a banner or the like: only the connection matters
                              return;
                            }
                            self->drop_held();
                            // Data nobody asked for puts a redis connection out of step: dropped
                            // quietly, the next check connects anew. A closed one is news.
                            if (ec && self->lost_)
                              self->lost_();
                          });
}

void net_probe::forget_held() {
  if (held_) {
    held_.reset();
    --*held_count_;
  }
}

void net_probe::drop_held() {
  if (!held_)
    return;
  auto h = std::move(held_);
  --*held_count_;
  close_quietly(h->sock);
}

} // namespace switchyard::actors::probe_detail
