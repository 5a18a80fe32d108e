#include "blaze/server/event_log.hpp"

#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <cstdio>
#include <memory>

namespace blaze::server {

namespace {

constexpr const char* text_pattern = "ts=%Y-%m-%dT%H:%M:%S.%fZ level=%l %v";
constexpr const char* json_pattern = R"({"ts":"%Y-%m-%dT%H:%M:%S.%fZ","level":"%l",%v})";

struct event_logger {
  std::shared_ptr<spdlog::logger> logger;
  log_format format = log_format::text;
};

event_logger& instance() {
  static event_logger log = [] {
    event_logger l;
    l.logger = std::make_shared<spdlog::logger>("blaze-node",
                                                std::make_shared<spdlog::sinks::stderr_sink_mt>());
    l.logger->set_pattern(text_pattern, spdlog::pattern_time_type::utc);
    l.logger->set_level(spdlog::level::info);
    l.logger->flush_on(spdlog::level::trace);
    return l;
  }();
  return log;
}

spdlog::level::level_enum to_spdlog(log_level level) {
  switch (level) {
  case log_level::trace:
    return spdlog::level::trace;
  case log_level::debug:
    return spdlog::level::debug;
  case log_level::info:
    return spdlog::level::info;
  case log_level::warn:
    return spdlog::level::warn;
  case log_level::error:
    return spdlog::level::err;
  case log_level::critical:
    return spdlog::level::critical;
  }
  return spdlog::level::info;
}

void append_escaped(std::string& out, std::string_view s) {
  for (unsigned char c : s) {
    switch (c) {
    case '"':
      out += "\\\"";
      break;
    case '\\':
      out += "\\\\";
      break;
    case '\n':
      out += "\\n";
      break;
    case '\r':
      out += "\\r";
      break;
    case '\t':
      out += "\\t";
      break;
    default:
      if (c < 0x20 || c == 0x7f) {
        char buf[8];
        std::snprintf(buf, sizeof buf, "\\u%04x", c);
        out += buf;
      } else {
        out += static_cast<char>(c);
      }
    }
  }
}

bool needs_quotes(std::string_view s) {
  if (s.empty())
    return true;
  for (unsigned char c : s)
    if (c <= 0x20 || c == '"' || c == '=' || c == '\\' || c == 0x7f)
      return true;
  return false;
}

void append_text(std::string& out, std::string_view key, std::string_view value) {
  out += key;
  out += '=';
  if (needs_quotes(value)) {
    out += '"';
    append_escaped(out, value);
    out += '"';
  } else {
    out += value;
  }
}

void append_json(std::string& out, std::string_view key, std::string_view value, bool number) {
  out += '"';
  append_escaped(out, key);
  out += "\":";
  if (number) {
    out += value;
  } else {
    out += '"';
    append_escaped(out, value);
    out += '"';
  }
}

} // namespace

std::string format_event(log_format format, std::string_view event,
                         std::initializer_list<log_field> fields) {
  std::string out;
  if (format == log_format::json) {
    append_json(out, "event", event, false);
    for (auto& f : fields) {
      out += ',';
      append_json(out, f.key, f.value, f.number);
    }
  } else {
    append_text(out, "event", event);
    for (auto& f : fields) {
      out += ' ';
      append_text(out, f.key, f.value);
    }
  }
  return out;
}

void configure_event_log(log_format format, const std::string& level) {
  auto& log = instance();
  log.format = format;
  log.logger->set_pattern(format == log_format::json ? json_pattern : text_pattern,
                          spdlog::pattern_time_type::utc);
  log.logger->set_level(spdlog::level::from_str(level));
}

void log_event(log_level level, std::string_view event, std::initializer_list<log_field> fields) {
  auto& log = instance();
  auto lvl = to_spdlog(level);
  if (!log.logger->should_log(lvl))
    return;
  log.logger->log(lvl, "{}", format_event(log.format, event, fields));
}

} // namespace blaze::server
