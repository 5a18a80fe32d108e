// Structured logs of a blaze-node: one line per event on stderr, either
// key=value text or a JSON object, chosen by the config:
//   ts=2024-05-01T10:00:00.123456Z level=info event=listening host=127.0.0.1 port=7420
//   {"ts":"2024-05-01T10:00:00.123456Z","level":"info","event":"listening","host":"127.0.0.1","port":7420}
#pragma once

#include "blaze/server/config.hpp"

#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>

namespace blaze::server {

enum class log_level { trace, debug, info, warn, error, critical };

// One key=value of an event; numbers stay numbers in JSON.
struct log_field {
  log_field(std::string k, std::string v) : key(std::move(k)), value(std::move(v)) {}
  log_field(std::string k, const char* v) : key(std::move(k)), value(v) {}
  log_field(std::string k, std::string_view v) : key(std::move(k)), value(v) {}
  log_field(std::string k, std::uint64_t v)
      : key(std::move(k)), value(std::to_string(v)), number(true) {}
  log_field(std::string k, std::int64_t v)
      : key(std::move(k)), value(std::to_string(v)), number(true) {}
  log_field(std::string k, int v) : key(std::move(k)), value(std::to_string(v)), number(true) {}
  log_field(std::string k, unsigned v)
      : key(std::move(k)), value(std::to_string(v)), number(true) {}
  log_field(std::string k, bool v) : key(std::move(k)), value(v ? "true" : "false"), number(true) {}

  std::string key;
  std::string value;
  bool number = false;
};

// Sends events to stderr in `format`, dropping those below `level` (a
// level name as in the config: trace .. critical, or off). Until it is
// called, events go out as text at level info.
void configure_event_log(log_format format, const std::string& level);

void log_event(log_level level, std::string_view event,
               std::initializer_list<log_field> fields = {});

// The part of a line after the timestamp and level, as configure_event_log
// writes it: `event=x k=v` or `"event":"x","k":"v"`. Values with spaces,
// quotes or '=' are quoted in text; control characters are escaped in both.
std::string format_event(log_format format, std::string_view event,
                         std::initializer_list<log_field> fields);

} // namespace blaze::server
