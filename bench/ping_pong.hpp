// The floor under every transport figure: a blocking ping-pong of `bytes`
// over two connected sockets (a socket pair, or both ends of a loopback TCP
// connection), echoed by a thread, timed per round trip. Takes ownership of
// both sockets and closes them.
#pragma once

#include "stats.hpp"

#include "blaze/storage/status.hpp"

#include <cerrno>
#include <cstddef>
#include <stdexcept>
#include <string>
#include <thread>

#include <sys/socket.h>
#include <unistd.h>

namespace blaze::bench {

inline measurement ping_pong(int client, int server, std::size_t n, std::size_t bytes,
                             const std::string& what) {
  auto exact = [](int fd, char* buf, std::size_t len, bool reading) {
    while (len > 0) {
      auto r = reading ? ::read(fd, buf, len) : ::write(fd, buf, len);
      if (r < 0 && errno == EINTR)
        continue;
      if (r <= 0)
        return false;
      buf += r;
      len -= static_cast<std::size_t>(r);
    }
    return true;
  };
  std::thread echo{[&] {
    std::string buf(bytes, '\0');
    for (std::size_t i = 0; i < n; ++i)
      if (!exact(server, buf.data(), bytes, true) || !exact(server, buf.data(), bytes, false))
        return;
  }};
  latency_recorder lat;
  lat.reserve(n);
  std::string msg(bytes, 'p');
  bool ok = true;
  phase_timer timer;
  for (std::size_t i = 0; i < n && ok; ++i) {
    auto t0 = bench_clock::now();
    ok = exact(client, msg.data(), bytes, false) && exact(client, msg.data(), bytes, true);
    lat.add(t0, bench_clock::now());
  }
  measurement m;
  m.timing = timer.elapsed();
  ::shutdown(client, SHUT_RDWR); // ends the echo thread if the loop stopped early
  echo.join();
  ::close(client);
  ::close(server);
  if (!ok)
    throw std::runtime_error(what + " ping-pong failed");
  m.ops = n;
  m.latency = lat.summarize();
  return m;
}

// The value of a result, or an exception naming what failed.
template <class T>
T must(result<T> r, const char* what) {
  if (!r)
    throw std::runtime_error(std::string(what) + ": " + r.error().to_string());
  return std::move(r).value();
}

} // namespace blaze::bench
